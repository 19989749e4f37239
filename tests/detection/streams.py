"""Building blocks for detector tests: synthetic events, defenders, a pipeline with no database.

Every handle, name and text here is invented. `StreamBuilder` writes events the way a platform
would (``hrdshield.event/1`` JSON values) and decodes them through the real schema, so detector
tests exercise the same objects the pipeline sees in production.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hrdshield.defenders import identifiers
from hrdshield.defenders.enums import IdentifierKind, RiskLevel
from hrdshield.detection import schema
from hrdshield.detection.index import DefenderIndex, ProtectedDefender
from hrdshield.detection.pipeline import Detector, Pipeline
from hrdshield.detection.schema import Event
from hrdshield.detection.thresholds import ThresholdBook

START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_hasher(kind: str, canonical: str) -> str:
    """Stand in for the keyring's blind index: deterministic, keyed by a fixed test salt."""
    return hashlib.sha256(f"test-salt\x1f{kind}\x1f{canonical}".encode()).hexdigest()


test_hasher.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def protected(
    handle: str,
    *,
    defender_id: str | None = None,
    country: str = "KE",
    languages: tuple[str, ...] = ("en",),
    risk: RiskLevel = RiskLevel.MEDIUM,
    display_name: str = "",
    identifiers_in: Sequence[tuple[IdentifierKind, str]] = (),
) -> tuple[ProtectedDefender, list[tuple[str, IdentifierKind, str]]]:
    """Return a defender and the digests of its handle and other identifiers."""
    defender_id = defender_id or hashlib.sha256(handle.encode()).hexdigest()[:32]
    canonical_handle = identifiers.canonical(IdentifierKind.HANDLE, handle)
    defender = ProtectedDefender(
        defender_id=defender_id,
        pseudonym=f"HRD-{defender_id[:8].upper()}",
        country=country,
        languages=languages,
        risk_level=risk,
        handles=(canonical_handle,),
        display_name=display_name or canonical_handle.title(),
        proactive_notification=True,
    )
    digests = [(defender_id, IdentifierKind.HANDLE, test_hasher("handle", canonical_handle))]
    for kind, value in identifiers_in:
        canonical = identifiers.canonical(kind, value, region=country)
        digests.append((defender_id, kind, test_hasher(kind.value, canonical)))
    return defender, digests


def index_of(
    *entries: tuple[ProtectedDefender, list[tuple[str, IdentifierKind, str]]],
) -> DefenderIndex:
    """Return an index holding the defenders made by `protected`."""
    return DefenderIndex.build(
        test_hasher,
        [defender for defender, _ in entries],
        [digest for _, digests in entries for digest in digests],
    )


def pipeline(
    index: DefenderIndex, *detectors: Detector, thresholds: ThresholdBook | None = None
) -> Pipeline:
    """Return a pipeline over a fixed index."""
    return Pipeline(
        detectors=list(detectors), index=lambda: index, thresholds=thresholds or ThresholdBook()
    )


@dataclass
class StreamBuilder:
    """Write synthetic events in time order; ids are unique and repeatable."""

    platform: str = "demo"
    at: datetime = START
    events: list[Event] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def tick(self, **delta: float) -> datetime:
        """Move the stream's clock forward and return the new time."""
        self.at += timedelta(**delta)
        return self.at

    def account(self, name: str, *, created_days_ago: float | None = None) -> dict[str, Any]:
        """Return an actor/target reference for the account `name` (an invented handle)."""
        ref: dict[str, Any] = {"account_id": f"acct-{name}", "handle": f"@{name}"}
        if created_days_ago is not None:
            ref["created_at"] = schema.format_time(self.at - timedelta(days=created_days_ago))
        return ref

    def emit(self, event_type: str, actor: dict[str, Any] | None, **sections: Any) -> Event:
        """Add one event of `event_type` at the current time and return it decoded."""
        value: dict[str, Any] = {
            "schema": schema.SCHEMA,
            "id": f"ev-{next(self._ids)}",
            "type": event_type,
            "occurred_at": schema.format_time(self.at),
            "platform": self.platform,
            "actor": actor,
            "targets": sections.pop("targets", []),
            **sections,
        }
        event = schema.convert(value)
        self.events.append(event)
        return event

    def reply(
        self, actor: str, target: str, text: str = "hello", lang: str = "en", **kw: Any
    ) -> Event:
        """Add a reply by `actor` to a post of `target`."""
        return self.emit(
            "reply",
            self.account(actor, created_days_ago=kw.pop("created_days_ago", None)),
            targets=[self.account(target)],
            content={
                "text": text,
                "lang": lang,
                "post_id": f"p{len(self.events)}",
                "in_reply_to": "p0",
            },
        )

    def mention(self, actor: str, target: str, text: str = "hello", lang: str = "en") -> Event:
        """Add a post by `actor` naming `target`."""
        return self.emit(
            "mention",
            self.account(actor),
            targets=[self.account(target)],
            content={"text": text, "lang": lang, "post_id": f"p{len(self.events)}"},
        )

    def report(self, actor: str, target: str, reason: str = "harassment") -> Event:
        """Add `actor`'s report of `target`."""
        return self.emit(
            "report", self.account(actor), targets=[self.account(target)], report={"reason": reason}
        )

    def removal(self, target: str, post_id: str = "p-removed") -> Event:
        """Add the platform's takedown of a post by `target`."""
        return self.emit(
            "content_removed",
            self.account("platform-moderation"),
            targets=[self.account(target)],
            content={"post_id": post_id},
        )

    def login(
        self, account: str, country: str, network: str = "AS64500", success: bool = True
    ) -> Event:
        """Add a sign-in attempt on `account`."""
        return self.emit(
            "login",
            self.account(account),
            login={"country": country, "network": network, "success": success},
        )

    def traffic(self, region: str, count: int) -> Event:
        """Add a traffic count for `region`."""
        return self.emit("traffic_count", None, region=region, count=count)
