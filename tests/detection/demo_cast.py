"""The demo platform's fictional defenders as detector tests need them: a world and an index.

The scripted attacks of `hrdshield.demo_platform.attacks` must be caught by the detectors; these
helpers build the demo world without a database, and the defenders as `demo_data` enrols them.
"""

from __future__ import annotations

from hrdshield.demo_data import DEMO_DEFENDERS as ENROLLED
from hrdshield.demo_platform.world import (
    DEMO_DEFENDERS,
    MODERATOR,
    AccountRef,
    DemoDefenderProfile,
    DemoWorld,
)
from hrdshield.detection.index import DefenderIndex, ProtectedDefender
from tests.detection.streams import index_of, protected


def _ref(number: int, profile: DemoDefenderProfile) -> AccountRef:
    return AccountRef(
        f"demo-{number}",
        profile.handle,
        profile.display_name,
        profile.country,
        profile.language,
        profile.network,
    )


def demo_world() -> DemoWorld:
    """Return the demo world's defenders (accounts demo-0, demo-1, demo-2), with no followers."""
    return DemoWorld(
        seed=7,
        defenders=[_ref(number, profile) for number, profile in enumerate(DEMO_DEFENDERS)],
        public=[],
        moderator=_ref(9, MODERATOR),
        followers={},
        handles={profile.handle for profile in DEMO_DEFENDERS},
    )


def demo_index() -> tuple[DefenderIndex, list[ProtectedDefender]]:
    """Return an index of the demo defenders as enrolled, and the defenders in world order."""
    entries = [
        protected(
            enrolled.handles[0],
            country=enrolled.country,
            risk=enrolled.risk_level,
            display_name=enrolled.display_name,
            identifiers_in=[(item.kind, item.value) for item in enrolled.identifiers],
        )
        for enrolled in ENROLLED
    ]
    return index_of(*entries), [defender for defender, _ in entries]
