"""The generator loop: batches in their own transactions, attacks in rotation, safe to stop."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from hrdshield.demo_platform import phrases, tasks
from hrdshield.demo_platform.enums import EventOutcome
from hrdshield.demo_platform.events import Event, ListSink
from hrdshield.demo_platform.models import DemoAccount, DemoEvent
from hrdshield.demo_platform.world import DEMO_DEFENDERS


def _events(factory: sessionmaker[Session]) -> list[DemoEvent]:
    with factory() as session:
        return list(session.scalars(select(DemoEvent).order_by(DemoEvent.seq)))


def _accounts(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(DemoAccount)) or 0


def test_batches_and_attacks_are_committed_and_emitted(
    demo_factory: sessionmaker[Session],
) -> None:
    sink = ListSink()
    written = tasks.run_generator(
        demo_factory,
        interval_seconds=0.001,
        stop_event=threading.Event(),
        attack_every=3,
        sink=sink,
        max_batches=6,
    )
    assert written == 6
    recorded = _events(demo_factory)
    applied = {e.event_id for e in recorded if e.outcome is EventOutcome.APPLIED}
    assert sink.events
    assert {event["id"] for event in sink.events} <= applied
    # Two attacks in rotation: a pile-on (abusive replies) then doxxing (mentions with a phone).
    abuse = {line for lines in phrases.ABUSE.values() for line in lines}
    replies = [e.payload for e in recorded if e.payload["type"] == "reply"]
    assert any(
        line.format(handle=target["handle"]) == reply["content"]["text"]
        for reply in replies
        for target in reply["targets"]
        for line in abuse
    )
    phones = {profile.phone for profile in DEMO_DEFENDERS}
    texts = [e.payload["content"]["text"] for e in recorded if e.payload["type"] == "mention"]
    assert any(phone in text for text in texts for phone in phones)


def test_a_stopped_generator_writes_nothing(demo_factory: sessionmaker[Session]) -> None:
    stop = threading.Event()
    stop.set()
    assert tasks.run_generator(demo_factory, interval_seconds=0.01, stop_event=stop) == 0
    assert _accounts(demo_factory) == 0


def test_a_restart_reuses_the_cast_and_writes_new_events(
    demo_factory: sessionmaker[Session],
) -> None:
    def run() -> None:
        tasks.run_generator(
            demo_factory, interval_seconds=0.001, stop_event=threading.Event(), max_batches=3
        )

    run()
    accounts, events = _accounts(demo_factory), len(_events(demo_factory))
    time.sleep(0.01)  # a later start, as after a real restart
    run()
    assert _accounts(demo_factory) == accounts
    assert len(_events(demo_factory)) > events


def test_the_thread_stops_promptly(demo_factory: sessionmaker[Session]) -> None:
    thread, stop = tasks.start_generator_thread(demo_factory, interval_seconds=0.01)
    deadline = time.monotonic() + 10
    while not _events(demo_factory) and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert _events(demo_factory)


class _FlakyFactory:
    """A session factory whose calls number `failing` raise, as a locked database would."""

    def __init__(self, factory: sessionmaker[Session], failing: set[int]) -> None:
        self.factory, self.failing, self.calls = factory, failing, 0

    def __call__(self, **kwargs: Any) -> Session:
        self.calls += 1
        if self.calls in self.failing:
            raise OperationalError("BEGIN", {}, Exception("database is locked"))
        return self.factory(**kwargs)


def test_a_failed_write_is_retried_and_nothing_is_lost(
    demo_factory: sessionmaker[Session],
) -> None:
    flaky = _FlakyFactory(demo_factory, failing={1, 3})  # the seeding, then the second batch
    sink = ListSink()
    written = tasks.run_generator(
        flaky,
        interval_seconds=0.001,
        stop_event=threading.Event(),
        sink=sink,
        max_batches=4,
    )
    assert written == 4
    assert flaky.calls == 7
    recorded = {e.event_id for e in _events(demo_factory)}
    assert {event["id"] for event in sink.events} <= recorded
    batches: list[Event] = sink.events
    assert sum(event["type"] == "traffic_count" for event in batches) == 4


class _BrokenSink:
    def emit(self, events: list[Event]) -> None:
        raise RuntimeError("downstream is down")


def test_a_broken_sink_does_not_stop_the_platform(demo_factory: sessionmaker[Session]) -> None:
    written = tasks.run_generator(
        demo_factory,
        interval_seconds=0.001,
        stop_event=threading.Event(),
        sink=_BrokenSink(),
        max_batches=2,
    )
    assert written == 2
    assert _events(demo_factory)
