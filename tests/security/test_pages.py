"""The audit log page for auditors."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from hrdshield.security.rbac import Role
from tests import factories
from tests.conftest import TestDatabase


def test_auditor_reads_the_log_and_checks_the_chain(
    client: TestClient, database: TestDatabase
) -> None:
    with database.session_factory() as session, session.begin():
        auditor = factories.user(session, Role.AUDITOR)
        factories.defender(session)
    factories.sign_in(client, auditor)
    page = client.get("/staff/audit")
    assert page.status_code == 200
    assert "defender.enrol" in page.text
    checked = client.get("/staff/audit?verify=1")
    assert "entries verified" in checked.text
    assert 'role="status"' in checked.text


def test_a_broken_chain_is_shown_as_an_alert(client: TestClient, database: TestDatabase) -> None:
    with database.session_factory() as session, session.begin():
        auditor = factories.user(session, Role.AUDITOR)
        factories.defender(session)
    with database.engine.begin() as connection:
        if database.backend == "postgresql":
            connection.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
        else:
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
        connection.execute(text("UPDATE audit_log SET action = 'nothing.happened' WHERE seq = 2"))
    factories.sign_in(client, auditor)
    page = client.get("/staff/audit?verify=1")
    assert 'role="alert"' in page.text
    assert "entry 2" in page.text


def test_bad_paging_input_is_a_readable_error(client: TestClient, database: TestDatabase) -> None:
    with database.session_factory() as session, session.begin():
        auditor = factories.user(session, Role.AUDITOR)
    factories.sign_in(client, auditor)
    page = client.get("/staff/audit?before=-4")
    assert page.status_code == 422
    assert "text/html" in page.headers["content-type"]
