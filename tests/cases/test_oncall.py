"""The on-call roster, and the escalation alerts it routes, with a frozen clock and real SMTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.accounts.models import User
from hrdshield.cases import oncall, service, sla
from hrdshield.cases.enums import CaseCategory, OnCallDuty, Severity
from hrdshield.cases.schemas import CaseCreate
from hrdshield.errors import NotFound, ValidationProblem
from hrdshield.notify import tasks
from hrdshield.notify.channels import InAppChannel
from hrdshield.notify.enums import NotificationChannel, TemplateKey
from hrdshield.notify.models import InboxMessage, Notification
from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Role
from tests import factories
from tests.conftest import TestDatabase
from tests.notify.conftest import SmtpServer

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
POLICY = sla.SlaPolicy()  # critical: 60 minutes; head of response at 90
NARRATIVE = "Synthetic: they posted the shelter's address and a threat."


def _person(session: Session, role: Role = Role.LEAD, language: str | None = None) -> User:
    person = factories.user(session, role)
    person.ui_language = language
    session.flush()
    return person


def _shift(session: Session, duty: OnCallDuty, person: User, start: datetime, hours: int | None):
    actor = factories.principal(factories.user(session, Role.ADMIN))
    ends = start + timedelta(hours=hours) if hours is not None else None
    return oncall.add_shift(
        session=session, actor=actor, duty=duty, user_id=person.id, starts_at=start, ends_at=ends
    )


def test_the_latest_shift_covering_a_moment_holds_the_duty(session: Session) -> None:
    early, late, head = _person(session), _person(session), _person(session, Role.ADMIN)
    _shift(session, OnCallDuty.LEAD, early, START, 12)
    _shift(session, OnCallDuty.LEAD, late, START + timedelta(hours=4), 2)  # a swap mid-shift
    _shift(session, OnCallDuty.HEAD_OF_RESPONSE, head, START - timedelta(days=30), None)

    def lead_at(hours: float) -> str | None:
        holder = oncall.on_duty(
            session=session, duty=OnCallDuty.LEAD, at=START + timedelta(hours=hours)
        )
        return holder.id if holder else None

    assert lead_at(-0.5) is None
    assert lead_at(0) == early.id
    assert lead_at(4) == late.id
    assert lead_at(5.99) == late.id
    assert lead_at(6) == early.id  # the swap ended: back to the longer shift
    assert lead_at(12) is None  # an end is exclusive
    head_now = oncall.on_duty(session=session, duty=OnCallDuty.HEAD_OF_RESPONSE, at=START)
    assert head_now is not None
    assert head_now.id == head.id
    late.is_active = False
    session.flush()
    assert lead_at(4) == early.id  # a deactivated account holds no duty


@pytest.mark.parametrize(
    ("duty", "role", "hours", "error"),
    [
        (OnCallDuty.LEAD, Role.REVIEWER, 8, NotFound),
        (OnCallDuty.LEAD, Role.ADMIN, 8, NotFound),
        (OnCallDuty.HEAD_OF_RESPONSE, Role.AUDITOR, None, NotFound),
        (OnCallDuty.LEAD, Role.LEAD, None, ValidationProblem),  # a lead shift needs an end
        (OnCallDuty.LEAD, Role.LEAD, 24 * 32, ValidationProblem),
        (OnCallDuty.LEAD, Role.LEAD, -1, ValidationProblem),
    ],
)
def test_bad_shifts_are_refused_and_change_nothing(
    session: Session, duty: OnCallDuty, role: Role, hours: int | None, error: type[Exception]
) -> None:
    person = _person(session, role)
    with pytest.raises(error):
        _shift(session, duty, person, START, hours)
    assert oncall.roster(session=session, now=START - timedelta(days=1)) == []


def test_roster_changes_are_audited(session: Session) -> None:
    shift = _shift(session, OnCallDuty.LEAD, _person(session), START, 8)
    actor = factories.principal(factories.user(session, Role.LEAD))
    oncall.remove_shift(session=session, actor=actor, shift_id=shift.id)
    actions = session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_id == shift.id).order_by(AuditEntry.seq)
    ).all()
    assert actions == ["oncall.add", "oncall.remove"]
    with pytest.raises(NotFound):
        oncall.remove_shift(session=session, actor=actor, shift_id=shift.id)


def _critical_case(database: TestDatabase) -> tuple[str, str]:
    with clock.frozen(START), database.session_factory() as session, session.begin():
        reporter = factories.principal(factories.user(session, Role.REVIEWER))
        opened = service.create(
            session=session,
            actor=reporter,
            case_in=CaseCreate(
                category=CaseCategory.THREAT_OF_VIOLENCE,
                summary="Synthetic threat",
                narrative=NARRATIVE,
                severity=Severity.CRITICAL,
            ),
            policy=POLICY,
        )
        return opened.id, opened.reference


def _tick_and_deliver(database: TestDatabase, smtp: SmtpServer, minutes: int) -> None:
    at = START + timedelta(minutes=minutes)
    with clock.frozen(at):
        with database.session_factory() as session, session.begin():
            sla.tick(session=session, policy=POLICY)
        tasks.deliver_due(
            session_factory=database.session_factory,
            channels={
                NotificationChannel.EMAIL: smtp.channel(),
                NotificationChannel.IN_APP: InAppChannel(database.session_factory),
            },
        )


def _recipients(smtp: SmtpServer) -> list[str]:
    return [str(message["To"]) for message in smtp.messages]


def test_an_unacknowledged_critical_case_alerts_lead_then_head_once_each(
    database: TestDatabase, smtp_server: SmtpServer
) -> None:
    with database.session_factory() as session, session.begin():
        lead = _person(session, language="es")
        head = _person(session, language="ar")
        _person(session)  # another lead, not on duty: never alerted
        _shift(session, OnCallDuty.LEAD, lead, START - timedelta(hours=1), 12)
        _shift(session, OnCallDuty.HEAD_OF_RESPONSE, head, START - timedelta(days=3), None)
        lead_email, head_email, lead_id, head_id = lead.email, head.email, lead.id, head.id
    case_id, reference = _critical_case(database)

    _tick_and_deliver(database, smtp_server, 59)
    assert smtp_server.messages == []

    _tick_and_deliver(database, smtp_server, 60)
    assert _recipients(smtp_server) == [lead_email]
    to_lead = smtp_server.messages[0]
    assert to_lead["Subject"] == f"Plazo de respuesta incumplido: caso {reference}"
    assert to_lead["Content-Language"] == "es"
    assert NARRATIVE not in to_lead.get_content()
    assert "Synthetic threat" not in to_lead.get_content()

    for minutes in (61, 75, 89):
        _tick_and_deliver(database, smtp_server, minutes)
    assert _recipients(smtp_server) == [lead_email]  # no second alert to the lead

    _tick_and_deliver(database, smtp_server, 90)
    assert _recipients(smtp_server) == [lead_email, head_email]
    to_head = smtp_server.messages[1]
    assert to_head["Subject"] == f"تصعيد: الحالة {reference} لا تزال دون استجابة"

    for minutes in (91, 180, 24 * 60):
        _tick_and_deliver(database, smtp_server, minutes)
    assert smtp_server.message_ids().most_common(1)[0][1] == 1
    assert len(smtp_server.messages) == 2
    with database.session_factory() as session:
        inbox = session.scalars(select(InboxMessage).order_by(InboxMessage.created_at)).all()
        assert [(item.user_id, item.language) for item in inbox] == [
            (lead_id, "es"),
            (head_id, "ar"),
        ]
        sent = session.scalars(select(Notification).where(Notification.case_id == case_id)).all()
        assert sorted(n.template.value for n in sent) == sorted(
            [TemplateKey.ESCALATION_LEAD.value] * 2 + [TemplateKey.ESCALATION_HEAD.value] * 2
        )
        assert all(n.sent_at is not None for n in sent)


def test_with_nobody_on_duty_every_lead_is_alerted(
    database: TestDatabase, smtp_server: SmtpServer
) -> None:
    with database.session_factory() as session, session.begin():
        emails = sorted(_person(session).email for _ in range(2))
        _person(session, Role.REVIEWER)
    _critical_case(database)
    _tick_and_deliver(database, smtp_server, 60)
    assert sorted(_recipients(smtp_server)) == emails


def test_with_no_on_call_lead_the_head_of_response_hears_at_the_target(
    database: TestDatabase, smtp_server: SmtpServer
) -> None:
    with database.session_factory() as session, session.begin():
        head = _person(session, Role.ADMIN)
        _person(session)  # a lead, but the head of response is designated
        _shift(session, OnCallDuty.HEAD_OF_RESPONSE, head, START, None)
        head_email = head.email
    _critical_case(database)
    _tick_and_deliver(database, smtp_server, 60)
    assert _recipients(smtp_server) == [head_email]
    assert smtp_server.messages[0]["Subject"].startswith("Response target missed")


# --- page and API ---------------------------------------------------------------------------------


def _lead_client(client: TestClient, session: Session) -> User:
    lead = factories.user(session, Role.LEAD)
    session.commit()
    factories.sign_in(client, lead)
    return lead


def test_a_lead_manages_the_roster_from_the_staff_page(
    client: TestClient, session: Session, database: TestDatabase
) -> None:
    lead = _lead_client(client, session)
    page = client.get("/staff/oncall")
    assert page.status_code == 200
    assert 'href="/staff/oncall"' in page.text
    assert f'value="{lead.id}"' in page.text
    token = factories.csrf_token(client, "/staff/oncall")
    added = client.post(
        "/staff/oncall",
        data={
            "csrf_token": token,
            "duty": "lead",
            "user_id": lead.id,
            "starts_at": "2026-12-01T08:00",
            "ends_at": "2026-12-01T20:00",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    with clock.frozen(START), database.session_factory() as fresh:
        holder = oncall.on_duty(session=fresh, duty=OnCallDuty.LEAD)
        assert holder is not None
        assert holder.id == lead.id
        [shift] = oncall.roster(session=fresh)
    with clock.frozen(START):
        roster = client.get("/staff/oncall")
    assert "2026-12-01 20:00" in roster.text
    assert "The roster was changed." not in roster.text

    refused = client.post(
        "/staff/oncall?lang=fr",
        data={"csrf_token": token, "duty": "lead", "user_id": lead.id, "starts_at": "tomorrow"},
    )
    assert refused.status_code == 400
    assert 'role="alert"' in refused.text
    assert "enter the times" not in refused.text  # in French

    removed = client.post(
        f"/staff/oncall/{shift.id}/remove", data={"csrf_token": token}, follow_redirects=False
    )
    assert removed.status_code == 303
    with database.session_factory() as fresh:
        assert oncall.roster(session=fresh, now=START) == []


def test_the_roster_api(client: TestClient, session: Session) -> None:
    lead = _lead_client(client, session)
    body: dict[str, Any] = {
        "duty": "head_of_response",
        "user_id": lead.id,
        "starts_at": "2026-12-01T08:00:00Z",
    }
    created = client.post("/api/v1/oncall", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["ends_at"] is None
    listed = client.get("/api/v1/oncall")
    assert [item["id"] for item in listed.json()] == [created.json()["id"]]
    factories.problem(client.post("/api/v1/oncall", json={**body, "starts_at": "2026-12-01"}), 422)
    factories.problem(client.post("/api/v1/oncall", json={**body, "user_id": "0" * 32}), 404)
    assert client.delete(f"/api/v1/oncall/{created.json()['id']}").status_code == 204
    assert client.get("/api/v1/oncall").json() == []


def test_staff_see_their_alerts_on_their_home_page(
    database: TestDatabase, smtp_server: SmtpServer, client: TestClient
) -> None:
    with database.session_factory() as session, session.begin():
        lead = _person(session)
        _shift(session, OnCallDuty.LEAD, lead, START, 8)
    _, reference = _critical_case(database)
    _tick_and_deliver(database, smtp_server, 60)
    factories.sign_in(client, lead)
    home = client.get("/staff")
    assert "Alerts for you" in home.text
    assert f"Response target missed: case {reference}" in home.text
