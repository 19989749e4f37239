"""Taking events in: validate each line, keep the good in the inbox and the bad as dead letters.

A batch is never all-or-nothing: each invalid line is refused with its own reason (and kept, as
a dead letter, for whoever runs the platform's integration), and the valid ones are accepted.
Acceptance is the inbox row, written in the caller's transaction: once the caller commits and
answers, the event is durable and will be processed exactly once (its id is unique per platform,
so a retried batch is counted as duplicates). Nothing here logs an event's content.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from hrdshield import clock
from hrdshield.bus.base import InboxBus
from hrdshield.detection import schema
from hrdshield.detection.enums import IngestChannel
from hrdshield.detection.models import REASON_LENGTH, DeadLetter, InboxEvent
from hrdshield.detection.schema import Event, InvalidEventError

if TYPE_CHECKING:
    from hrdshield.bus.base import EventBus

MAX_BATCH_LINES = 10_000
MAX_DEAD_LETTER_BYTES = 16 * 1024
_INSERT_CHUNK = 500  # rows per INSERT statement (SQLite allows 32,766 bound parameters)
INBOX = InboxBus()  # the bus when none is configured


@dataclass(frozen=True)
class LineError:
    """Why one line of a batch was refused (1-based line number)."""

    line: int
    reason: str
    event_id: str | None = None


@dataclass
class IngestReport:
    """What became of a batch."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[LineError] = field(default_factory=list)

    def add(self, other: IngestReport) -> None:
        """Add another report's counts to this one (for a file read in batches)."""
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)


def accept_lines(
    *,
    session: Session,
    lines: Sequence[bytes],
    channel: IngestChannel,
    platform: str | None = None,
    first_line: int = 1,
    bus: EventBus | None = None,
) -> IngestReport:
    """Validate NDJSON lines; hand valid events to the bus and keep invalid ones as dead letters.

    With `platform` (the authenticated platform's name), events naming another platform are
    refused, so one platform cannot write into another's id space. Blank lines are skipped.
    The bus is the inbox unless one is given; a bus that cannot take the events raises
    `BusUnavailableError`, and the caller's transaction, dead letters included, rolls back.
    """
    events: list[Event] = []
    report = IngestReport()
    for number, line in enumerate(lines, start=first_line):
        if not line.strip():
            continue
        try:
            event = _checked(line, platform)
        except InvalidEventError as error:
            report.rejected.append(LineError(number, str(error), _id_of(line)))
            _dead_letter(
                session,
                channel=channel,
                platform=platform,
                line=line,
                number=number,
                reason=str(error),
            )
            continue
        events.append(event)
    stored = (bus or INBOX).accept(session=session, events=events, channel=channel)
    report.accepted, report.duplicates = stored.accepted, stored.duplicates
    return report


def _checked(line: bytes, platform: str | None) -> Event:
    event = schema.decode(line)
    if platform is not None and event.platform != platform:
        raise InvalidEventError(f"platform must be {platform!r} for this credential")
    return event


def accept_events(
    *, session: Session, events: Sequence[Event], channel: IngestChannel
) -> IngestReport:
    """Store already-validated events in the inbox; events seen before count as duplicates."""
    unique = distinct(events)
    seen = _already_in_inbox(session, list(unique))
    fresh = [event for key, event in unique.items() if key not in seen]
    now = clock.now()
    rows = [
        {
            "platform": event.platform,
            "event_id": event.id,
            "event_type": event.event_type,
            "occurred_at": event.occurred_at,
            "received_at": now,
            "channel": channel,
            "payload": schema.encode(event).decode(),
        }
        for event in fresh
    ]
    for start in range(0, len(rows), _INSERT_CHUNK):
        session.execute(_insert_ignoring_duplicates(session), rows[start : start + _INSERT_CHUNK])
    return IngestReport(accepted=len(fresh), duplicates=len(events) - len(fresh))


def distinct(events: Sequence[Event]) -> dict[tuple[str, str], Event]:
    """Return the events by (platform, id), keeping the first copy of an id a batch repeats."""
    unique: dict[tuple[str, str], Event] = {}
    for event in events:
        unique.setdefault((event.platform, event.id), event)
    return unique


def _already_in_inbox(session: Session, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    seen: set[tuple[str, str]] = set()
    for start in range(0, len(keys), _INSERT_CHUNK):
        chunk = keys[start : start + _INSERT_CHUNK]
        rows = session.execute(
            select(InboxEvent.platform, InboxEvent.event_id).where(
                tuple_(InboxEvent.platform, InboxEvent.event_id).in_(chunk)
            )
        )
        seen.update((platform, event_id) for platform, event_id in rows)
    return seen


def _insert_ignoring_duplicates(session: Session) -> Any:
    # A concurrent batch carrying the same ids may commit between our check and our insert; the
    # unique key then keeps the first copy and this statement skips the row instead of failing.
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    return insert(InboxEvent).on_conflict_do_nothing(index_elements=["platform", "event_id"])


def _id_of(line: bytes) -> str | None:
    """Return the event id of a refused line when it can be read (for the per-line error)."""
    try:
        value = msgspec.json.decode(line)
    except (msgspec.DecodeError, ValueError):
        return None
    event_id = value.get("id") if isinstance(value, dict) else None
    return event_id[:64] if isinstance(event_id, str) else None


def _dead_letter(
    session: Session,
    *,
    channel: IngestChannel,
    platform: str | None,
    line: bytes,
    number: int | None,
    reason: str,
    stage: str = "validation",
) -> None:
    session.add(
        DeadLetter(
            channel=channel,
            platform=platform,
            event_id=_id_of(line),
            line=number,
            stage=stage,
            reason=reason[:REASON_LENGTH],
            payload=line[:MAX_DEAD_LETTER_BYTES].decode("utf-8", "replace"),
        )
    )


def set_aside(*, session: Session, event: Event, channel: IngestChannel, reason: str) -> None:
    """Keep an event a detector failed on as a dead letter (stage `processing`)."""
    _dead_letter(
        session,
        channel=channel,
        platform=event.platform,
        line=schema.encode(event),
        number=None,
        reason=reason,
        stage="processing",
    )


def set_aside_unreadable(*, session: Session, channel: IngestChannel, reason: str) -> None:
    """Record a bus message that could not be opened (its sealed bytes are of no use to anyone)."""
    _dead_letter(
        session, channel=channel, platform=None, line=b"", number=None, reason=reason, stage="bus"
    )


def split_lines(body: bytes) -> list[bytes]:
    """Split an NDJSON body into lines (LF or CRLF)."""
    return [line.rstrip(b"\r") for line in body.split(b"\n")]


def pending(*, session: Session, limit: int) -> list[tuple[int, Event, IngestChannel]]:
    """Return the oldest unprocessed inbox events, decoded, with their sequence numbers."""
    query = (
        select(InboxEvent.seq, InboxEvent.payload, InboxEvent.channel)
        .where(InboxEvent.processed_at.is_(None))
        .order_by(InboxEvent.seq)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [
        (seq, schema.decode(payload), channel) for seq, payload, channel in session.execute(query)
    ]


def mark_processed(*, session: Session, seqs: Iterable[int]) -> None:
    """Mark inbox events as processed (kept for the duplicate window, then pruned)."""
    ids = list(seqs)
    now = clock.now()
    for start in range(0, len(ids), _INSERT_CHUNK):
        session.execute(
            update(InboxEvent)
            .where(InboxEvent.seq.in_(ids[start : start + _INSERT_CHUNK]))
            .values(processed_at=now)
        )


def prune(*, session: Session, older_than_hours: float) -> int:
    """Delete processed inbox events received more than `older_than_hours` ago."""
    cutoff = clock.now() - timedelta(hours=older_than_hours)
    result = session.execute(
        delete(InboxEvent).where(
            InboxEvent.processed_at.is_not(None), InboxEvent.received_at < cutoff
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def backlog(*, session: Session) -> int:
    """Return how many accepted events wait for detection."""
    return int(session.scalar(select(func.count()).where(InboxEvent.processed_at.is_(None))) or 0)


def dead_letter_count(*, session: Session) -> int:
    """Return how many events were refused or set aside."""
    return int(session.scalar(select(func.count()).select_from(DeadLetter)) or 0)


class InboxSink:
    """An event sink (the demo platform's) that hands events to detection: inbox or bus."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        channel: IngestChannel = IngestChannel.DEMO,
        bus: EventBus | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.channel = channel
        self.bus = bus

    def emit(self, events: list[dict[str, Any]]) -> None:
        """Validate and store `events` in one transaction (a duplicate id is skipped)."""
        decoded = [schema.convert(event) for event in events]
        with self.session_factory() as session, session.begin():
            (self.bus or INBOX).accept(session=session, events=decoded, channel=self.channel)
