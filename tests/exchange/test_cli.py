"""`hrdshield indicators import` and `list` with the real feeds, through click's CliRunner."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from hrdshield import cli
from hrdshield.exchange.models import Indicator
from hrdshield.security.models import AuditEntry
from tests.conftest import MASTER_KEY, TestDatabase
from tests.exchange.bundles import EAGLE, RCS, feed


@pytest.fixture
def environment(database: TestDatabase, tmp_path: Path) -> dict[str, str]:
    return {
        "HRDSHIELD_DATABASE_URL": database.url,
        "HRDSHIELD_DATA_DIR": str(tmp_path / "data"),
        "HRDSHIELD_MASTER_KEY": base64.b64encode(MASTER_KEY).decode(),
    }


def _run(environment: dict[str, str], *arguments: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.main, ["indicators", *arguments], env=environment)
    return result.exit_code, result.output


def test_import_prints_counts_by_type_and_reasons(
    environment: dict[str, str], database: TestDatabase
) -> None:
    code, output = _run(environment, "import", str(feed(RCS)))
    assert code == 0, output
    assert "source 'RCSLab': 40 indicators read" in output
    assert "imported 35, updated 0, unchanged 0, revoked 0, skipped 5" in output
    assert "domain-name    26" in output
    assert "file:sha-256   9" in output
    assert "app                5  object type not matched by HRD Shield" in output

    code, output = _run(environment, "import", str(feed(RCS)))
    assert code == 0, output
    assert "imported 0, updated 0, unchanged 35, revoked 0, skipped 5" in output

    code, output = _run(environment, "import", str(feed(EAGLE)), "--source", "Lookout feed")
    assert code == 0, output
    assert "source 'Lookout feed'" in output
    assert "ipv4-addr      13" in output

    with database.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Indicator)) == 86
        audited = session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "indicators.import", AuditEntry.actor_id == "cli")
        )
        assert audited == 3

    code, output = _run(environment, "list")
    assert code == 0, output
    assert "RCSLab: 35 active of 35 indicators (domain-name 26, file:sha-256 9); imports: 2" in (
        output
    )
    assert "Lookout feed: 51 active of 51 indicators" in output


def test_a_malformed_file_fails_with_its_name_and_stores_nothing(
    environment: dict[str, str], database: TestDatabase, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.stix2"
    broken.write_text('{"type": "bundle", "id": "bundle--x", "objects": []}', encoding="utf-8")
    code, output = _run(environment, "import", str(broken))
    assert code == 1
    assert f"Error: {broken}: the bundle has no valid" in output
    code, output = _run(environment, "import", str(tmp_path / "missing.stix2"))
    assert code == 2
    assert "does not exist" in output
    with database.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Indicator)) == 0


def test_list_says_when_nothing_was_imported(environment: dict[str, str]) -> None:
    assert _run(environment, "list") == (0, "no indicator feed has been imported yet\n")
