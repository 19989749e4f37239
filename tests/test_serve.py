"""`hrdshield serve --workers N`: several processes serve, share sign-ins, and stop cleanly.

The real command runs as a subprocess on loopback. Its log says which process runs which
background work; the shared work (SLA ladder, retention, notifier) must run in the supervisor
only, and every worker must refresh its own keys.
"""

from __future__ import annotations

import re
import signal
import sys
from pathlib import Path

import httpx
import pytest

from hrdshield.security import audit
from hrdshield.security.rbac import Role
from tests import factories, servers
from tests.conftest import TestDatabase

WORKERS = 2
REPORTS = 16
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads processes from /proc")
_BACKGROUND = re.compile(r"background work in process (\d+): (.+)$", re.MULTILINE)


def _workers_of(supervisor: int) -> set[int]:
    return {
        pid
        for pid in servers.children(supervisor)
        if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    }


def test_several_workers_serve_one_sign_in_and_stop_cleanly(
    database: TestDatabase, tmp_path: Path
) -> None:
    with database.session_factory() as session, session.begin():
        partner = factories.user(session, Role.PARTNER)
        email, secret = partner.email, partner.totp_secret
    assert secret is not None
    log = tmp_path / "server.log"
    env = servers.environment(database, tmp_path / "data", log_level="INFO")
    server, base = servers.start(env, log, WORKERS)
    try:
        workers = _workers_of(server.pid)
        assert len(workers) == WORKERS
        cookies, csrf = servers.sign_in(base, email, secret)
        for number in range(REPORTS):
            # A new connection each time, accepted by whichever worker is free: the session,
            # the CSRF token and the keys are the same in every process.
            with httpx.Client(base_url=base, cookies=cookies, timeout=30) as client:
                answer = client.post(
                    "/api/v1/cases",
                    json={"category": "harassment", "summary": f"Report {number} across workers"},
                    headers={"X-CSRF-Token": csrf, "Connection": "close"},
                )
                assert answer.status_code == 201, answer.text
                assert client.get(f"/api/v1/cases/{answer.json()['id']}").status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        servers.stop(server)
    assert server.returncode == 0
    assert not any(servers.is_running(pid) for pid in workers)

    output = log.read_text(errors="replace")
    started = {int(pid): names.split(", ") for pid, names in _BACKGROUND.findall(output)}
    assert started == {
        server.pid: [
            "key-refresher",
            "sla-ladder",
            "retention",
            "detection",
            "platform-commands",
            "notifier",
        ],
        **{worker: ["key-refresher"] for worker in workers},
    }
    assert output.count("Application shutdown complete") == WORKERS
    assert "Traceback" not in output
    with database.session_factory() as session:
        result = audit.verify(session, database.keyring)
    assert result.ok, result
