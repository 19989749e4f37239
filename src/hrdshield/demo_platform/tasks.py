"""Background work of the demo platform: a generator that keeps synthetic traffic flowing.

Each batch is written in its own transaction, so stopping at any moment loses at most the batch in
flight, which nobody had acknowledged yet. A batch that fails to write is retried with backoff
(apply is idempotent). This loop writes only ``demo_`` tables and never touches real platforms.
"""

from __future__ import annotations

import itertools
import logging
import random
import threading

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from hrdshield import clock
from hrdshield.db import transaction
from hrdshield.demo_platform import service
from hrdshield.demo_platform.enums import AttackKind
from hrdshield.demo_platform.events import Event, EventSink, format_time
from hrdshield.demo_platform.generator import next_batch, scripted_attack, seed_platform
from hrdshield.demo_platform.world import DemoWorld

log = logging.getLogger(__name__)

DEFAULT_SEED = 20261123
ATTACK_EVERY = 15
MAX_BACKOFF_SECONDS = 60.0
MAX_ATTEMPTS = 5


def run_generator(
    session_factory: sessionmaker[Session],
    *,
    interval_seconds: float,
    stop_event: threading.Event,
    rng_seed: int = DEFAULT_SEED,
    attack_every: int = ATTACK_EVERY,
    sink: EventSink | None = None,
    max_batches: int | None = None,
) -> int:
    """Write demo traffic every interval, with a scripted attack every `attack_every` batches."""
    # Repeatable, not secret: the same seed builds the same cast, so a restart reuses it.
    cast_rng = random.Random(rng_seed)  # noqa: S311
    world = _seed(session_factory, cast_rng, stop_event, interval_seconds)
    if world is None:
        return 0
    # Batches draw from a stream keyed by seed and start time, so a restart never repeats event ids.
    rng = random.Random(f"{rng_seed}:{format_time(clock.now())}")  # noqa: S311
    attacks = itertools.cycle(AttackKind)
    written = failures = 0
    pending: list[Event] = []
    while not stop_event.is_set():
        if not pending:
            now = clock.now()
            pending = next_batch(world, rng, now)
            if (written + 1) % attack_every == 0:
                pending += scripted_attack(next(attacks), world, now)
        try:
            with transaction(session_factory) as session:
                result = service.apply(session=session, events=pending)
        except SQLAlchemyError:
            failures += 1
            log.exception("demo batch not written (attempt %d)", failures)
            if failures >= MAX_ATTEMPTS:  # synthetic traffic: give up on this batch, not the loop
                pending, failures = [], 0
            stop_event.wait(_backoff(interval_seconds, failures))
            continue
        applied = set(result.applied)
        _emit(sink, [event for event in pending if event["id"] in applied])
        written, failures, pending = written + 1, 0, []
        if max_batches is not None and written >= max_batches:
            break
        stop_event.wait(interval_seconds)
    return written


def start_generator_thread(
    session_factory: sessionmaker[Session],
    *,
    interval_seconds: float,
    sink: EventSink | None = None,
) -> tuple[threading.Thread, threading.Event]:
    """Start `run_generator` in a daemon thread; set the returned event to stop it."""
    stop_event = threading.Event()
    thread = threading.Thread(
        target=run_generator,
        args=(session_factory,),
        kwargs={"interval_seconds": interval_seconds, "stop_event": stop_event, "sink": sink},
        name="hrdshield-demo-generator",
        daemon=True,
    )
    thread.start()
    return thread, stop_event


def _seed(
    session_factory: sessionmaker[Session],
    rng: random.Random,
    stop_event: threading.Event,
    interval_seconds: float,
) -> DemoWorld | None:
    state = rng.getstate()
    failures = 0
    while not stop_event.is_set():
        rng.setstate(state)  # a retry must build the same cast as the first attempt
        try:
            with transaction(session_factory) as session:
                return seed_platform(session=session, rng=rng)
        except SQLAlchemyError:
            failures += 1
            log.exception("demo platform not seeded, retrying (attempt %d)", failures)
            stop_event.wait(_backoff(interval_seconds, failures))
    return None


def _backoff(interval_seconds: float, failures: int) -> float:
    return float(min(interval_seconds * 2 ** min(failures, 16), MAX_BACKOFF_SECONDS))


def _emit(sink: EventSink | None, events: list[Event]) -> None:
    if sink is None or not events:
        return
    try:
        sink.emit(events)
    # A failing sink must not stop the platform: every event is kept in demo_events regardless.
    except Exception:
        log.warning("demo event sink failed; the events remain in demo_events", exc_info=True)
