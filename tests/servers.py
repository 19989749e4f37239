"""Real `hrdshield serve` processes on loopback for tests: start, wait until ready, stop."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hrdshield.security import totp
from tests import factories
from tests.conftest import MASTER_KEY, TestDatabase

START_TIMEOUT = 60.0


def free_port() -> int:
    """Return a loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def environment(database: TestDatabase, data_dir: Path, **settings: str) -> dict[str, str]:
    """Return the environment of a server on the test's database; `settings` add HRDSHIELD_*."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HRDSHIELD_")}
    env.update(
        {
            "HRDSHIELD_DATABASE_URL": database.url,
            "HRDSHIELD_DATA_DIR": str(data_dir),
            "HRDSHIELD_MASTER_KEY": base64.b64encode(MASTER_KEY).decode(),
            "HRDSHIELD_SECRET_KEY": "server-test-secret-key-long-enough",
            "HRDSHIELD_COOKIE_SECURE": "false",
            "HRDSHIELD_ENVIRONMENT": "test",
            "HRDSHIELD_LOG_LEVEL": "WARNING",
        }
    )
    env.update({f"HRDSHIELD_{name.upper()}": value for name, value in settings.items()})
    return env


def start(
    env: dict[str, str], log: Path, workers: int | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """Start a server writing to `log`; return it and its base URL once it answers /readyz."""
    port = free_port()
    command = [sys.executable, "-m", "hrdshield", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    if workers is not None:
        command += ["--workers", str(workers)]
    with log.open("ab") as output:
        server = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
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


def stop(server: subprocess.Popen[bytes]) -> None:
    """Ask the server to stop (SIGTERM), killing it only if it does not within 30 s."""
    if server.poll() is None:
        server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def children(pid: int) -> set[int]:
    """Return the ids of the live child processes of `pid` (Linux /proc)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.update(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def is_running(pid: int) -> bool:
    """Return whether process `pid` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def sign_in(base: str, email: str, totp_secret: str) -> tuple[httpx.Cookies, str]:
    """Sign a user in on the server at `base`; return the session cookies and the CSRF token."""
    signed_in = httpx.post(
        f"{base}/api/v1/session",
        json={
            "email": email,
            "password": factories.PASSWORD,
            "totp_code": totp.code_at(totp_secret),
        },
        timeout=30,
    )
    assert signed_in.status_code == 201, signed_in.text
    return signed_in.cookies, str(signed_in.json()["csrf_token"])
