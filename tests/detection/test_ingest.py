"""Ingest: line-by-line validation, the inbox, duplicates and dead letters, on a real database."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.detection import ingest, schema
from hrdshield.detection.enums import IngestChannel
from hrdshield.detection.models import DeadLetter, InboxEvent
from tests.conftest import TestDatabase
from tests.detection.streams import StreamBuilder


def _lines(stream: StreamBuilder) -> list[bytes]:
    return [json.dumps(schema.to_dict(event)).encode() for event in stream.events]


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_valid_lines_are_accepted_and_each_bad_line_gets_its_own_reason(session: Session) -> None:
    stream = StreamBuilder()
    stream.reply("someone", "demo_hrd_amara")
    stream.report("someone", "demo_hrd_amara")
    good = _lines(stream)
    bad_type = json.dumps({**schema.to_dict(stream.events[0]), "id": "x1", "type": "poke"})
    lines = [good[0], b"{not json", b"", bad_type.encode(), good[1], b"\xff\xfe"]
    report = ingest.accept_lines(session=session, lines=lines, channel=IngestChannel.API)
    assert report.accepted == 2
    assert report.duplicates == 0
    assert [(error.line, error.event_id) for error in report.rejected] == [
        (2, None),
        (4, "x1"),
        (6, None),
    ]
    assert "not valid JSON" in report.rejected[0].reason
    assert "unknown event type" in report.rejected[1].reason
    assert _count(session, InboxEvent) == 2
    letters = session.scalars(select(DeadLetter).order_by(DeadLetter.line)).all()
    assert [letter.line for letter in letters] == [2, 4, 6]
    assert all(letter.stage == "validation" for letter in letters)


def test_a_repeated_batch_is_counted_as_duplicates_and_stored_once(session: Session) -> None:
    stream = StreamBuilder()
    for number in range(5):
        stream.reply(f"acct{number}", "demo_hrd_amara")
    lines = _lines(stream)
    first = ingest.accept_lines(session=session, lines=lines, channel=IngestChannel.API)
    second = ingest.accept_lines(
        session=session, lines=[*lines, lines[0]], channel=IngestChannel.API
    )
    assert (first.accepted, first.duplicates) == (5, 0)
    assert (second.accepted, second.duplicates) == (0, 6)
    assert _count(session, InboxEvent) == 5


def test_a_platform_may_only_send_its_own_events(session: Session) -> None:
    stream = StreamBuilder(platform="other")
    stream.reply("someone", "demo_hrd_amara")
    report = ingest.accept_lines(
        session=session, lines=_lines(stream), channel=IngestChannel.API, platform="demo"
    )
    assert report.accepted == 0
    assert "platform must be 'demo'" in report.rejected[0].reason


def test_payloads_are_encrypted_and_pending_events_decode(
    session: Session, database: TestDatabase
) -> None:
    stream = StreamBuilder()
    stream.reply("someone", "demo_hrd_amara", text="canary-text-7f3a")
    ingest.accept_lines(session=session, lines=_lines(stream), channel=IngestChannel.API)
    session.flush()
    raw = session.connection().exec_driver_sql("SELECT payload FROM detection_inbox").scalar()
    assert "canary-text-7f3a" not in raw
    pending = ingest.pending(session=session, limit=10)
    assert [event.content.text for _, event, _ in pending] == ["canary-text-7f3a"]  # type: ignore[union-attr]
    ingest.mark_processed(session=session, seqs=[seq for seq, _, _ in pending])
    assert ingest.pending(session=session, limit=10) == []
    assert ingest.backlog(session=session) == 0


def test_processed_events_are_pruned_after_the_window(session: Session) -> None:
    stream = StreamBuilder()
    stream.reply("someone", "demo_hrd_amara")
    with clock.frozen(stream.at):
        ingest.accept_lines(session=session, lines=_lines(stream), channel=IngestChannel.API)
        seqs = [seq for seq, _, _ in ingest.pending(session=session, limit=10)]
        ingest.mark_processed(session=session, seqs=seqs)
    with clock.frozen(stream.at + timedelta(hours=47)):
        assert ingest.prune(session=session, older_than_hours=48) == 0
    with clock.frozen(stream.at + timedelta(hours=49)):
        assert ingest.prune(session=session, older_than_hours=48) == 1
