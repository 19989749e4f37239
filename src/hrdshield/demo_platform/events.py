"""The platform-neutral events the demo platform emits, and the sink they are emitted to.

Detection reads these events, never the demo tables, so that a real platform can stand in for the
demo one later. A later issue formalises the versioned schema; until then this module is its one
definition. It must stay free of database code and of any real person's data.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from hrdshield.demo_platform.enums import EventType, ReportReason

SCHEMA = "hrdshield.event/1"
PLATFORM = "demo"
MAX_TEXT = 5000

Event = dict[str, Any]
"""One event as a JSON-ready dict, in the shape ``hrdshield.event/1``."""

_COUNTRY = re.compile(r"^[A-Z]{2}$")
_LANG = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,4})?$")


class InvalidEventError(ValueError):
    """An event does not have the ``hrdshield.event/1`` shape; the message says what is wrong."""


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


def format_time(at: datetime) -> str:
    """Return `at` (aware) as ISO-8601 UTC with a ``Z`` suffix and microseconds."""
    if at.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; use hrdshield.clock.now()")
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """Return the aware UTC datetime written in an event's ``occurred_at``."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError as error:
        raise InvalidEventError(f"occurred_at is not ISO-8601: {text!r}") from error
    if at.tzinfo is None or at.utcoffset() != timedelta(0):
        raise InvalidEventError("occurred_at must be in UTC (end it with Z or +00:00)")
    return at.astimezone(UTC)


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
    if not isinstance(event, dict):
        raise InvalidEventError("an event must be a JSON object")
    if event.get("schema") != SCHEMA:
        raise InvalidEventError(f"schema must be {SCHEMA!r}")
    _text(event, "id", limit=64)
    try:
        event_type = EventType(event.get("type"))
    except ValueError as error:
        raise InvalidEventError(f"unknown event type {event.get('type')!r}") from error
    parse_time(_text(event, "occurred_at", limit=40))
    _text(event, "platform", limit=32)
    if event_type is EventType.TRAFFIC_COUNT:
        if event.get("actor") is not None:
            raise InvalidEventError("traffic_count has no actor")
    else:
        _account(event.get("actor"), "actor")
    targets = event.get("targets")
    if not isinstance(targets, list):
        raise InvalidEventError("targets must be a list")
    for index, target in enumerate(targets):
        _account(target, f"targets[{index}]")
    _SECTION_CHECKS[event_type](event)
    try:
        json.dumps(event)
    except (TypeError, ValueError) as error:
        raise InvalidEventError("an event must contain only JSON values") from error
    return event


def _text(section: dict[str, Any], key: str, *, limit: int, where: str = "") -> str:
    value = section.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidEventError(f"{where}{key} must be a non-empty string of at most {limit}")
    return value


def _optional_text(section: dict[str, Any], key: str, *, where: str) -> None:
    if section.get(key) is not None:
        _text(section, key, limit=64, where=where)


def _section(event: Event, key: str) -> dict[str, Any]:
    value = event.get(key)
    if not isinstance(value, dict):
        raise InvalidEventError(f"{event['type']} needs a {key!r} object")
    return value


def _account(value: object, where: str) -> None:
    if not isinstance(value, dict):
        raise InvalidEventError(f"{where} must be an object with account_id and handle")
    _text(value, "account_id", limit=64, where=f"{where}.")
    _text(value, "handle", limit=64, where=f"{where}.")


def _targets(event: Event, *, exactly: int | None = None) -> None:
    count = len(event["targets"])
    if count == 0 or (exactly is not None and count != exactly):
        wanted = f"exactly {exactly}" if exactly is not None else "at least one"
        raise InvalidEventError(f"{event['type']} needs {wanted} target")


def _content(event: Event, *, post_id: bool, in_reply_to: bool = False) -> dict[str, Any]:
    content = _section(event, "content")
    _text(content, "text", limit=MAX_TEXT, where="content.")
    lang = content.get("lang")
    if not isinstance(lang, str) or not _LANG.match(lang):
        raise InvalidEventError("content.lang must be a BCP 47 language code such as 'es'")
    for key, required in (("post_id", post_id), ("in_reply_to", in_reply_to)):
        if required:
            _text(content, key, limit=64, where="content.")
        else:
            _optional_text(content, key, where="content.")
    return content


def _country(value: object, where: str) -> None:
    if not isinstance(value, str) or not _COUNTRY.match(value):
        raise InvalidEventError(f"{where} must be an ISO 3166 alpha-2 code such as 'KE'")


def _check_post(event: Event) -> None:
    _content(event, post_id=True)


def _check_reply(event: Event) -> None:
    _content(event, post_id=True, in_reply_to=True)
    _targets(event)


def _check_mention(event: Event) -> None:
    _content(event, post_id=True)
    _targets(event)


def _check_direct_message(event: Event) -> None:
    _content(event, post_id=False)
    _targets(event, exactly=1)


def _check_report(event: Event) -> None:
    report = _section(event, "report")
    if report.get("reason") not in {reason.value for reason in ReportReason}:
        raise InvalidEventError(f"report.reason must be one of {[r.value for r in ReportReason]}")
    _optional_text(report, "post_id", where="report.")
    _targets(event, exactly=1)


def _check_login(event: Event) -> None:
    login = _section(event, "login")
    _country(login.get("country"), "login.country")
    _text(login, "network", limit=16, where="login.")
    if not isinstance(login.get("success"), bool):
        raise InvalidEventError("login.success must be true or false")


def _check_profile(profile: dict[str, Any]) -> None:
    if "display_name" in profile:
        _text(profile, "display_name", limit=100, where="profile.")
    bio = profile.get("bio", "")
    if not isinstance(bio, str) or len(bio) > 300:
        raise InvalidEventError("profile.bio must be a string of at most 300")


def _check_account_created(event: Event) -> None:
    profile = _section(event, "profile")
    _text(profile, "display_name", limit=100, where="profile.")
    _check_profile(profile)
    _country(profile.get("country"), "profile.country")
    if not isinstance(profile.get("language"), str) or not _LANG.match(profile["language"]):
        raise InvalidEventError("profile.language must be a BCP 47 language code")


def _check_profile_changed(event: Event) -> None:
    profile = event.get("profile")
    if isinstance(profile, dict):
        _check_profile(profile)
    elif not isinstance(event.get("settings"), dict):
        raise InvalidEventError("profile_changed needs a 'profile' or a 'settings' object")


def _check_content_removed(event: Event) -> None:
    _text(_section(event, "content"), "post_id", limit=64, where="content.")
    _targets(event, exactly=1)


def _check_traffic_count(event: Event) -> None:
    _country(event.get("region"), "region")
    count = event.get("count")
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InvalidEventError("count must be a whole number, zero or more")


_SECTION_CHECKS: dict[EventType, Callable[[Event], None]] = {
    EventType.POST: _check_post,
    EventType.REPLY: _check_reply,
    EventType.MENTION: _check_mention,
    EventType.DIRECT_MESSAGE: _check_direct_message,
    EventType.REPORT: _check_report,
    EventType.LOGIN: _check_login,
    EventType.ACCOUNT_CREATED: _check_account_created,
    EventType.PROFILE_CHANGED: _check_profile_changed,
    EventType.CONTENT_REMOVED: _check_content_removed,
    EventType.TRAFFIC_COUNT: _check_traffic_count,
}
