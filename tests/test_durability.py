"""An acknowledged report survives SIGKILL of the server: present after restart, never half-written.

The real server runs as a subprocess on loopback against the test's database. A few threads post
reports as a signed-in partner; after a second or two of load the server is killed with SIGKILL,
restarted, and every report that got a 201 must be in the database, whole (its summary decrypts,
its timeline has its CREATED event, the audit log has its entry and verifies) and served again.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from hrdshield.cases.enums import CaseEventKind
from hrdshield.cases.models import Case, CaseEvent
from hrdshield.security import audit, totp
from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Role
from tests import factories
from tests.conftest import MASTER_KEY, TestDatabase

CLIENTS = 4
LOAD_SECONDS = 1.5
REQUEST_TIMEOUT = 10.0
START_TIMEOUT = 60.0
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(database: TestDatabase, data_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HRDSHIELD_")}
    env.update(
        {
            "HRDSHIELD_DATABASE_URL": database.url,
            "HRDSHIELD_DATA_DIR": str(data_dir),
            "HRDSHIELD_MASTER_KEY": base64.b64encode(MASTER_KEY).decode(),
            "HRDSHIELD_SECRET_KEY": "durability-test-secret-key-long-enough",
            "HRDSHIELD_COOKIE_SECURE": "false",
            "HRDSHIELD_ENVIRONMENT": "test",
            "HRDSHIELD_LOG_LEVEL": "WARNING",
        }
    )
    return env


def _start(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    with log.open("ab") as output:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hrdshield",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"server did not start:\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


@dataclass
class Load:
    """What the load generator saw: acknowledged reports and everything sent."""

    acknowledged: dict[str, tuple[str, str]] = field(default_factory=dict)  # id: (ref, summary)
    sent: set[str] = field(default_factory=set)  # summaries, acknowledged or not
    transport_errors: int = 0
    other_answers: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    first_ack: threading.Event = field(default_factory=threading.Event)


def _submit(
    base: str, cookies: httpx.Cookies, csrf: str, number: int, load: Load, stop: threading.Event
) -> None:
    with httpx.Client(
        base_url=base, cookies=cookies, headers={"X-CSRF-Token": csrf}, timeout=REQUEST_TIMEOUT
    ) as client:
        sequence = 0
        while not stop.is_set():
            sequence += 1
            summary = f"Durability report {number}-{sequence}: coordinated abusive replies"
            with load.lock:
                load.sent.add(summary)
            try:
                answer = client.post(
                    "/api/v1/cases", json={"category": "harassment", "summary": summary}
                )
            except httpx.TransportError:
                with load.lock:
                    load.transport_errors += 1
                time.sleep(0.02)  # the server is gone; do not spin
                continue
            with load.lock:
                if answer.status_code == 201:
                    body = answer.json()
                    load.acknowledged[body["id"]] = (body["reference"], summary)
                    load.first_ack.set()
                else:
                    load.other_answers.append(answer.status_code)


def test_acknowledged_reports_survive_sigkill(database: TestDatabase, tmp_path: Path) -> None:
    with database.session_factory() as session, session.begin():
        partner = factories.user(session, Role.PARTNER)
        email, secret = partner.email, partner.totp_secret
    assert secret is not None
    env = _environment(database, tmp_path / "data")
    log = tmp_path / "server.log"

    server, base = _start(env, log)
    try:
        signed_in = httpx.post(
            f"{base}/api/v1/session",
            json={
                "email": email,
                "password": factories.PASSWORD,
                "totp_code": totp.code_at(secret),
            },
            timeout=REQUEST_TIMEOUT,
        )
        assert signed_in.status_code == 201, signed_in.text
        cookies, csrf = signed_in.cookies, signed_in.json()["csrf_token"]

        load, stop = Load(), threading.Event()
        threads = [
            threading.Thread(target=_submit, args=(base, cookies, csrf, number, load, stop))
            for number in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        try:
            assert load.first_ack.wait(timeout=30), "no report was acknowledged"
            time.sleep(LOAD_SECONDS)
            os.kill(server.pid, signal.SIGKILL)  # mid-stream: requests are in flight
            server.wait(timeout=30)
            time.sleep(0.3)  # let the clients see the dead server
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=REQUEST_TIMEOUT + 5)
        assert not any(thread.is_alive() for thread in threads)
        assert server.returncode == -signal.SIGKILL
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)

    with load.lock:
        acknowledged = dict(load.acknowledged)
        assert load.other_answers == [], load.other_answers  # never a 5xx under load
    assert len(acknowledged) >= 10, "the load generator barely ran"

    server, base = _start(env, log)  # recovery: the SQLite WAL or PostgreSQL's own
    try:
        _check_database(database, acknowledged, load.sent)
        with httpx.Client(base_url=base, cookies=cookies, timeout=REQUEST_TIMEOUT) as client:
            for case_id, (reference, summary) in acknowledged.items():
                served = client.get(f"/api/v1/cases/{case_id}")
                assert served.status_code == 200, served.text
                assert (served.json()["reference"], served.json()["summary"]) == (
                    reference,
                    summary,
                )
    finally:
        _stop(server)


def _check_database(
    database: TestDatabase, acknowledged: dict[str, tuple[str, str]], sent: set[str]
) -> None:
    with database.session_factory() as session:
        stored = {case.id: case for case in session.scalars(select(Case))}
        missing = set(acknowledged) - set(stored)
        assert not missing, f"{len(missing)} acknowledged report(s) lost"
        for case_id, (reference, summary) in acknowledged.items():
            assert (stored[case_id].reference, stored[case_id].summary) == (reference, summary)
        # Any report in the database (acknowledged or caught by the kill) is whole.
        created = set(
            session.scalars(
                select(CaseEvent.case_id).where(CaseEvent.kind == CaseEventKind.CREATED)
            )
        )
        audited = set(
            session.scalars(select(AuditEntry.entity_id).where(AuditEntry.action == "case.create"))
        )
        for case_id, case in stored.items():
            assert case.summary in sent  # decrypts, and is one we sent
            assert case_id in created, "a report without its CREATED event"
            assert case_id in audited, "a report without its audit entry"
        result = audit.verify(session, database.keyring)
        assert result.ok, result
