"""Routing: which events reach which detector, and with which defenders attached."""

from __future__ import annotations

from hrdshield.detection.enums import EventType
from hrdshield.detection.pipeline import Scope, classes_of, route
from tests.detection.streams import StreamBuilder, index_of, protected

DEFENDER = protected("@demo_hrd_amara")


def test_an_all_events_detector_learns_a_defenders_own_account() -> None:
    stream = StreamBuilder()
    own = stream.emit(
        "account_created",
        stream.account("demo_hrd_amara"),
        profile={"display_name": "Amara", "country": "KE", "language": "en"},
    )
    wanted = {
        Scope.TARGETED: frozenset(),
        Scope.OWN_ACCOUNT: frozenset(),
        Scope.EVERYONE: classes_of([EventType.ACCOUNT_CREATED]),
    }
    routed = route([own], index_of(DEFENDER), wanted)
    (item,) = routed[Scope.EVERYONE]
    assert item.actor is not None  # the detector must know it is the defender's own account
    assert item.actor.defender_id == DEFENDER[0].defender_id
    assert routed[Scope.OWN_ACCOUNT] == []  # nobody asked for own-account events


def test_events_nobody_asked_for_are_not_routed() -> None:
    stream = StreamBuilder()
    stream.reply("someone", "demo_hrd_amara")
    stream.login("demo_hrd_amara", "KE")
    wanted = {
        Scope.TARGETED: classes_of([EventType.REPORT]),
        Scope.OWN_ACCOUNT: frozenset(),
        Scope.EVERYONE: frozenset(),
    }
    routed = route(stream.events, index_of(DEFENDER), wanted)
    assert all(not items for items in routed.values())
    everything = route(stream.events, index_of(DEFENDER))
    assert [item.event.type for item in everything[Scope.TARGETED]] == ["reply"]
    assert [item.event.type for item in everything[Scope.OWN_ACCOUNT]] == ["login"]
