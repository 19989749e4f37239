"""Detection throughput, alert latency and memory on the evaluation generator's stream.

Three measurements, each printed as a table (or, with ``--json``, one JSON object):

- ``throughput``: events/s on one core (this process) for decoding JSON lines, decoding plus
  routing through the defender index, the counting detectors, and the whole pipeline, on a stream
  of 100,000 platform accounts and 10,000 enrolled defenders where about 2 % of events touch a
  defender; and texts/s of the text detectors on the defender-related texts alone.
- ``latency``: events are accepted into the inbox at a steady rate (5,000 events/s by default)
  while the server's consumer runs in a thread; for every alert, the time from the commit of the
  event that completed the attack to the commit of the stored alert. SQLite in a temporary folder,
  or PostgreSQL with ``--database-url`` (a throwaway database is created and dropped).
- ``memory``: peak resident memory of a process holding 100,000 enrolled defenders and running
  the pipeline over a 24-hour stream (every window full).

Run: ``.venv/bin/python -m benchmarks.detection --help``
"""

from __future__ import annotations

import argparse
import json
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from hrdshield import migrate
from hrdshield.db import make_engine, make_session_factory
from hrdshield.detection import ingest, schema
from hrdshield.detection.detectors import default_detectors
from hrdshield.detection.enums import IngestChannel
from hrdshield.detection.evaluation.scenarios import Scenario, ScenarioConfig, generate
from hrdshield.detection.models import Alert, AlertEvent
from hrdshield.detection.pipeline import Detector, Pipeline
from hrdshield.detection.schema import TEXT_EVENTS, Event
from hrdshield.detection.tasks import Consumer, build_consumer
from hrdshield.security.crypto import Keyring, install_keyring

COUNTING = frozenset({"pile_on", "mass_reporting", "account_takeover", "shutdown"})
TEXT = frozenset({"targeted_abuse", "malicious_link", "doxxing", "smear_campaign"})
BATCH = 1000


def stream(defenders: int, accounts: int, hours: int, posts_per_minute: int) -> Scenario:
    """Generate the benchmark's stream (background traffic with attacks, ~2 % targeted)."""
    return generate(
        ScenarioConfig(
            seed=7,
            defenders=defenders,
            accounts=accounts,
            hours=hours,
            posts_per_minute=posts_per_minute,
            repeats=3,
            login_history_days=1,
        )
    )


def _rate(count: int, work: Callable[[], object], repeat: int = 3) -> float:
    """Return the best of `repeat` runs of `work`, as `count` items per second."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return count / best


def _run(scenario: Scenario, detectors: Sequence[Detector], events: Sequence[Event]) -> None:
    index = scenario.index()
    pipeline = Pipeline(detectors=list(detectors), index=lambda: index)
    for start in range(0, len(events), BATCH):
        pipeline.process(events[start : start + BATCH])


def throughput(scenario: Scenario) -> dict[str, Any]:
    """Measure events/s of each stage on one core, and texts/s of the text detectors."""
    events = scenario.events
    lines = [schema.encode(event) for event in events]
    index = scenario.index()
    targeted = sum(1 for event in events if any(index.defender_for(t) for t in event.targets))
    names = {detector.kind.value for detector in default_detectors()}

    def only(kinds: frozenset[str]) -> Callable[[], list[Detector]]:
        return lambda: [d for d in default_detectors() if d.kind.value in kinds]

    def decode() -> None:
        for line in lines:
            schema.decode(line)

    def decode_and_route() -> None:
        decoded = [schema.decode(line) for line in lines]
        _run(scenario, [], decoded)

    def decode_route_count() -> None:
        _run(scenario, only(COUNTING)(), [schema.decode(line) for line in lines])

    def whole() -> None:
        _run(scenario, default_detectors(), [schema.decode(line) for line in lines])

    texts = [
        event
        for event in events
        if isinstance(event, TEXT_EVENTS) and any(index.defender_for(t) for t in event.targets)
    ]
    rows = {
        "events": len(events),
        "defender_events_share": round(targeted / len(events), 4),
        "decode_events_per_s": round(_rate(len(events), decode)),
        "decode_route_events_per_s": round(_rate(len(events), decode_and_route)),
        "counting_detectors": sorted(names & COUNTING),
        "decode_route_count_events_per_s": round(_rate(len(events), decode_route_count)),
        "all_detectors": sorted(names),
        "whole_pipeline_events_per_s": round(_rate(len(events), whole, repeat=2)),
        "defender_texts": len(texts),
    }
    text_detectors = only(TEXT)()
    if text_detectors and texts:
        rows["text_detectors"] = sorted(d.kind.value for d in text_detectors)
        rows["text_detectors_texts_per_s"] = round(
            _rate(len(texts), lambda: _run(scenario, only(TEXT)(), texts))
        )
    return rows


def _database(url: str | None, folder: Path) -> tuple[str, Callable[[], None]]:
    if url is None:
        return f"sqlite:///{folder / 'bench.sqlite3'}", lambda: None
    server = make_url(url)
    name = f"hrdshield_bench_{secrets.token_hex(4)}"
    admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return server.set(database=name).render_as_string(hide_password=False), drop


def latency(
    scenario: Scenario, rate: int, seconds: float, database_url: str | None
) -> dict[str, Any]:
    """Stream events into the inbox at `rate` per second; time each alert from event to store."""
    folder = Path(tempfile.mkdtemp(prefix="hrdshield-bench-"))
    url, drop = _database(database_url, folder)
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        factory = make_session_factory(engine)
        keyring = Keyring(master_key=secrets.token_bytes(32), session_factory=factory)
        keyring.load()
        install_keyring(keyring)
        _enrol(factory, scenario)
        events = _shifted(scenario.events, limit=int(rate * seconds))
        committed = _feed(factory, keyring, events, rate)
        return _latencies(factory, committed, rate, url)
    finally:
        install_keyring(None)
        engine.dispose()
        drop()
        shutil.rmtree(folder, ignore_errors=True)


def _enrol(factory: Any, scenario: Scenario) -> None:
    """Write the scenario's defenders into the database the way enrolment would."""
    from hrdshield.defenders import service as defenders  # noqa: PLC0415
    from hrdshield.defenders.enums import ConsentScope, ContactChannel  # noqa: PLC0415
    from hrdshield.defenders.schemas import DefenderCreate  # noqa: PLC0415
    from hrdshield.security.rbac import Principal, Role  # noqa: PLC0415

    staff = Principal(user_id="bench", role=Role.LEAD)
    with factory() as session, session.begin():
        for defender in scenario.defenders[:2000]:
            defenders.enrol(
                session=session,
                actor=staff,
                defender_in=DefenderCreate(
                    display_name=defender.display_name,
                    handles=[f"@{handle}" for handle in defender.handles],
                    country=defender.country,
                    languages=list(defender.languages),
                    groups=[],
                    risk_level=defender.risk_level,
                    contact_channel=ContactChannel.NONE,
                    contact_address=None,
                    identifiers=[],
                    consents=[ConsentScope.PROCESSING],
                ),
            )


def _shifted(events: Sequence[Event], limit: int) -> list[Event]:
    """Take the busiest stretch of the stream and move it to now, keeping the spacing."""
    chosen = list(events[len(events) // 3 : len(events) // 3 + limit])
    offset = datetime.now(UTC) - chosen[0].occurred_at
    return [
        schema.convert(
            {**schema.to_dict(event), "occurred_at": schema.format_time(event.occurred_at + offset)}
        )
        for event in chosen
    ]


def _feed(factory: Any, keyring: Keyring, events: list[Event], rate: int) -> dict[str, float]:
    """Accept `events` at `rate`/s in 50 ms batches while the consumer runs; return commit times."""
    consumer: Consumer = build_consumer(factory, keyring)
    stop = threading.Event()

    def consume() -> None:
        while not stop.is_set():
            if consumer.run_once().events < consumer.batch:
                stop.wait(0.02)

    worker = threading.Thread(target=consume, daemon=True)
    worker.start()
    committed: dict[str, float] = {}
    per_batch = max(1, rate // 20)
    started = time.perf_counter()
    for number, start in enumerate(range(0, len(events), per_batch)):
        batch = events[start : start + per_batch]
        with factory() as session, session.begin():
            ingest.accept_events(session=session, events=batch, channel=IngestChannel.API)
        now = time.time()
        committed.update((event.id, now) for event in batch)
        pause = started + (number + 1) / 20 - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline:
        with factory() as session:
            if ingest.backlog(session=session) == 0:
                break
        time.sleep(0.1)
    stop.set()
    worker.join(timeout=30)
    consumer.release()
    return committed


def _latencies(factory: Any, committed: dict[str, float], rate: int, url: str) -> dict[str, Any]:
    samples = []
    with factory() as session:
        for alert in session.scalars(select(Alert)):
            ids = session.scalars(
                select(AlertEvent.event_id).where(AlertEvent.alert_id == alert.id)
            ).all()
            completing = max((committed[i] for i in ids if i in committed), default=None)
            if completing is not None:
                samples.append(max(alert.created_at.timestamp() - completing, 0.0))
    samples.sort()
    return {
        "database": make_url(url).get_backend_name(),
        "rate_events_per_s": rate,
        "events": len(committed),
        "alerts": len(samples),
        "p50_seconds": round(statistics.median(samples), 3) if samples else None,
        "p99_seconds": round(samples[int(0.99 * (len(samples) - 1))], 3) if samples else None,
        "max_seconds": round(samples[-1], 3) if samples else None,
    }


def memory(defenders: int, hours: int) -> dict[str, Any]:
    """Run the pipeline over a day with `defenders` enrolled in a child process; read its peak."""
    code = (
        "import resource, sys\n"
        "from benchmarks.detection import stream, _run\n"
        "from hrdshield.detection.detectors import default_detectors\n"
        f"scenario = stream({defenders}, 100_000, {hours}, 300)\n"
        "_run(scenario, default_detectors(), scenario.events)\n"
        "print(len(scenario.events), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    done = subprocess.run(  # noqa: S603  (our own interpreter running our own module)
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    events, peak_kib = (int(value) for value in done.stdout.split())
    return {
        "defenders": defenders,
        "hours": hours,
        "events": events,
        "peak_mib": round(peak_kib / 1024),
    }


def main(argv: list[str] | None = None) -> None:
    """Run the benchmarks and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("throughput", "latency", "memory"), action="append")
    parser.add_argument("--defenders", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--hours", type=int, default=2)
    parser.add_argument("--posts-per-minute", type=int, default=2500)
    parser.add_argument("--rate", type=int, default=5000, help="latency: events/s to feed")
    parser.add_argument("--seconds", type=float, default=30.0, help="latency: how long to feed")
    parser.add_argument("--database-url", default=None, help="latency: a PostgreSQL server")
    parser.add_argument("--memory-defenders", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    arguments = parser.parse_args(argv)
    wanted = set(arguments.only or ("throughput", "latency", "memory"))
    report: dict[str, Any] = {"machine": f"{platform.machine()}, {platform.python_version()}"}
    print("generating the stream...", file=sys.stderr)
    scenario = stream(
        arguments.defenders, arguments.accounts, arguments.hours, arguments.posts_per_minute
    )
    if "throughput" in wanted:
        print("measuring throughput...", file=sys.stderr)
        report["throughput"] = throughput(scenario)
    if "latency" in wanted:
        print("measuring alert latency...", file=sys.stderr)
        report["latency"] = latency(
            scenario, arguments.rate, arguments.seconds, arguments.database_url
        )
    if "memory" in wanted:
        print("measuring memory...", file=sys.stderr)
        report["memory"] = memory(arguments.memory_defenders, 24)
    print(json.dumps(report, indent=2) if arguments.json else _table(report))


def _table(report: dict[str, Any]) -> str:
    lines = [f"machine: {report['machine']}"]
    for section in ("throughput", "latency", "memory"):
        if section in report:
            lines.append(f"\n{section}")
            for key, value in report[section].items():
                lines.append(f"  {key:<34} {value}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
