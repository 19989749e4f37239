"""`hrdshield ingest` and `hrdshield platform`, run as operators run them."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from hrdshield import cli
from hrdshield.detection import schema
from hrdshield.detection.models import Alert, DeadLetter
from tests import factories
from tests.conftest import MASTER_KEY, TestDatabase
from tests.detection.streams import StreamBuilder


@pytest.fixture
def environment(database: TestDatabase, tmp_path: Path) -> dict[str, str]:
    return {
        "HRDSHIELD_DATABASE_URL": database.url,
        "HRDSHIELD_DATA_DIR": str(tmp_path / "data"),
        "HRDSHIELD_MASTER_KEY": base64.b64encode(MASTER_KEY).decode(),
    }


def test_ingest_replays_a_file_reports_bad_lines_and_detects(
    environment: dict[str, str], database: TestDatabase, tmp_path: Path
) -> None:
    with database.session_factory() as session, session.begin():
        factories.defender(session, handles=["@demo_hrd_amara"])
    stream = StreamBuilder()
    for number in range(12):
        stream.tick(seconds=20)
        stream.reply(f"brigade{number}", "demo_hrd_amara")
    lines = [json.dumps(schema.to_dict(event)) for event in stream.events]
    lines.insert(3, '{"schema": "hrdshield.event/1", "type": "poke"}')
    source = tmp_path / "events.ndjson"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = CliRunner().invoke(cli.main, ["ingest", str(source)], env=environment)
    assert result.exit_code == 0, result.output
    assert "accepted 12, duplicates 0, rejected 1" in result.output
    assert "line 4: unknown event type 'poke'" in result.output
    assert "examined 12 events: 1 alerts, 1 new incidents" in result.output

    again = CliRunner().invoke(cli.main, ["ingest", str(source)], env=environment)
    assert "accepted 0, duplicates 12, rejected 1" in again.output
    with database.session_factory() as session:
        assert len(session.scalars(select(Alert)).all()) == 1
        assert len(session.scalars(select(DeadLetter)).all()) == 2


def test_ingest_reads_standard_input(environment: dict[str, str]) -> None:
    stream = StreamBuilder()
    stream.report("someone", "nobody_enrolled")
    text = json.dumps(schema.to_dict(stream.events[0])) + "\n"
    result = CliRunner().invoke(
        cli.main, ["ingest", "-", "--platform", "demo"], input=text, env=environment
    )
    assert result.exit_code == 0, result.output
    assert "accepted 1, duplicates 0, rejected 0" in result.output
    assert "examined 1 events: 0 alerts" in result.output


def test_platform_commands_register_rotate_and_revoke(environment: dict[str, str]) -> None:
    runner = CliRunner()
    added = runner.invoke(cli.main, ["platform", "add", "example-net"], env=environment)
    assert added.exit_code == 0, added.output
    first = added.output.strip().splitlines()[-1]
    assert first.startswith("hrdp_")
    again = runner.invoke(cli.main, ["platform", "add", "example-net"], env=environment)
    assert again.exit_code == 1
    assert "already registered" in again.output
    rotated = runner.invoke(cli.main, ["platform", "rotate", "example-net"], env=environment)
    assert rotated.output.strip().splitlines()[-1] != first
    runner.invoke(cli.main, ["platform", "revoke", "example-net"], env=environment)
    listed = runner.invoke(cli.main, ["platform", "list"], env=environment)
    assert "example-net" in listed.output
    assert "revoked" in listed.output
    assert first not in listed.output
    missing = runner.invoke(cli.main, ["platform", "revoke", "nope"], env=environment)
    assert missing.exit_code == 1
