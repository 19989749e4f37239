"""One case from intake to outcome through the real application's pages, with real SMTP.

A Spanish-speaking defender reports with a screenshot; the receipt e-mail arrives in Spanish;
the case appears only in the Spanish-speaking reviewer's queue; a lead triages it, which assigns
it by language; the reviewer writes an internal note and closes the case; the triage and outcome
e-mails arrive in Spanish, each once, and none of them carries the report or the note.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdshield.cases.enums import CaseStatus
from hrdshield.cases.models import Case
from hrdshield.notify import tasks
from hrdshield.notify.enums import NotificationChannel
from hrdshield.security.rbac import Role
from tests import factories
from tests.cases.test_evidence_sniff import png
from tests.cases.test_report_pages import CODE_ON_PAGE, fast_receipt_hashing, report_form, wire
from tests.conftest import TestDatabase
from tests.notify.conftest import SmtpServer

NARRATIVE = "Prueba sintética: publicaron la dirección de mi casa y dicen que vendrán esta noche."
NOTE = "Nota interna sintética: la organización aliada confirma la amenaza."
DEFENDER_ADDRESS = "defensora.sintetica@example.test"


@pytest.fixture(autouse=True)
def _report_routes(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    wire(app)
    fast_receipt_hashing(monkeypatch)


def _deliver(database: TestDatabase, smtp: SmtpServer) -> None:
    report = tasks.deliver_due(
        session_factory=database.session_factory,
        channels={NotificationChannel.EMAIL: smtp.channel()},
    )
    assert report.failed == report.retrying == 0


def _page_form(client: TestClient, path: str, **fields: str) -> Any:
    """Send one of the case page's forms as a browser does, with the page's CSRF token."""
    page = client.get(path)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, path
    return client.post(
        f"{path}/{fields.pop('action')}",
        data={"csrf_token": token.group(1), **fields},
        follow_redirects=False,
    )


def _staff(app: FastAPI, session: Session, role: Role, languages: str = "") -> tuple[Any, Any]:
    user = factories.user(session, role)
    user.languages = languages
    session.commit()
    client = TestClient(app)
    factories.sign_in(client, user)
    del client.headers["x-csrf-token"]  # pages send the form's own token
    return user, client


def test_from_report_to_outcome_in_the_defender_s_language(
    app: FastAPI,
    client: TestClient,
    session: Session,
    database: TestDatabase,
    smtp_server: SmtpServer,
) -> None:
    hrd = factories.user(session, Role.HRD)
    factories.defender(
        session,
        factories.principal(hrd),
        languages=["es"],
        contact_channel="email",
        contact_address=DEFENDER_ADDRESS,
    )
    spanish, spanish_client = _staff(app, session, Role.REVIEWER, "es")
    _english, english_client = _staff(app, session, Role.REVIEWER, "en")
    _lead, lead_client = _staff(app, session, Role.LEAD)

    # 1. the defender reports, signed in, from the Spanish form, with a screenshot
    factories.sign_in(client, hrd)
    del client.headers["x-csrf-token"]
    form = report_form(client, "es", narrative=NARRATIVE, category="doxxing", relation="")
    sent = client.post(
        "/report?lang=es",
        data=form,
        files=[("evidence", ("captura.png", png(64, 32), "image/png"))],
    )
    assert sent.status_code == 200, sent.text
    assert CODE_ON_PAGE.search(sent.text)
    with database.session_factory() as fresh:
        opened = fresh.scalars(select(Case)).one()
    case_path = f"/staff/cases/{opened.id}"
    assert opened.language == "es"
    _deliver(database, smtp_server)
    [receipt] = smtp_server.messages
    assert receipt["To"] == DEFENDER_ADDRESS
    assert receipt["Subject"] == f"Hemos recibido su denuncia {opened.reference}"

    # 2. only the reviewer who covers Spanish has it in their queue
    assert opened.reference in spanish_client.get("/staff/queue").text
    assert opened.reference not in english_client.get("/staff/queue").text

    # 3. a lead triages it: the Spanish-speaking reviewer is assigned
    triaged = _page_form(lead_client, case_path, action="triage", severity="critical")
    assert triaged.status_code == 303
    with database.session_factory() as fresh:
        worked = fresh.get(Case, opened.id)
        assert worked is not None
        assert (worked.status, worked.assignee_id) == (CaseStatus.TRIAGED, spanish.id)
    assert "<td>You</td>" in spanish_client.get("/staff/queue").text

    # 4. the reviewer notes what the partner said, in an internal note
    noted = _page_form(spanish_client, case_path, action="notes", body=NOTE)
    assert noted.status_code == 303
    assert NOTE in spanish_client.get(case_path).text
    _deliver(database, smtp_server)
    assert smtp_server.messages[1]["Subject"] == f"Su denuncia {opened.reference} está en trámite"

    # 5. the case is closed: the outcome is announced
    closed = _page_form(spanish_client, case_path, action="status", status="closed")
    assert closed.status_code == 303
    _deliver(database, smtp_server)
    subjects = [str(message["Subject"]) for message in smtp_server.messages]
    assert subjects == [
        f"Hemos recibido su denuncia {opened.reference}",
        f"Su denuncia {opened.reference} está en trámite",
        f"Decisión sobre su denuncia {opened.reference}",
    ]
    assert all(count == 1 for count in smtp_server.message_ids().values())
    for message in smtp_server.messages:
        assert message["Content-Language"] == "es"
        assert message["To"] == DEFENDER_ADDRESS
        body = message.get_content()
        assert NARRATIVE not in body
        assert NOTE not in body

    # 6. the defender follows it in the portal, where the internal note never shows
    portal = client.get(f"/portal/cases/{opened.id}?lang=es")
    assert portal.status_code == 200
    assert "Cerrado" in portal.text
    assert NOTE not in portal.text
    _deliver(database, smtp_server)
    assert len(smtp_server.messages) == 3  # nothing is sent twice
