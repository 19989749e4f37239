"""Reviewers' pages: the queue and working one case, with plain HTML forms."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from hrdshield.cases import service, sla, workflow
from hrdshield.cases.enums import CaseCategory, Severity
from hrdshield.cases.schemas import CaseCreate
from hrdshield.notify import service as notifications
from hrdshield.notify.enums import NotificationStatus
from hrdshield.security.rbac import Role
from tests import factories
from tests.conftest import TestDatabase


def _token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    return found.group(1)


def test_reviewer_works_a_case_from_the_queue(client: TestClient, database: TestDatabase) -> None:
    with database.session_factory() as session, session.begin():
        reviewer = factories.user(session, Role.REVIEWER)
        reviewer.languages = "en"
        partner = factories.principal(factories.user(session, Role.PARTNER))
        opened = service.create(
            session=session,
            actor=partner,
            case_in=CaseCreate(
                category=CaseCategory.DOXXING,
                summary="<script>alert(1)</script> posted my address",
                language="en",
            ),
            policy=sla.SlaPolicy(),
        )
    factories.sign_in(client, reviewer)

    queue = client.get("/staff/queue")
    assert queue.status_code == 200
    assert opened.reference in queue.text
    assert "Trusted partner" in queue.text
    assert "Due in" in queue.text

    page = client.get(f"/staff/cases/{opened.id}")
    assert "&lt;script&gt;" in page.text  # the reporter's words are shown, never run
    token = _token(page.text)
    triaged = client.post(
        f"/staff/cases/{opened.id}/triage", data={"csrf_token": token, "severity": "critical"}
    )
    assert triaged.status_code == 200
    assert "Acknowledged" in triaged.text
    noted = client.post(
        f"/staff/cases/{opened.id}/notes",
        data={"csrf_token": token, "body": "Spoke to the partner"},
    )
    assert "Spoke to the partner" in noted.text
    moved = client.post(
        f"/staff/cases/{opened.id}/status", data={"csrf_token": token, "status": "in_progress"}
    )
    assert "In progress" in moved.text
    refused = client.post(
        f"/staff/cases/{opened.id}/status", data={"csrf_token": token, "status": "new"}
    )
    assert refused.status_code == 409
    assert "cannot become new" in refused.text
    empty_note = client.post(
        f"/staff/cases/{opened.id}/notes", data={"csrf_token": token, "body": " "}
    )
    assert empty_note.status_code == 422


def test_case_pages_in_arabic_are_right_to_left(client: TestClient, database: TestDatabase) -> None:
    with database.session_factory() as session, session.begin():
        reviewer = factories.user(session, Role.REVIEWER)
    factories.sign_in(client, reviewer)
    page = client.get("/staff/queue?lang=ar")
    assert '<html lang="ar" dir="rtl">' in page.text
    assert "Case queue" not in page.text


def test_defender_follows_their_case_in_the_portal_without_seeing_notes(
    client: TestClient, database: TestDatabase
) -> None:
    with database.session_factory() as session, session.begin():
        hrd_user = factories.user(session, Role.HRD)
        defender = factories.defender(session, actor=factories.principal(hrd_user))
        hrd = factories.principal(hrd_user, defender_id=defender.id)
        reviewer = factories.principal(factories.user(session, Role.REVIEWER))
        opened = service.create(
            session=session,
            actor=hrd,
            case_in=CaseCreate(category=CaseCategory.IMPERSONATION, summary="A copy of my account"),
            policy=sla.SlaPolicy(),
        )
        workflow.triage(
            session=session,
            actor=reviewer,
            case_id=opened.id,
            severity=Severity.MEDIUM,
            policy=sla.SlaPolicy(),
        )
        workflow.add_note(
            session=session,
            actor=reviewer,
            case_id=opened.id,
            body="Qzinternal reviewer assessment",
        )
        other_user = factories.user(session, Role.HRD)
    factories.sign_in(client, hrd_user)
    portal = client.get("/portal")
    assert opened.reference in portal.text
    page = client.get(f"/portal/cases/{opened.id}")
    assert page.status_code == 200
    assert "Triaged" in page.text
    assert "Qzinternal" not in page.text
    stranger = TestClient(client.app)
    factories.sign_in(stranger, other_user)
    assert stranger.get(f"/portal/cases/{opened.id}").status_code == 404


def test_case_page_shows_delivery_failures_of_notifications(
    client: TestClient, database: TestDatabase
) -> None:
    with database.session_factory() as session, session.begin():
        reviewer = factories.user(session, Role.REVIEWER)
        defender = factories.defender(
            session, contact_channel="email", contact_address="defender@example.test"
        )
        opened = service.create(
            session=session,
            actor=factories.principal(reviewer),
            case_in=CaseCreate(
                category=CaseCategory.HARASSMENT, summary="pile-on", defender_id=defender.id
            ),
            policy=sla.SlaPolicy(),
        )
        (receipt,) = notifications.list_for_case(session=session, case_id=opened.id)
        receipt.status, receipt.attempts = NotificationStatus.FAILED, 8
        receipt.last_error = "SMTP 550"
    factories.sign_in(client, reviewer)
    page = client.get(f"/staff/cases/{opened.id}")
    assert "SMTP 550" in page.text
    assert "Failed" in page.text
    assert "defender@example.test" not in page.text  # the address stays out of the page
