"""Routing by event class: each detector gets exactly the events of its types and scope."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, ClassVar, get_args

from hrdshield.detection.enums import DetectorKind, EventType
from hrdshield.detection.pipeline import (
    AlertDraft,
    DetectorContext,
    Routed,
    Scope,
    classes_of,
    route,
)
from hrdshield.detection.schema import EVENT_CLASSES, Event
from tests.detection.streams import StreamBuilder, index_of, pipeline, protected

DEFENDER = protected("@demo_hrd_amara")


class Recorder:
    """A detector that keeps what it was given."""

    kind: ClassVar[DetectorKind] = DetectorKind.PILE_ON

    def __init__(self, scope: Scope, event_types: frozenset[EventType]) -> None:
        self.scope = scope  # type: ignore[misc]
        self.event_types = event_types  # type: ignore[misc]
        self.seen: list[Routed] = []

    def process(self, batch: Sequence[Routed], context: DetectorContext) -> list[AlertDraft]:
        """Record the batch."""
        self.seen.extend(batch)
        return []

    def snapshot(self) -> dict[str, Any]:
        """Return nothing: there is no state."""
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        """Take back nothing."""


def _one_of_each_on(stream: StreamBuilder, other: str, target: str) -> None:
    """Add one event of each type about `target`, a second apart (the order is the stream's)."""
    stream.tick(seconds=1)
    stream.reply(other, target)
    stream.tick(seconds=1)
    stream.mention(other, target)
    stream.tick(seconds=1)
    stream.emit(
        "direct_message",
        stream.account(other),
        targets=[stream.account(target)],
        content={"text": "hi", "lang": "en"},
    )
    stream.tick(seconds=1)
    stream.report(other, target)
    stream.tick(seconds=1)
    stream.removal(target)
    stream.tick(seconds=1)
    stream.login(target, "KE")
    stream.tick(seconds=1)
    stream.emit("profile_changed", stream.account(target), settings={"dm": "everyone"})


def _every_type(stream: StreamBuilder) -> list[Event]:
    hrd, other = "demo_hrd_amara", "someone_else"
    stream.emit(
        "post",
        stream.account(other),
        content={"text": "a post", "lang": "en", "post_id": "p1"},
    )
    for target in (hrd, other):
        _one_of_each_on(stream, other, target)
    stream.tick(seconds=1)
    stream.emit(
        "account_created",
        stream.account("brand_new"),
        profile={"display_name": "New", "country": "KE", "language": "en"},
    )
    stream.tick(seconds=1)
    stream.traffic("KE", 1000)
    return list(stream.events)


def test_every_event_class_maps_to_the_type_of_its_tag() -> None:
    events = _every_type(StreamBuilder())
    assert set(EVENT_CLASSES.values()) == set(get_args(Event))
    assert set(EVENT_CLASSES) == set(EventType)
    for event in events:
        assert EVENT_CLASSES[event.event_type] is type(event)
    assert classes_of(frozenset({EventType.LOGIN})) == frozenset(
        cls for cls in get_args(Event) if cls.__struct_config__.tag == "login"
    )


def test_each_detector_receives_the_events_of_its_types_and_scope_in_time_order() -> None:
    stream = StreamBuilder()
    events = _every_type(stream)
    recorders = {
        scope: Recorder(scope, frozenset(types))
        for scope, types in (
            (Scope.TARGETED, {EventType.REPLY, EventType.REPORT, EventType.CONTENT_REMOVED}),
            (Scope.OWN_ACCOUNT, {EventType.LOGIN, EventType.PROFILE_CHANGED}),
            (Scope.EVERYONE, {EventType.TRAFFIC_COUNT, EventType.ACCOUNT_CREATED}),
        )
    }
    run = pipeline(index_of(DEFENDER), *recorders.values())
    run.process(list(reversed(events)))
    defender = DEFENDER[0]
    targeted = recorders[Scope.TARGETED].seen
    assert [item.event.event_type for item in targeted] == [
        EventType.REPLY,
        EventType.REPORT,
        EventType.CONTENT_REMOVED,
    ]
    assert all(item.targets == (defender,) for item in targeted)
    own = recorders[Scope.OWN_ACCOUNT].seen
    assert [item.event.event_type for item in own] == [EventType.LOGIN, EventType.PROFILE_CHANGED]
    assert all(item.actor is defender for item in own)
    everyone = recorders[Scope.EVERYONE].seen
    assert [item.event.event_type for item in everyone] == [
        EventType.ACCOUNT_CREATED,
        EventType.TRAFFIC_COUNT,
    ]


def test_an_account_created_event_teaches_the_account_age() -> None:
    stream = StreamBuilder()
    created = stream.emit(
        "account_created",
        stream.account("brand_new"),
        profile={"display_name": "New", "country": "KE", "language": "en"},
    )
    stream.tick(days=2)
    later = stream.reply("brand_new", "demo_hrd_amara")
    run = pipeline(index_of(DEFENDER))
    run.process(stream.events)
    assert created.actor is not None
    assert later.actor is not None
    assert run.accounts.age_days(later.actor, later.occurred_at) == 2.0
    assert run.accounts.age_days(later.actor, later.occurred_at + timedelta(days=1)) == 3.0


def test_route_builds_the_all_events_list_only_for_the_classes_asked_for() -> None:
    events = _every_type(StreamBuilder())
    index = index_of(DEFENDER)
    whole = route(events, index)
    assert [item.event for item in whole[Scope.EVERYONE]] == events
    every = classes_of(EventType)
    wanted = {
        Scope.TARGETED: every,
        Scope.OWN_ACCOUNT: every,
        Scope.EVERYONE: classes_of(frozenset({EventType.TRAFFIC_COUNT})),
    }
    traffic_only = route(events, index, wanted)
    assert [item.event.event_type for item in traffic_only[Scope.EVERYONE]] == [
        EventType.TRAFFIC_COUNT
    ]
    for scope in (Scope.TARGETED, Scope.OWN_ACCOUNT):  # what involves a defender is unchanged
        assert [item.event for item in traffic_only[scope]] == [item.event for item in whole[scope]]
    assert len(whole[Scope.TARGETED]) == 5
    assert len(whole[Scope.OWN_ACCOUNT]) == 2


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
