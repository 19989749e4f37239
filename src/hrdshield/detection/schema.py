"""The versioned, platform-neutral event schema ``hrdshield.event/1``, and its fast decoder.

A platform writes one JSON object per event; every type shares ``schema``, ``id`` (the
platform's own, for idempotence), ``type``, ``occurred_at`` (UTC), ``platform``, ``actor`` and
``targets``, and adds the section of its type (``content``, ``report``, ``login``, ``profile``,
``settings``, or ``region`` with ``count``). Unknown fields are ignored, so a platform may send
more than this version reads; a change to a field's meaning is a new version. Decoding is typed
and strict (msgspec), about a microsecond an event, because this runs on every event a platform
sends. The messages of `InvalidEventError` say what is wrong and where, and never echo content.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal

import msgspec

from hrdshield.detection.enums import EventType, ReportReason

SCHEMA = "hrdshield.event/1"
MAX_TEXT = 5000
MAX_LINE_BYTES = 64 * 1024

_NonBlank = r"\S"
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=_NonBlank)]
Network = Annotated[str, msgspec.Meta(min_length=1, max_length=16, pattern=_NonBlank)]
PlatformName = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=_NonBlank)]
Country = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")]
Language = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,4})?$")]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT, pattern=_NonBlank)]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=_NonBlank)]
Bio = Annotated[str, msgspec.Meta(max_length=300)]
PerceptualHash = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{16}$")]
Count = Annotated[int, msgspec.Meta(ge=0, le=2**53)]


class InvalidEventError(ValueError):
    """An event does not have the ``hrdshield.event/1`` shape; the message says what is wrong."""


class Account(msgspec.Struct, frozen=True):
    """An account on the platform, as an actor or a target; `created_at` when the platform says."""

    account_id: Id
    handle: Id
    created_at: datetime | None = None


class Content(msgspec.Struct, frozen=True):
    """The text of a post, reply, mention or direct message."""

    text: Text
    lang: Language
    post_id: Id | None = None
    in_reply_to: Id | None = None


class RemovedContent(msgspec.Struct, frozen=True):
    """Which post the platform took down."""

    post_id: Id


class ReportSection(msgspec.Struct, frozen=True):
    """A user's report of an account or post to the platform."""

    reason: ReportReason
    post_id: Id | None = None


class LoginSection(msgspec.Struct, frozen=True):
    """A sign-in attempt: where from, and whether it succeeded."""

    country: Country
    network: Network
    success: bool


class Profile(msgspec.Struct, frozen=True):
    """An account's public profile; ``avatar_phash`` is the platform's 64-bit perceptual hash."""

    display_name: DisplayName | None = None
    bio: Bio = ""
    country: Country | None = None
    language: Language | None = None
    avatar_phash: PerceptualHash | None = None


class _Base(msgspec.Struct, frozen=True, tag_field="type", kw_only=True):
    schema: Literal["hrdshield.event/1"]
    id: Id
    occurred_at: datetime
    platform: PlatformName
    actor: Account | None = None
    targets: tuple[Account, ...] = ()

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None or self.occurred_at.utcoffset() != timedelta(0):
            raise ValueError("occurred_at must be in UTC (end it with Z or +00:00)")
        if self.actor is None:
            raise ValueError(f"{self.type} needs an actor")

    event_type: ClassVar[EventType]  # each event class names its type once, for cheap dispatch

    @property
    def type(self) -> str:
        """Return the event's type as written on the wire."""
        return self.event_type.value

    def _needs_targets(self, exactly: int | None = None) -> None:
        count = len(self.targets)
        if count == 0 or (exactly is not None and count != exactly):
            wanted = f"exactly {exactly}" if exactly is not None else "at least one"
            raise ValueError(f"{self.type} needs {wanted} target")


class Post(_Base, frozen=True, tag="post"):
    """A public post; ``targets`` are the accounts it is about, when the platform knows."""

    event_type: ClassVar[EventType] = EventType.POST
    content: Content

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.content.post_id is None:
            raise ValueError("content.post_id is required")


class Reply(_Base, frozen=True, tag="reply"):
    """A reply to a post; ``targets`` includes the author of the post replied to."""

    event_type: ClassVar[EventType] = EventType.REPLY
    content: Content

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.content.post_id is None or self.content.in_reply_to is None:
            raise ValueError("content.post_id and content.in_reply_to are required")
        self._needs_targets()


class Mention(_Base, frozen=True, tag="mention"):
    """A post naming accounts, which are the targets."""

    event_type: ClassVar[EventType] = EventType.MENTION
    content: Content

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.content.post_id is None:
            raise ValueError("content.post_id is required")
        self._needs_targets()


class DirectMessage(_Base, frozen=True, tag="direct_message"):
    """A private message; its text is present only when the platform shares it."""

    event_type: ClassVar[EventType] = EventType.DIRECT_MESSAGE
    content: Content

    def __post_init__(self) -> None:
        super().__post_init__()
        self._needs_targets(exactly=1)


class Report(_Base, frozen=True, tag="report"):
    """A user reporting an account or post; the target is the reported account."""

    event_type: ClassVar[EventType] = EventType.REPORT
    report: ReportSection

    def __post_init__(self) -> None:
        super().__post_init__()
        self._needs_targets(exactly=1)


class Login(_Base, frozen=True, tag="login"):
    """A sign-in attempt on the actor's account."""

    event_type: ClassVar[EventType] = EventType.LOGIN
    login: LoginSection


class AccountCreated(_Base, frozen=True, tag="account_created"):
    """A new account, with its first profile."""

    event_type: ClassVar[EventType] = EventType.ACCOUNT_CREATED
    profile: Profile

    def __post_init__(self) -> None:
        super().__post_init__()
        missing = [
            name for name in ("display_name", "country", "language") if not _has(self.profile, name)
        ]
        if missing:
            raise ValueError(f"profile.{missing[0]} is required")


class ProfileChanged(_Base, frozen=True, tag="profile_changed"):
    """An account changed its profile (name, bio, avatar) or its settings."""

    event_type: ClassVar[EventType] = EventType.PROFILE_CHANGED
    profile: Profile | None = None
    settings: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.profile is None and self.settings is None:
            raise ValueError("profile_changed needs a 'profile' or a 'settings' object")


class ContentRemoved(_Base, frozen=True, tag="content_removed"):
    """The platform took a post down; the target is its author."""

    event_type: ClassVar[EventType] = EventType.CONTENT_REMOVED
    content: RemovedContent

    def __post_init__(self) -> None:
        super().__post_init__()
        self._needs_targets(exactly=1)


class TrafficCount(_Base, frozen=True, tag="traffic_count"):
    """How many requests reached the platform from a region in the interval ending now."""

    event_type: ClassVar[EventType] = EventType.TRAFFIC_COUNT
    region: Country
    count: Count

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None or self.occurred_at.utcoffset() != timedelta(0):
            raise ValueError("occurred_at must be in UTC (end it with Z or +00:00)")
        if self.actor is not None:
            raise ValueError("traffic_count has no actor")


def _has(profile: Profile, name: str) -> bool:
    return getattr(profile, name) is not None


TextEvent = Post | Reply | Mention | DirectMessage
Event = (
    Post
    | Reply
    | Mention
    | DirectMessage
    | Report
    | Login
    | AccountCreated
    | ProfileChanged
    | ContentRemoved
    | TrafficCount
)
TEXT_EVENTS = (Post, Reply, Mention, DirectMessage)
EVENT_CLASSES: dict[EventType, type[_Base]] = {
    cls.event_type: cls
    for cls in (
        Post,
        Reply,
        Mention,
        DirectMessage,
        Report,
        Login,
        AccountCreated,
        ProfileChanged,
        ContentRemoved,
        TrafficCount,
    )
}
"""The struct class of each event type: set membership on classes is cheaper than on enums."""

_decoder = msgspec.json.Decoder(Event)
_encoder = msgspec.json.Encoder()


def decode(line: bytes | str) -> Event:
    """Return the event written on one JSON line, or raise InvalidEventError saying why."""
    if len(line) > MAX_LINE_BYTES:
        raise InvalidEventError(f"an event may be at most {MAX_LINE_BYTES} bytes")
    try:
        return _decoder.decode(line)
    except msgspec.ValidationError as error:
        raise InvalidEventError(_readable(str(error))) from None
    except msgspec.DecodeError as error:
        raise InvalidEventError(_malformed(str(error))) from None


def convert(value: object) -> Event:
    """Return the event held in an already-parsed JSON value (a dict)."""
    if not isinstance(value, dict):
        raise InvalidEventError("an event must be a JSON object")
    try:
        event: Event = msgspec.convert(value, Event)
    except msgspec.ValidationError as error:
        raise InvalidEventError(_readable(str(error))) from None
    return event


def encode(event: Event) -> bytes:
    """Return `event` as one compact JSON document (without a newline)."""
    return _encoder.encode(event)


def to_dict(event: Event) -> dict[str, Any]:
    """Return `event` as JSON values, in the shape platforms write."""
    value: dict[str, Any] = msgspec.json.decode(_encoder.encode(event))
    value["occurred_at"] = format_time(event.occurred_at)
    return value


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


_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_PATTERN_HINTS = {
    "lang": "must be a BCP 47 language code such as 'es'",
    "language": "must be a BCP 47 language code such as 'es'",
    "country": "must be an ISO 3166 alpha-2 code such as 'KE'",
    "region": "must be an ISO 3166 alpha-2 code such as 'KE'",
    "avatar_phash": "must be 16 lower-case hexadecimal digits",
}


def _readable(raw: str) -> str:
    """Turn msgspec's validation message into one that names the field in the event's terms."""
    found = _AT.match(raw)
    message = found["message"] if found else raw
    path = (found["path"] or "").lstrip(".") if found else ""
    for rewrite in _REWRITES:
        readable = rewrite(message, path)
        if readable is not None:
            return readable
    return f"{path}: {message}" if path else message


def _field(path: str) -> str:
    return path.rsplit(".", 1)[-1].split("[", 1)[0]


def _unknown_type(message: str, path: str) -> str | None:
    if path == "type" and message.startswith("Invalid value"):
        return "unknown event type " + message.removeprefix("Invalid value ")
    return None


def _wrong_schema(message: str, path: str) -> str | None:
    return f"schema must be {SCHEMA!r}" if path == "schema" else None


def _missing(message: str, path: str) -> str | None:
    missing = re.match(r"Object missing required field `(\w+)`", message)
    if not missing:
        return None
    where = f"{path}.{missing[1]}" if path else missing[1]
    return "unknown event type: 'type' is missing" if where == "type" else f"{where} is required"


def _pattern(message: str, path: str) -> str | None:
    if not message.startswith("Expected `str` matching regex"):
        return None
    return f"{path} {_PATTERN_HINTS.get(_field(path), 'must not be blank')}"


def _length(message: str, path: str) -> str | None:
    length = re.match(r"Expected `str` of length ([<>]=) (\d+)", message)
    if not length:
        return None
    if length[1] == ">=" and length[2] == "1":
        return f"{path} must not be empty"
    bound = "at most" if length[1] == "<=" else "at least"
    return f"{path} must be a string of {bound} {length[2]} characters"


def _enum(message: str, path: str) -> str | None:
    if not message.startswith("Invalid enum value"):
        return None
    return f"{path} must be one of {[reason.value for reason in ReportReason]}"


def _count(message: str, path: str) -> str | None:
    if message.startswith(("Expected `int` >=", "Expected `int` <=")) or (
        _field(path) == "count" and message.startswith("Expected `int`")
    ):
        return f"{path} must be a whole number, zero or more"
    return None


def _wrong_type(message: str, path: str) -> str | None:
    typed = re.match(r"Expected `(\w+)`(?: \| `null`)?, got `(\w+)`", message)
    if not typed:
        return None
    return f"{path or 'the event'} must be {_TYPE_WORDS.get(typed[1], typed[1])}"


_REWRITES = (_unknown_type, _wrong_schema, _missing, _pattern, _length, _enum, _count, _wrong_type)
_TYPE_WORDS = {
    "str": "a string",
    "int": "a whole number",
    "bool": "true or false",
    "object": "an object",
    "array": "a list",
    "datetime": "an ISO-8601 time such as 2026-12-01T12:00:00Z",
}


def _malformed(raw: str) -> str:
    if "invalid utf-8" in raw.lower():
        return "the line is not valid UTF-8"
    return "the line is not valid JSON (" + raw.removeprefix("JSON is malformed: ") + ")"
