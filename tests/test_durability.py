"""An acknowledged report survives SIGKILL of the server: present after restart, never half-written.

The real server runs as a subprocess on loopback against the test's database. A few threads post
reports as a signed-in partner; after a second or two of load the server is killed with SIGKILL,
restarted, and every report that got a 201 must be in the database, whole (its summary decrypts,
its timeline has its CREATED event, the audit log has its entry and verifies) and served again.
"""

from __future__ import annotations

import os
import signal
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
from hrdshield.security import audit
from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Role
from tests import factories, servers
from tests.conftest import TestDatabase

CLIENTS = 4
LOAD_SECONDS = 1.5
REQUEST_TIMEOUT = 10.0
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


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


@pytest.mark.parametrize("workers", [1, 2])
def test_acknowledged_reports_survive_sigkill(
    database: TestDatabase, tmp_path: Path, workers: int
) -> None:
    """With several workers, SIGKILL of the supervisor takes its workers down with it."""
    with database.session_factory() as session, session.begin():
        partner = factories.user(session, Role.PARTNER)
        email, secret = partner.email, partner.totp_secret
    assert secret is not None
    env = servers.environment(database, tmp_path / "data")
    log = tmp_path / "server.log"

    server, base = servers.start(env, log, workers)
    workers_of = servers.children(server.pid)
    try:
        cookies, csrf = servers.sign_in(base, email, secret)

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
            _wait_until_gone(workers_of)
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

    server, base = servers.start(env, log, workers)  # recovery: the WAL, SQLite's or PostgreSQL's
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
        servers.stop(server)


def _wait_until_gone(pids: set[int]) -> None:
    deadline = time.monotonic() + 30
    while any(servers.is_running(pid) for pid in pids):
        assert time.monotonic() < deadline, "a worker outlived its killed supervisor"
        time.sleep(0.05)


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
