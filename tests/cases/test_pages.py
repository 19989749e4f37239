"""Reviewers' pages: the queue and working one case, with plain HTML forms."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdshield.cases import service, sla, workflow
from hrdshield.cases.enums import CaseCategory, Severity
from hrdshield.cases.schemas import CaseCreate
from hrdshield.notify import service as notifications
from hrdshield.notify.enums import NotificationStatus
from hrdshield.security.rbac import Role
from tests import factories
from tests.conftest import TestDatabase
from tests.notify.conftest import SmtpServer


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


def test_a_reviewer_sends_a_failed_notification_again(
    client: TestClient, session: Session, database: TestDatabase, smtp_server: SmtpServer
) -> None:
    from hrdshield.notify import tasks  # noqa: PLC0415
    from hrdshield.notify.enums import NotificationChannel  # noqa: PLC0415
    from hrdshield.notify.models import Notification  # noqa: PLC0415
    from hrdshield.security.models import AuditEntry  # noqa: PLC0415

    reviewer = factories.user(session, Role.REVIEWER)
    defender = factories.defender(session, contact_address="defender@example.test")
    opened = service.create(
        session=session,
        actor=factories.principal(reviewer),
        case_in=CaseCreate(category=CaseCategory.HARASSMENT, summary="s", defender_id=defender.id),
    )
    session.commit()
    smtp_server.handler.data_reply = "550 mailbox unavailable"  # a permanent refusal
    channels = {NotificationChannel.EMAIL: smtp_server.channel()}
    tasks.deliver_due(session_factory=database.session_factory, channels=channels)
    factories.sign_in(client, reviewer)
    page = client.get(f"/staff/cases/{opened.id}")
    assert "Failed" in page.text
    with database.session_factory() as fresh:
        [failed] = fresh.scalars(select(Notification)).all()
    action = f"/staff/cases/{opened.id}/notifications/{failed.id}/requeue"
    assert f'action="{action}"' in page.text

    del client.headers["x-csrf-token"]
    assert client.post(action).status_code == 403  # the form's CSRF token is needed
    token = factories.csrf_token(client, f"/staff/cases/{opened.id}")
    other = service.create(
        session=session,
        actor=factories.principal(reviewer),
        case_in=CaseCreate(category=CaseCategory.HARASSMENT, summary="other"),
    )
    session.commit()
    wrong_case = f"/staff/cases/{other.id}/notifications/{failed.id}/requeue"
    assert client.post(wrong_case, data={"csrf_token": token}).status_code == 404

    requeued = client.post(action, data={"csrf_token": token}, follow_redirects=False)

    assert requeued.status_code == 303
    assert (
        "The notification will be sent again shortly."
        in client.get(requeued.headers["location"]).text
    )
    assert client.post(action, data={"csrf_token": token}).status_code == 409  # not failed now
    with database.session_factory() as fresh:
        again = fresh.get(Notification, failed.id)
        assert again is not None
        assert (again.status, again.attempts) == (NotificationStatus.PENDING, 0)
        audit_actor = fresh.scalar(
            select(AuditEntry.actor_id).where(AuditEntry.action == "notification.requeue")
        )
    assert audit_actor == reviewer.id
    smtp_server.handler.data_reply = None
    assert tasks.deliver_due(session_factory=database.session_factory, channels=channels).sent == 1
    assert [str(message["To"]) for message in smtp_server.messages] == ["defender@example.test"]
