"""The platform-neutral events the demo platform emits, and the sink they are emitted to.

Detection reads these events, never the demo tables, so that a real platform can stand in for the
demo one. The schema itself is `hrdshield.detection.schema`; this module builds events in that
shape as JSON values. It must stay free of database code and of any real person's data.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, cast

from hrdshield.detection import schema
from hrdshield.detection.enums import EventType
from hrdshield.detection.schema import SCHEMA, InvalidEventError, format_time, parse_time

__all__ = [
    "SCHEMA",
    "Event",
    "EventSink",
    "InvalidEventError",
    "ListSink",
    "account_ref",
    "content_section",
    "format_time",
    "make_event",
    "parse_time",
    "validate_event",
]

PLATFORM = "demo"

Event = dict[str, Any]
"""One event as a JSON-ready dict, in the shape ``hrdshield.event/1``."""


class EventSink(Protocol):
    """Where a platform's events go: the ingest pipeline, a test, a file."""

    def emit(self, events: list[Event]) -> None:
        """Take a batch of events, in order."""


class ListSink:
    """Keep emitted events in memory, in order; the working fake for tests."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, events: list[Event]) -> None:
        """Append copies of `events`, so later changes by the caller do not alter what was seen."""
        self.events.extend(copy.deepcopy(events))


def account_ref(account_id: str, handle: str) -> dict[str, str]:
    """Return the ``{"account_id", "handle"}`` form used for actors and targets."""
    return {"account_id": account_id, "handle": handle}


def content_section(
    text: str, lang: str, *, post_id: str | None = None, in_reply_to: str | None = None
) -> dict[str, Any]:
    """Return the ``content`` section of a post, reply, mention or direct message."""
    return {"text": text, "lang": lang, "post_id": post_id, "in_reply_to": in_reply_to}


def make_event(
    *,
    event_id: str,
    event_type: EventType,
    occurred_at: datetime,
    actor: dict[str, str] | None,
    targets: Sequence[dict[str, str]] = (),
    sections: dict[str, Any] | None = None,
) -> Event:
    """Build one event; `sections` adds content, login, report, profile, region or count."""
    event: Event = {
        "schema": SCHEMA,
        "id": event_id,
        "type": event_type.value,
        "occurred_at": format_time(occurred_at),
        "platform": PLATFORM,
        "actor": actor,
        "targets": list(targets),
    }
    event.update(sections or {})
    return event


def validate_event(event: object) -> Event:
    """Return `event` if it has the ``hrdshield.event/1`` shape, else raise InvalidEventError."""
    try:
        json.dumps(event)
    except (TypeError, ValueError) as error:
        raise InvalidEventError("an event must contain only JSON values") from error
    schema.convert(event)
    return cast("Event", event)  # convert checked that it is a dict
