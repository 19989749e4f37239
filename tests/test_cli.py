"""The `hrdshield` command line, run as users run it."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import httpx
import pytest
from click.testing import CliRunner

from hrdshield import cli, demo_data
from tests.conftest import MASTER_KEY, TestDatabase


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


def test_every_command_has_help() -> None:
    commands = _commands(cli.main)
    assert {
        ("serve",),
        ("migrate",),
        ("demo",),
        ("audit", "verify"),
        ("keys", "rotate"),
        ("user", "add"),
    } <= set(commands)
    for command in commands:
        result = CliRunner().invoke(cli.main, [*command, "--help"], env={})
        assert result.exit_code == 0, (command, result.output)
        assert "Usage:" in result.output


@pytest.fixture
def environment(database: TestDatabase, tmp_path: Path) -> dict[str, str]:
    return {
        "HRDSHIELD_DATABASE_URL": database.url,
        "HRDSHIELD_DATA_DIR": str(tmp_path / "data"),
        "HRDSHIELD_MASTER_KEY": base64.b64encode(MASTER_KEY).decode(),
    }


def test_user_add_creates_a_user_and_refuses_duplicates(environment: dict[str, str]) -> None:
    runner = CliRunner()
    arguments = [
        "user",
        "add",
        "--email",
        "new-lead@example.test",
        "--name",
        "New Lead",
        "--role",
        "lead",
        "--languages",
        "en,es",
        "--regions",
        "mx",
    ]
    created = runner.invoke(
        cli.main, arguments, input="a long enough password\n" * 2, env=environment
    )
    assert created.exit_code == 0, created.output
    assert "created lead user" in created.output
    assert "two-step verification" in created.output
    again = runner.invoke(
        cli.main, arguments, input="a long enough password\n" * 2, env=environment
    )
    assert again.exit_code == 1
    assert "exists" in again.output
    weak = runner.invoke(
        cli.main,
        [*arguments[:3], "other@example.test", *arguments[4:]],
        input="short\nshort\n",
        env=environment,
    )
    assert weak.exit_code == 1
    assert "at least 12 characters" in weak.output


def test_bad_configuration_is_a_clear_error(environment: dict[str, str]) -> None:
    result = CliRunner().invoke(
        cli.main, ["migrate"], env={**environment, "HRDSHIELD_SESSION_HOURS": "many"}
    )
    assert result.exit_code == 1
    assert "HRDSHIELD_SESSION_HOURS" in result.output


def test_demo_refuses_production_and_is_idempotent_elsewhere(environment: dict[str, str]) -> None:
    runner = CliRunner()
    refused = runner.invoke(cli.main, ["demo"], env=environment)
    assert refused.exit_code == 1
    assert "production" in refused.output
    development = {**environment, "HRDSHIELD_ENVIRONMENT": "development"}
    first = runner.invoke(cli.main, ["demo"], env=development)
    assert first.exit_code == 0, first.output
    assert "demo data created" in first.output
    assert demo_data.DEMO_PASSWORD in first.output
    second = runner.invoke(cli.main, ["demo"], env=development)
    assert "already present" in second.output
    code = runner.invoke(cli.main, ["demo", "code"], env=development)
    assert code.output.strip().isdigit()
    assert len(code.output.strip()) == 6


def test_keys_rotate_and_audit_verify(environment: dict[str, str]) -> None:
    runner = CliRunner()
    development = {**environment, "HRDSHIELD_ENVIRONMENT": "development"}
    assert runner.invoke(cli.main, ["demo"], env=development).exit_code == 0
    rotated = runner.invoke(cli.main, ["keys", "rotate", "--settle-seconds", "0"], env=environment)
    assert rotated.exit_code == 0, rotated.output
    assert "re-encrypted" in rotated.output
    verified = runner.invoke(cli.main, ["audit", "verify"], env=environment)
    assert verified.exit_code == 0, verified.output


def test_commands_refuse_an_unmigrated_database(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli.main, ["audit", "verify"], env={"HRDSHIELD_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 1
    assert "hrdshield migrate" in result.output


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_migrate_then_serve_answers_on_loopback(tmp_path: Path) -> None:
    """The real server process: migrate, serve, answer, and print no client address."""
    env = {**os.environ, "HRDSHIELD_DATA_DIR": str(tmp_path), "HRDSHIELD_COOKIE_SECURE": "false"}
    env.pop("HRDSHIELD_DATABASE_URL", None)
    command = [sys.executable, "-m", "hrdshield"]
    subprocess.run([*command, "migrate"], env=env, check=True, capture_output=True, timeout=120)
    port = _free_port()
    server = subprocess.Popen(
        [*command, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert ready.json() == {"status": "ok", "database": "ok"}
        page = httpx.get(f"http://127.0.0.1:{port}/login", timeout=5)
        assert page.status_code == 200
        assert "server" not in page.headers
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert "GET /login 200" in output
    assert "127.0.0.1:" not in output.replace(f"http://127.0.0.1:{port}", "")
