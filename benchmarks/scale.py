"""Scale-out: end-to-end events/s and alert latency of the inbox, one worker and two workers.

Three set-ups side by side, each on a fresh database with the same synthetic defenders and the
same stream (background traffic with pile-on attacks on some defenders mixed in):

- ``inbox``: the in-process default. Events are accepted into the inbox table in batches, as
  ``POST /api/v1/events`` does, while the server's detection loop (``run_detection_loop`` over
  ``build_consumer``) runs in a child process.
- ``1 worker`` and ``2 workers``: a private ``nats-server -js`` on a free loopback port, the
  events published with ``JetStreamBus`` (sealed with the workers' field key, one copy per
  target partition), and ``hrdshield worker`` processes consuming the partitions.

events/s is the stream's events divided by the time from the first publish until every event
is processed (inbox: no row left unprocessed; bus: no durable consumer with pending or
unacknowledged messages, and workers acknowledge only after their commit). Alert latency is the
pile-on alert's ``created_at`` minus the time the publish of the event that crossed the
threshold returned; which event crosses it is found first by running the pipeline over the
stream in this process. Peak RSS and CPU time of the detection processes are read from /proc.

Synthetic data only; the temporary folder, the NATS store and, on PostgreSQL, the throwaway
databases (``hrdshield_bench_<random>``) are removed at the end.

Run: ``.venv/bin/python -m benchmarks.scale --help``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import logging
import math
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from tests.bus.nats_server import NATS_SERVER, NatsServer

from benchmarks.intake import _database as throwaway_database
from benchmarks.scale_processes import (
    SETTLE_SECONDS,
    consumed,
    consumers_ready,
    cpu_seconds,
    delete_stream,
    peak_rss_mib,
    say,
    spawn,
    stop,
    stream_messages,
)
from benchmarks.scale_stream import Stream, crossings, generate
from hrdshield import migrate
from hrdshield.bus.jetstream import BusSettings, JetStreamBus
from hrdshield.db import make_engine, make_session_factory
from hrdshield.detection import ingest
from hrdshield.detection.enums import DetectorKind, IngestChannel
from hrdshield.detection.models import Alert, AlertEvent, Incident, Lease
from hrdshield.detection.schema import Event
from hrdshield.security.crypto import Keyring, install_keyring

BACKLOG_LEASE_SECONDS = 60


# --- databases ----------------------------------------------------------------------------------


@contextlib.contextmanager
def _database(server_url: str | None, folder: Path, label: str) -> Iterator[str]:
    """Yield the URL of a fresh database for one set-up; drop or delete it afterwards."""
    place = folder / label
    place.mkdir(parents=True, exist_ok=True)
    with throwaway_database(server_url, place) as url:
        yield url


def _prepare(url: str, master_key: bytes, stream: Stream) -> tuple[Any, Keyring, dict[str, str]]:
    """Migrate, load the keyring and enrol the defenders; return engine, keyring, id -> account."""
    from hrdshield.defenders import service as defenders  # noqa: PLC0415
    from hrdshield.defenders.enums import ConsentScope, ContactChannel, RiskLevel  # noqa: PLC0415
    from hrdshield.defenders.schemas import DefenderCreate  # noqa: PLC0415
    from hrdshield.security.rbac import Principal, Role  # noqa: PLC0415

    engine = make_engine(url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    keyring = Keyring(master_key=master_key, session_factory=factory)
    keyring.load()
    install_keyring(keyring)
    staff = Principal(user_id="bench", role=Role.LEAD)
    accounts: dict[str, str] = {}
    with factory() as session, session.begin():
        for number, (account, handle, language) in enumerate(stream.defenders):
            defender = defenders.enrol(
                session=session,
                actor=staff,
                defender_in=DefenderCreate(
                    display_name=f"Bench Defender {number + 1}",
                    handles=[handle],
                    country="KE",
                    languages=[language],
                    groups=[],
                    risk_level=RiskLevel.HIGH if number % 5 == 0 else RiskLevel.MEDIUM,
                    contact_channel=ContactChannel.NONE,
                    contact_address=None,
                    identifiers=[],
                    consents=[ConsentScope.PROCESSING],
                ),
            )
            accounts[defender.id] = account
    return engine, keyring, accounts


# --- processes ----------------------------------------------------------------------------------


def _environment(
    url: str, folder: Path, master_key: bytes, bus: BusSettings | None
) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HRDSHIELD_")}
    env.update(
        {
            "HRDSHIELD_DATABASE_URL": url,
            "HRDSHIELD_DATA_DIR": str(folder),
            "HRDSHIELD_MASTER_KEY": base64.b64encode(master_key).decode(),
            "HRDSHIELD_SECRET_KEY": secrets.token_urlsafe(32),
            "HRDSHIELD_ENVIRONMENT": "test",
            "HRDSHIELD_LOG_LEVEL": "WARNING",
        }
    )
    if bus is not None:
        env.update(
            {
                "HRDSHIELD_BUS_URL": bus.url,
                "HRDSHIELD_BUS_STREAM": bus.stream,
                "HRDSHIELD_BUS_PARTITIONS": str(bus.partitions),
            }
        )
    return env


INBOX_CONSUMER = """
import signal, threading
from hrdshield.cli import Runtime
from hrdshield.app import sla_policy_of, thresholds_of
from hrdshield.detection.tasks import build_consumer, run_detection_loop
runtime = Runtime()
settings = runtime.settings
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
consumer = build_consumer(
    runtime.session_factory, runtime.keyring, thresholds=thresholds_of(settings),
    policy=sla_policy_of(settings), public_url=settings.public_url,
)
print("ready", flush=True)
run_detection_loop(
    consumer, interval_seconds=settings.detection_interval_seconds, stop_event=stop,
    retention_hours=settings.detection_window_hours,
)
"""


# --- one set-up ---------------------------------------------------------------------------------


@dataclass
class Result:
    """What one set-up measured."""

    setup: str
    events: int = 0
    copies: int = 0  # messages in the stream (an event addressed to two partitions is two)
    publish_seconds: float = 0.0
    seconds: float = 0.0
    events_per_s: float = 0.0
    pile_ons: str = ""  # alerted / attacks
    p50_s: float | None = None
    p99_s: float | None = None
    max_s: float | None = None
    alerts: int = 0
    alert_events: int = 0
    incidents: int = 0
    detection_cpu_s: float = 0.0
    events_per_cpu_s: float = 0.0
    peak_rss_mib: list[float] = field(default_factory=list)
    nats_peak_rss_mib: float = 0.0
    worker_events: list[int] = field(default_factory=list)  # each worker's own count


@dataclass
class Plan:
    """What every set-up shares."""

    stream: Stream
    master_key: bytes
    folder: Path
    database_url: str | None
    partitions: int
    batch: int
    rate: float
    timeout: float
    python: str
    backlog: bool = False
    crossing: dict[str, str] = field(default_factory=dict)  # attacked account -> event id


def _publish(
    plan: Plan, accept: Callable[[Sequence[Event]], None], label: str
) -> tuple[float, dict[str, float]]:
    """Hand the stream on in batches (paced at `plan.rate` if set); return start and times."""
    events = plan.stream.events
    published: dict[str, float] = {}
    started = time.time()
    shown = started
    for number, start in enumerate(range(0, len(events), plan.batch)):
        batch = events[start : start + plan.batch]
        accept(batch)
        now = time.time()
        published.update((event.id, now) for event in batch)
        if now - shown > 5:
            say(f"  {label}: published {start + len(batch):,} of {len(events):,}")
            shown = now
        if plan.rate:
            pause = started + (number + 1) * plan.batch / plan.rate - time.time()
            if pause > 0:
                time.sleep(pause)
    return started, published


def _wait(done: Callable[[], bool], timeout: float, what: str) -> float:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)
    return time.time()


def _collect(
    result: Result,
    factory: sessionmaker[Session],
    accounts: dict[str, str],
    plan: Plan,
    published: dict[str, float],
) -> None:
    samples: list[float] = []
    with factory() as session:
        result.alerts = int(session.scalar(select(func.count()).select_from(Alert)) or 0)
        result.alert_events = int(session.scalar(select(func.count()).select_from(AlertEvent)) or 0)
        result.incidents = int(session.scalar(select(func.count()).select_from(Incident)) or 0)
        rows = session.execute(
            select(Alert.defender_id, func.min(Alert.created_at))
            .where(Alert.detector == DetectorKind.PILE_ON)
            .group_by(Alert.defender_id)
        )
        for defender_id, created_at in rows:
            event_id = plan.crossing.get(accounts.get(defender_id or "", ""))
            if event_id is not None:
                samples.append(max(0.0, created_at.timestamp() - published[event_id]))
    samples.sort()
    if plan.backlog:
        result.pile_ons = f"{len(samples)}/{len(plan.stream.attacked)}"
        return  # every event waited for the whole publication: no latency to speak of
    result.pile_ons = f"{len(samples)}/{len(plan.stream.attacked)}"
    if samples:
        result.p50_s = round(statistics.median(samples), 3)
        result.p99_s = round(samples[min(len(samples) - 1, math.ceil(0.99 * len(samples)) - 1)], 3)
        result.max_s = round(samples[-1], 3)


def run_inbox(plan: Plan) -> Result:
    """The in-process default: the inbox, and the server's detection loop in a child process."""
    result = Result("inbox (in-process)", events=len(plan.stream.events))
    with _database(plan.database_url, plan.folder, "inbox") as url:
        engine, _keyring, accounts = _prepare(url, plan.master_key, plan.stream)
        factory = make_session_factory(engine)
        env = _environment(url, plan.folder, plan.master_key, None)
        log = plan.folder / "inbox-consumer.log"
        consumer = spawn([plan.python, "-c", INBOX_CONSUMER], env, log)
        try:
            _wait(lambda: "ready" in log.read_text(), 120, "the inbox consumer")
            say("  inbox: consumer ready, publishing")

            def accept(batch: Sequence[Event]) -> None:
                with factory() as session, session.begin():
                    ingest.accept_events(session=session, events=batch, channel=IngestChannel.API)

            def drained() -> bool:
                with factory() as session:
                    return ingest.backlog(session=session) == 0

            published = _measure(
                plan,
                result,
                [consumer],
                accept,
                lambda: _wait(drained, plan.timeout, "the inbox to drain"),
            )
            result.copies = len(published)
        finally:
            stop(consumer)
        _collect(result, factory, accounts, plan, published)
        engine.dispose()
    _finish(result)
    return result


def run_workers(plan: Plan, nats_server: NatsServer, workers: int) -> Result:
    """`workers` ``hrdshield worker`` processes on the JetStream stream."""
    label = f"{workers} worker" + ("s" if workers > 1 else "")
    result = Result(label, events=len(plan.stream.events))
    bus = BusSettings(url=nats_server.url, stream=f"BENCH_W{workers}", partitions=plan.partitions)
    with _database(plan.database_url, plan.folder, f"workers{workers}") as url:
        engine, keyring, accounts = _prepare(url, plan.master_key, plan.stream)
        factory = make_session_factory(engine)
        env = _environment(url, plan.folder, plan.master_key, bus)
        if plan.backlog:  # paused workers must keep their leases while the stream is published
            env["HRDSHIELD_WORKER_LEASE_SECONDS"] = str(BACKLOG_LEASE_SECONDS)
        processes = []
        publisher = JetStreamBus(bus, keyring, name="hrdshield-bench")
        try:
            for number in range(workers):
                log = plan.folder / f"worker{workers}-{number}.log"
                command = [plan.python, "-m", "hrdshield", "worker", "--name", f"bench-{number}"]
                processes.append(spawn(command, env, log))
            say(f"  {label}: waiting for the partitions to be shared out")

            def settled() -> bool:
                for number, process in enumerate(processes):
                    if process.poll() is not None:
                        log = (plan.folder / f"worker{workers}-{number}.log").read_text()
                        raise SystemExit(f"worker {number} stopped:\n{log[-2000:]}")
                return _settled(factory, bus, workers)

            _wait(settled, SETTLE_SECONDS, "the partition leases")
            asyncio.run(consumers_ready(bus))
            say(f"  {label}: {plan.partitions} partitions owned, publishing")

            def accept(batch: Sequence[Event]) -> None:
                with factory() as session:
                    publisher.accept(session=session, events=batch, channel=IngestChannel.API)

            published = _measure(
                plan, result, processes, accept, lambda: asyncio.run(consumed(bus, plan.timeout))
            )
            result.copies = asyncio.run(stream_messages(bus))
            if nats_server.process is not None:
                result.nats_peak_rss_mib = round(peak_rss_mib(nats_server.process.pid))
        finally:
            quiet = logging.getLogger("hrdshield.bus")
            level, quiet.level = quiet.level, logging.ERROR  # it logs the closing as a loss
            publisher.close()
            quiet.setLevel(level)
            for process in processes:
                stop(process)
            asyncio.run(delete_stream(bus))  # the next set-up's stream takes the same subjects
        for number in range(workers):
            log = (plan.folder / f"worker{workers}-{number}.log").read_text()
            found = re.search(r"processed (\d+) events", log)
            result.worker_events.append(int(found.group(1)) if found else -1)
        _collect(result, factory, accounts, plan, published)
        engine.dispose()
    _finish(result)
    return result


def _measure(
    plan: Plan,
    result: Result,
    processes: Sequence[subprocess.Popen[bytes]],
    accept: Callable[[Sequence[Event]], None],
    wait_drained: Callable[[], float],
) -> dict[str, float]:
    """Publish the stream and wait until it is processed; fill in times, CPU and memory.

    With a backlog the detection processes are paused (SIGSTOP) while the stream is published
    and the clock starts when they are resumed: what detection alone can do with every core.
    """
    cpu_before = sum(cpu_seconds(process.pid) for process in processes)
    if plan.backlog:
        for process in processes:
            process.send_signal(signal.SIGSTOP)
        time.sleep(1.0)  # let their pending pull requests expire
    try:
        started, published = _publish(plan, accept, result.setup)
        result.publish_seconds = round(time.time() - started, 2)
    finally:
        if plan.backlog:
            for process in processes:
                process.send_signal(signal.SIGCONT)
    if plan.backlog:
        started = time.time()
    finished = wait_drained()
    result.seconds = round(finished - started, 2)
    cpu = sum(cpu_seconds(process.pid) for process in processes) - cpu_before
    result.detection_cpu_s = round(cpu, 1)
    result.peak_rss_mib = [round(peak_rss_mib(process.pid)) for process in processes]
    return published


def _finish(result: Result) -> None:
    result.events_per_s = round(result.events / result.seconds) if result.seconds else 0.0
    if result.detection_cpu_s:
        result.events_per_cpu_s = round(result.events / result.detection_cpu_s)


def _settled(factory: sessionmaker[Session], bus: BusSettings, workers: int) -> bool:
    """Return whether every partition is leased and each worker holds its fair share."""
    prefix = f"partition:{bus.stream}/"
    with factory() as session:
        rows = session.execute(
            select(Lease.holder, func.count())
            .where(Lease.name.startswith(prefix), Lease.expires_at > datetime.now(UTC))
            .group_by(Lease.holder)
        ).all()
    share = math.ceil(bus.partitions / workers)
    held = sum(count for _, count in rows)
    return len(rows) == workers and held == bus.partitions and max(c for _, c in rows) <= share


# --- the command --------------------------------------------------------------------------------


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.scale",
        description="Measure end-to-end events/s and alert latency: inbox, 1 and 2 workers.",
    )
    parser.add_argument(
        "--database-url",
        help="PostgreSQL server URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres);"
        " a throwaway database per set-up is created on it and dropped. Default: SQLite.",
    )
    parser.add_argument("--events", type=int, default=100_000, help="events in the stream")
    parser.add_argument("--partitions", type=int, default=16, help="stream partitions (16)")
    parser.add_argument("--defenders", type=int, default=1000, help="enrolled defenders (1000)")
    parser.add_argument("--accounts", type=int, default=20_000, help="other accounts (20000)")
    parser.add_argument("--attacks", type=int, default=100, help="pile-ons in the stream (100)")
    parser.add_argument("--batch", type=int, default=500, help="events per publish call (500)")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="publish at most this many events/s (0: flat out)"
    )
    parser.add_argument(
        "--backlog",
        action="store_true",
        help="publish the whole stream with detection paused, then time detection alone",
    )
    parser.add_argument(
        "--only", choices=("inbox", "1", "2"), action="append", help="run only these set-ups"
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait per set-up")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the processes")
    arguments = parser.parse_args(argv)
    if not 1000 <= arguments.events <= 10_000_000 or not 1 <= arguments.partitions <= 1024:
        parser.error("--events must be 1000..10000000 and --partitions 1..1024")
    if arguments.attacks > arguments.defenders:
        parser.error("--attacks cannot exceed --defenders (one pile-on per defender)")
    return arguments


def run(arguments: argparse.Namespace) -> dict[str, Any]:
    """Generate the stream, measure each set-up, remove everything; return the results."""
    wanted = arguments.only or ["inbox", "1", "2"]
    if ("1" in wanted or "2" in wanted) and not Path(NATS_SERVER).exists():
        raise SystemExit(f"{NATS_SERVER} is not installed")
    folder = Path(tempfile.mkdtemp(prefix="hrdshield-bench-"))
    results: list[Result] = []
    try:
        say(f"generating {arguments.events:,} events...")
        stream = generate(
            arguments.events, arguments.defenders, arguments.accounts, arguments.attacks
        )
        plan = Plan(
            stream=stream,
            master_key=secrets.token_bytes(32),
            folder=folder,
            database_url=arguments.database_url,
            partitions=arguments.partitions,
            batch=arguments.batch,
            rate=arguments.rate,
            timeout=arguments.timeout,
            python=arguments.python,
            backlog=arguments.backlog,
        )
        say("finding the events that cross the pile-on threshold...")
        with _database(arguments.database_url, folder, "dry") as url:
            engine, keyring, accounts = _prepare(url, plan.master_key, stream)
            plan.crossing = crossings(make_session_factory(engine), keyring, stream, accounts)
            engine.dispose()
        if "inbox" in wanted:
            say("inbox + in-process consumer...")
            results.append(run_inbox(plan))
        nats_server = NatsServer(folder / "jetstream")
        if "1" in wanted or "2" in wanted:
            nats_server.start()
        try:
            for workers in (1, 2):
                if str(workers) in wanted:
                    say(f"{workers} worker(s) on JetStream...")
                    results.append(run_workers(plan, nats_server, workers))
        finally:
            nats_server.stop()
    finally:
        install_keyring(None)
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "backend": "postgresql" if arguments.database_url else "sqlite",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU(s), {platform.system()}",
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "events": len(stream.events),
        "defenders": arguments.defenders,
        "attacks": len(stream.attacked),
        "crossings_found": len(plan.crossing),
        "partitions": arguments.partitions,
        "batch": arguments.batch,
        "rate": arguments.rate or "flat out",
        "mode": "backlog" if arguments.backlog else "live",
        "results": [asdict(result) for result in results],
    }


def _table(report: dict[str, Any]) -> str:
    lines = [
        f"backend {report['backend']} | {report['machine']} | Python {report['python']}"
        f" | {report['date']} | {report['events']:,} events, {report['defenders']} defenders,"
        f" {report['attacks']} pile-ons | {report['partitions']} partitions"
        f" | batch {report['batch']} | rate {report['rate']} | {report['mode']}",
        f"{'set-up':<20}{'copies':>8}{'publish s':>10}{'e2e s':>8}{'events/s':>10}"
        f"{'pile-ons':>9}{'p50 s':>8}{'p99 s':>8}{'max s':>8}{'alerts':>8}{'cpu s':>7}"
        f"{'ev/cpu-s':>9}  {'per worker':<14}peak RSS MiB",
    ]
    for row in report["results"]:
        rss = "+".join(str(value) for value in row["peak_rss_mib"])
        if row["nats_peak_rss_mib"]:
            rss += f" (nats {row['nats_peak_rss_mib']})"
        lines.append(
            f"{row['setup']:<20}{row['copies']:>8}{row['publish_seconds']:>10}"
            f"{row['seconds']:>8}{row['events_per_s']:>10}{row['pile_ons']:>9}"
            f"{_value(row['p50_s']):>8}{_value(row['p99_s']):>8}{_value(row['max_s']):>8}"
            f"{row['alerts']:>8}{row['detection_cpu_s']:>7}{row['events_per_cpu_s']:>9}"
            f"  {'+'.join(map(str, row['worker_events'])) or '-':<14}{rss}"
        )
    return "\n".join(lines) + "\n"


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value}"


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a table, or one JSON object with --json."""
    arguments = _arguments(argv)
    report = run(arguments)
    sys.stdout.write(json.dumps(report) + "\n" if arguments.json else _table(report))


if __name__ == "__main__":
    main()
