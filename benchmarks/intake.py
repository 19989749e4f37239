"""Intake throughput: reports per second and latency against a real server on loopback.

Spawns ``python -m hrdshield serve`` on 127.0.0.1 with a throwaway data folder (SQLite), or a
throwaway database created on the PostgreSQL server named by ``--database-url`` and dropped
afterwards, signs a partner in, and drives ``POST /api/v1/cases`` (text-only reports) from 8 and
32 concurrent keep-alive connections. The anonymous ``POST /api/v1/reports`` is added when the
server serves it and ``--anonymous`` is given. Bounded by a request count and a time limit per
level. The load generator is a small asyncio HTTP/1.1 client, so that it costs the server's
machine as little CPU as possible; it also reads the server's CPU time per request from /proc.

Run: ``.venv/bin/python -m benchmarks.intake --help``
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hrdshield.accounts import service as accounts
from hrdshield.db import make_engine, make_session_factory
from hrdshield.security import totp
from hrdshield.security.crypto import Keyring, install_keyring
from hrdshield.security.rbac import Principal, Role

PASSWORD = "benchmark password, synthetic"  # noqa: S105  (a throwaway account in a throwaway db)
EMAIL = "bench-partner@example.test"
START_TIMEOUT = 60.0
REQUEST_TIMEOUT = 30.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class Level:
    """One measured run: an endpoint at a number of concurrent clients."""

    endpoint: str
    clients: int
    requests: int = 0
    acknowledged: int = 0
    other: dict[str, int] = field(default_factory=dict)  # status (or "error"): count
    seconds: float = 0.0
    per_second: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    server_cpu_ms_per_request: float = 0.0
    load_before: str = ""  # 1, 5 and 15 minute load averages of the machine, before and after
    load_after: str = ""


@dataclass
class Server:
    """The spawned server and how to reach it."""

    process: subprocess.Popen[bytes]
    port: int
    cookie: str = ""
    csrf: str = ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _database(database_url: str | None, data_dir: Path) -> Iterator[str]:
    """Yield the URL of a throwaway database, dropped (or deleted with its folder) afterwards."""
    if not database_url:
        yield f"sqlite:///{(data_dir / 'hrdshield.sqlite3').resolve()}"
        return
    base = make_url(database_url)
    name = f"hrdshield_bench_{secrets.token_hex(6)}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _environment(url: str, data_dir: Path, master_key: bytes) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HRDSHIELD_")}
    env.update(
        {
            "HRDSHIELD_DATABASE_URL": url,
            "HRDSHIELD_DATA_DIR": str(data_dir),
            "HRDSHIELD_MASTER_KEY": base64.b64encode(master_key).decode(),
            "HRDSHIELD_SECRET_KEY": secrets.token_urlsafe(32),
            "HRDSHIELD_COOKIE_SECURE": "false",
            "HRDSHIELD_ENVIRONMENT": "test",
            "HRDSHIELD_LOG_LEVEL": "WARNING",
        }
    )
    return env


def _create_partner(url: str, master_key: bytes) -> str:
    """Create the partner the load signs in as; return its TOTP secret."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    keyring = Keyring(master_key=master_key, session_factory=factory)
    keyring.load()
    install_keyring(keyring)
    actor = Principal.system("benchmark")
    try:
        with factory() as session, session.begin():
            organisation = accounts.create_organisation(
                session=session, actor=actor, name="Benchmark Partner", country="KE"
            )
            partner = accounts.create_user(
                session=session,
                actor=actor,
                email=EMAIL,
                display_name="Benchmark partner",
                password=PASSWORD,
                role=Role.PARTNER,
                organisation_id=organisation.id,
            )
            partner.totp_secret = secret = totp.new_secret()
    finally:
        install_keyring(None)
        engine.dispose()
    return secret


def _start(python: str, env: dict[str, str], log: Path, workers: int | None) -> Server:
    port = _free_port()
    command = [python, "-m", "hrdshield", "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers is not None:
        command += ["--workers", str(workers)]
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603  (our own command)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return Server(process, port)
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the server did not start; see {log}")


def _sign_in(server: Server, secret: str) -> None:
    answer = httpx.post(
        f"http://127.0.0.1:{server.port}/api/v1/session",
        json={"email": EMAIL, "password": PASSWORD, "totp_code": totp.code_at(secret)},
        timeout=REQUEST_TIMEOUT,
    )
    if answer.status_code != 201:
        raise SystemExit(f"sign-in failed: {answer.status_code} {answer.text[:200]}")
    server.cookie = "; ".join(f"{name}={value}" for name, value in answer.cookies.items())
    server.csrf = answer.json()["csrf_token"]


def _serves_anonymous_reports(server: Server) -> bool:
    document = httpx.get(
        f"http://127.0.0.1:{server.port}/api/v1/openapi.json", timeout=REQUEST_TIMEOUT
    ).json()
    return "post" in document.get("paths", {}).get("/api/v1/reports", {})


def _cpu_seconds(pid: int) -> float:
    """Return user + system CPU time of process `pid` and its descendants (Linux), else 0.

    A server with several workers is a supervisor and its children: all of them are counted,
    the finished children too (as the kernel adds them to their parent's figures).
    """
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime, stime, then cutime, cstime: the CPU of children that have been waited for.
    ticks = sum(int(value) for value in fields[11:15])
    return ticks / _CLOCK_TICKS + sum(_cpu_seconds(child) for child in _children(pid))


def _children(pid: int) -> list[int]:
    children: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            children.extend(int(child) for child in (task / "children").read_text().split())
    return children


def _load_average() -> str:
    """Return the 1, 5 and 15 minute load averages, as `uptime` prints them."""
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "-"


# --- the load generator -------------------------------------------------------------------------


def _request_bytes(server: Server, endpoint: str, number: int) -> bytes:
    if endpoint == "cases":
        path, auth = "/api/v1/cases", f"Cookie: {server.cookie}\r\nX-CSRF-Token: {server.csrf}\r\n"
        body = {
            "category": "harassment",
            "summary": f"Benchmark report {number}: a pile-on of abusive replies",
            "narrative": "Synthetic text. " * 20,
        }
    else:
        path, auth = "/api/v1/reports", ""
        body = {"category": "harassment", "narrative": f"Benchmark report {number}. " * 10}
    payload = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n{auth}"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes) -> int:
    writer.write(raw)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in {b"\r\n", b""}:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


@dataclass
class _Run:
    """What the clients of one run share: the budget left, the deadline and what they saw."""

    budget: int
    deadline: float
    latencies: list[float] = field(default_factory=list)
    other: dict[str, int] = field(default_factory=dict)


async def _client(server: Server, endpoint: str, shared: _Run) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        while shared.budget > 0 and time.perf_counter() < shared.deadline:
            shared.budget -= 1
            raw = _request_bytes(server, endpoint, shared.budget)
            started = time.perf_counter()
            try:
                status = await asyncio.wait_for(_exchange(reader, writer, raw), REQUEST_TIMEOUT)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
                shared.other["error"] = shared.other.get("error", 0) + 1
                return
            if status == 201:
                shared.latencies.append(time.perf_counter() - started)
            else:
                shared.other[str(status)] = shared.other.get(str(status), 0) + 1
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _drive(
    server: Server, endpoint: str, clients: int, requests: int, seconds: float
) -> tuple[list[float], dict[str, int], float]:
    started = time.perf_counter()
    shared = _Run(budget=requests, deadline=started + seconds)
    await asyncio.gather(*(_client(server, endpoint, shared) for _ in range(clients)))
    return shared.latencies, shared.other, time.perf_counter() - started


def measure(
    server: Server, endpoint: str, clients: int, *, requests: int, seconds: float, warmup: int
) -> Level:
    """Warm up, then measure one endpoint at one concurrency."""
    asyncio.run(_drive(server, endpoint, clients, warmup, seconds))
    load_before = _load_average()
    cpu_before = _cpu_seconds(server.process.pid)
    latencies, other, elapsed = asyncio.run(_drive(server, endpoint, clients, requests, seconds))
    cpu = _cpu_seconds(server.process.pid) - cpu_before
    level = Level(endpoint, clients, len(latencies) + sum(other.values()), len(latencies), other)
    level.load_before, level.load_after = load_before, _load_average()
    level.seconds = round(elapsed, 2)
    if latencies:
        ordered = sorted(latencies)
        level.per_second = round(len(latencies) / elapsed, 1)
        level.p50_ms = round(statistics.median(ordered) * 1000, 1)
        level.p99_ms = round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1)
        level.max_ms = round(ordered[-1] * 1000, 1)
        level.server_cpu_ms_per_request = round(cpu * 1000 / level.requests, 2)
    return level


# --- the command --------------------------------------------------------------------------------


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.intake",
        description="Measure report intake (reports/s, p50/p99) against a real server process.",
    )
    parser.add_argument(
        "--database-url",
        help="PostgreSQL server URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres);"
        " a throwaway database is created on it and dropped. Default: SQLite in a temp folder.",
    )
    parser.add_argument("--clients", default="8,32", help="concurrency levels (default 8,32)")
    parser.add_argument("--requests", type=int, default=3000, help="reports per level (3000)")
    parser.add_argument("--seconds", type=float, default=20.0, help="time limit per level (20)")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured reports first (200)")
    parser.add_argument(
        "--anonymous",
        action="store_true",
        help="also measure the anonymous POST /api/v1/reports when the server serves it "
        "(it is throttled per client address, so expect 429s from one loopback client)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="serving processes (passed to `hrdshield serve --workers`; default: the server's)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--server-log", type=Path, help="keep the server's output in this file")
    parser.add_argument("--python", default=sys.executable, help="interpreter to run the server")
    arguments = parser.parse_args(argv)
    arguments.levels = [int(value) for value in arguments.clients.split(",") if value.strip()]
    if not arguments.levels or min(arguments.levels) < 1 or max(arguments.levels) > 512:
        parser.error("--clients takes numbers between 1 and 512")
    if arguments.workers is not None and not 0 <= arguments.workers <= 64:
        parser.error("--workers takes a number between 0 (one per CPU) and 64")
    if not 1 <= arguments.requests <= 1_000_000 or not 0 < arguments.seconds <= 600:
        parser.error("--requests must be 1..1000000 and --seconds 0..600")
    return arguments


def run(arguments: argparse.Namespace) -> dict[str, Any]:
    """Spawn the server, measure every level, tear everything down; return the results."""
    data_dir = Path(tempfile.mkdtemp(prefix="hrdshield-bench-"))
    master_key = secrets.token_bytes(32)
    levels: list[Level] = []
    notes: list[str] = []
    try:
        with _database(arguments.database_url, data_dir) as url:
            env = _environment(url, data_dir, master_key)
            subprocess.run(  # noqa: S603  (our own command)
                [arguments.python, "-m", "hrdshield", "migrate"],
                env=env,
                check=True,
                capture_output=True,
                timeout=300,
            )
            secret = _create_partner(url, master_key)
            server = _start(arguments.python, env, data_dir / "server.log", arguments.workers)
            try:
                _sign_in(server, secret)
                endpoints = ["cases"]
                if _serves_anonymous_reports(server):
                    if arguments.anonymous:
                        endpoints.append("reports")
                    else:
                        notes.append("POST /api/v1/reports is served; add --anonymous for it")
                elif arguments.anonymous:
                    notes.append("POST /api/v1/reports is not served by this build: skipped")
                for endpoint in endpoints:
                    for clients in arguments.levels:
                        levels.append(
                            measure(
                                server,
                                endpoint,
                                clients,
                                requests=arguments.requests,
                                seconds=arguments.seconds,
                                warmup=arguments.warmup,
                            )
                        )
            finally:
                server.process.send_signal(signal.SIGTERM)
                try:
                    server.process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.process.kill()
    finally:
        if arguments.server_log and (data_dir / "server.log").exists():
            shutil.copyfile(data_dir / "server.log", arguments.server_log)
        shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "backend": "postgresql" if arguments.database_url else "sqlite",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU(s), {platform.system()}",
        "python": platform.python_version(),
        "workers": arguments.workers if arguments.workers is not None else "default",
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "levels": [asdict(level) for level in levels],
        "notes": notes,
    }


def _table(results: dict[str, Any]) -> str:
    lines = [
        f"backend {results['backend']} | {results['machine']} | Python {results['python']}"
        f" | {results['date']} | workers {results['workers']}",
        f"{'endpoint':<10}{'clients':>8}{'reports':>9}{'per s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'max ms':>9}{'cpu ms/req':>12}  {'load before':<18}{'load after':<18}other",
    ]
    for level in results["levels"]:
        lines.append(
            f"{level['endpoint']:<10}{level['clients']:>8}{level['acknowledged']:>9}"
            f"{level['per_second']:>9}{level['p50_ms']:>9}{level['p99_ms']:>9}"
            f"{level['max_ms']:>9}{level['server_cpu_ms_per_request']:>12}"
            f"  {level['load_before']:<18}{level['load_after']:<18}{level['other'] or '-'}"
        )
    lines.extend(f"note: {note}" for note in results["notes"])
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a table, or one JSON object with --json."""
    arguments = _arguments(argv)
    results = run(arguments)
    sys.stdout.write(json.dumps(results) + "\n" if arguments.json else _table(results))


if __name__ == "__main__":
    main()
