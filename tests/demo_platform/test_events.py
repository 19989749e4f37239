"""The event shape: what validation accepts and refuses, and the list sink fake."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from hrdshield.demo_platform.enums import EventType
from hrdshield.demo_platform.events import (
    Event,
    InvalidEventError,
    ListSink,
    account_ref,
    content_section,
    format_time,
    make_event,
    parse_time,
    validate_event,
)

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ACTOR = account_ref("a" * 32, "@river_collective_07")
TARGET = account_ref("b" * 32, "@demo_hrd_amara")


def _reply() -> Event:
    return make_event(
        event_id="e1",
        event_type=EventType.REPLY,
        occurred_at=AT,
        actor=ACTOR,
        targets=[TARGET],
        sections={"content": content_section("Agreed!", "en", post_id="p2", in_reply_to="p1")},
    )


def test_a_well_formed_event_passes() -> None:
    event = _reply()
    assert validate_event(event) is event
    assert event["occurred_at"] == "2026-11-23T12:00:00.000000Z"
    assert parse_time(event["occurred_at"]) == AT


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema": "hrdshield.event/0"}, "schema"),
        ({"id": ""}, "id"),
        ({"type": "poke"}, "unknown event type"),
        ({"occurred_at": "2026-11-23T12:00:00"}, "UTC"),
        ({"occurred_at": "2026-11-23T13:00:00+01:00"}, "UTC"),
        ({"actor": None}, "actor"),
        ({"actor": {"account_id": "x"}}, "actor.handle"),
        ({"targets": "everyone"}, "targets"),
        ({"targets": []}, "target"),
        ({"content": {"text": "hi", "lang": "en", "post_id": "p2"}}, "in_reply_to"),
        (
            {"content": {"text": "hi", "lang": "english", "post_id": "p2", "in_reply_to": "p1"}},
            "lang",
        ),
        ({"content": {"text": "", "lang": "en", "post_id": "p2", "in_reply_to": "p1"}}, "text"),
        ({"extra": datetime.now(UTC)}, "JSON"),
    ],
)
def test_malformed_events_are_refused_with_a_reason(change: dict[str, Any], message: str) -> None:
    event = {**_reply(), **change}
    with pytest.raises(InvalidEventError, match=message):
        validate_event(event)


def test_non_objects_are_refused() -> None:
    with pytest.raises(InvalidEventError):
        validate_event(["not", "an", "event"])


@pytest.mark.parametrize(
    ("event_type", "sections", "message"),
    [
        (
            EventType.LOGIN,
            {"login": {"country": "Kenya", "network": "AS1", "success": True}},
            "ISO",
        ),
        (
            EventType.LOGIN,
            {"login": {"country": "KE", "network": "AS1", "success": "yes"}},
            "success",
        ),
        (EventType.REPORT, {"report": {"reason": "boring", "post_id": None}}, "reason"),
        (
            EventType.ACCOUNT_CREATED,
            {"profile": {"display_name": "X", "country": "KE"}},
            "language",
        ),
        (EventType.PROFILE_CHANGED, {}, "profile"),
        (EventType.CONTENT_REMOVED, {"content": {}}, "post_id"),
    ],
)
def test_sections_are_checked_per_type(
    event_type: EventType, sections: dict[str, Any], message: str
) -> None:
    event = make_event(
        event_id="e1",
        event_type=event_type,
        occurred_at=AT,
        actor=ACTOR,
        targets=[TARGET],
        sections=sections,
    )
    with pytest.raises(InvalidEventError, match=message):
        validate_event(event)


@pytest.mark.parametrize(("count", "ok"), [(0, True), (12, True), (-1, False), (True, False)])
def test_traffic_counts_have_no_actor_and_a_whole_count(count: object, ok: bool) -> None:
    event = make_event(
        event_id="t1",
        event_type=EventType.TRAFFIC_COUNT,
        occurred_at=AT,
        actor=None,
        sections={"region": "KE", "count": count},
    )
    if ok:
        validate_event(event)
    else:
        with pytest.raises(InvalidEventError, match="count"):
            validate_event(event)
    with pytest.raises(InvalidEventError, match="no actor"):
        validate_event({**event, "count": 5, "actor": ACTOR})


def test_format_time_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive"):
        format_time(datetime(2026, 11, 23))  # noqa: DTZ001  (the naive value is the point)


def test_list_sink_keeps_copies_in_order() -> None:
    sink = ListSink()
    first, second = _reply(), {**_reply(), "id": "e2"}
    sink.emit([first])
    sink.emit([second])
    first["id"] = "changed later"
    assert [event["id"] for event in sink.events] == ["e1", "e2"]
    assert sink.events[1] == copy.deepcopy(second)
