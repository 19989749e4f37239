"""Case work: triage, lifecycle, assignment by language and region, notes, links and merges."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hrdshield.cases import retention, service, sla, workflow
from hrdshield.cases.enums import CaseCategory, CaseEventKind, CaseStatus, Severity
from hrdshield.cases.schemas import CaseCreate
from hrdshield.errors import Conflict, NotFound, ValidationProblem
from hrdshield.notify.models import Notification
from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Principal, Role
from tests import factories
from tests.conftest import TestDatabase

POLICY = sla.SlaPolicy()


def _case(session, actor: Principal, **overrides):  # type: ignore[no-untyped-def]
    values = {"category": CaseCategory.HARASSMENT, "summary": "Replies calling for violence"}
    values.update(overrides)
    return service.create(session=session, actor=actor, case_in=CaseCreate(**values), policy=POLICY)


def test_intake_suggests_severity_from_words_in_several_languages(database: TestDatabase) -> None:
    for text in (
        "We will kill you",
        "Sabemos dónde vives",
        "On va te tuer",
        "سنقتلك",
        "Мы тебя убьём",
    ):
        assert service.suggest_severity(CaseCategory.HARASSMENT, None, text) is Severity.CRITICAL
    assert (
        service.suggest_severity(CaseCategory.DOXXING, None, "They posted her home address")
        is Severity.CRITICAL
    )
    assert (
        service.suggest_severity(CaseCategory.HARASSMENT, None, "rude replies") is Severity.MEDIUM
    )
    assert (
        service.suggest_severity(CaseCategory.HARASSMENT, None, "skilled writer") is Severity.MEDIUM
    )  # no "kill" in "skilled"


def test_triage_acknowledges_sets_deadline_and_assigns_by_language(
    database: TestDatabase,
) -> None:
    with database.session_factory() as session, session.begin():
        lead = factories.user(session, Role.LEAD)
        french = factories.user(session, Role.REVIEWER)
        french.languages, french.regions = "fr,ar", "TN"
        spanish = factories.user(session, Role.REVIEWER)
        spanish.languages = "es"
        defender = factories.defender(session, country="TN", languages=["fr"])
        actor = factories.principal(lead)
        opened = _case(session, actor, defender_id=defender.id)
        assert opened.language == "fr"
        assert opened.region == "TN"
        assert opened.sla_due_at == opened.created_at + POLICY.target(opened.severity)

        triaged = workflow.triage(
            session=session,
            actor=actor,
            case_id=opened.id,
            severity=Severity.CRITICAL,
            policy=POLICY,
        )
        assert triaged.status is CaseStatus.TRIAGED
        assert triaged.acknowledged_at is not None
        assert triaged.sla_due_at == triaged.created_at + timedelta(hours=1)
        assert triaged.assignee_id == french.id
        kinds = [
            event.kind
            for event in workflow.timeline(session=session, actor=actor, case_id=opened.id)
        ]
        assert kinds == [CaseEventKind.CREATED, CaseEventKind.TRIAGED, CaseEventKind.ASSIGNED]
        with pytest.raises(Conflict):
            workflow.triage(
                session=session,
                actor=actor,
                case_id=opened.id,
                severity=Severity.LOW,
                policy=POLICY,
            )
        actions = set(session.scalars(select(AuditEntry.action)))
        assert {"case.create", "case.triaged", "case.assigned"} <= actions


def test_assignment_balances_load_between_matching_reviewers(database: TestDatabase) -> None:
    with database.session_factory() as session, session.begin():
        actor = factories.principal(factories.user(session, Role.LEAD))
        first = factories.user(session, Role.REVIEWER)
        second = factories.user(session, Role.REVIEWER)
        first.languages = second.languages = "en"
        owners = []
        for _ in range(4):
            opened = _case(session, actor, language="en")
            owners.append(
                workflow.triage(
                    session=session,
                    actor=actor,
                    case_id=opened.id,
                    severity=Severity.MEDIUM,
                    policy=POLICY,
                ).assignee_id
            )
        assert owners.count(first.id) == owners.count(second.id) == 2


def test_a_reviewer_with_no_languages_covers_every_case_in_queue_and_assignment(
    database: TestDatabase,
) -> None:
    # One rule: no languages (or regions) listed means all of them, for the queue and for
    # automatic assignment alike; a reviewer who lists the case's language is picked first.
    with database.session_factory() as session, session.begin():
        actor = factories.principal(factories.user(session, Role.LEAD))
        generalist = factories.user(session, Role.REVIEWER)  # no languages, no regions
        tamil = _case(session, actor, language="ta")
        arabic = _case(session, actor, language="ar")
        assert {row.id for row in sla.queue(session=session, reviewer=generalist)} == {
            tamil.id,
            arabic.id,
        }
        assert sla.covers(generalist, tamil)
        assert workflow.suggest_assignee(session=session, target=tamil) == generalist

        specialist = factories.user(session, Role.REVIEWER)
        specialist.languages = "ar"
        session.flush()
        for _ in range(3):  # more open work than the generalist: still preferred for Arabic
            workflow.assign(
                session=session,
                actor=actor,
                case_id=_case(session, actor, language="ar").id,
                assignee_id=specialist.id,
            )
        assert workflow.suggest_assignee(session=session, target=arabic) == specialist
        assert workflow.suggest_assignee(session=session, target=tamil) == generalist
        assert tamil.id not in {row.id for row in sla.queue(session=session, reviewer=specialist)}
        assert not sla.covers(specialist, tamil)

        specialist.regions, tamil.region = "EG", "LK"
        generalist.regions = "EG"
        session.flush()
        assert not sla.covers(generalist, tamil)  # regions limit in both places too
        assert tamil.id not in {row.id for row in sla.queue(session=session, reviewer=generalist)}
        assert workflow.suggest_assignee(session=session, target=tamil) is None


def test_lifecycle_allows_only_its_moves(database: TestDatabase) -> None:
    with database.session_factory() as session, session.begin():
        actor = factories.principal(factories.user(session, Role.REVIEWER))
        opened = _case(session, actor)
        with pytest.raises(Conflict):
            workflow.change_status(
                session=session, actor=actor, case_id=opened.id, status=CaseStatus.CLOSED
            )  # must be triaged first
        workflow.triage(
            session=session, actor=actor, case_id=opened.id, severity=Severity.HIGH, policy=POLICY
        )
        for status in (CaseStatus.IN_PROGRESS, CaseStatus.MITIGATED, CaseStatus.CLOSED):
            workflow.change_status(session=session, actor=actor, case_id=opened.id, status=status)
        assert opened.closed_at is not None
        reopened = workflow.change_status(
            session=session, actor=actor, case_id=opened.id, status=CaseStatus.IN_PROGRESS
        )
        assert reopened.closed_at is None
        with pytest.raises(ValidationProblem):
            workflow.change_status(
                session=session, actor=actor, case_id=opened.id, status=CaseStatus.DUPLICATE
            )


def test_notes_are_encrypted_and_hidden_from_the_defender(database: TestDatabase) -> None:
    with database.session_factory() as session, session.begin():
        hrd_user = factories.user(session, Role.HRD)
        defender = factories.defender(session, actor=factories.principal(hrd_user))
        hrd = factories.principal(hrd_user, defender_id=defender.id)
        reviewer = factories.principal(factories.user(session, Role.REVIEWER))
        opened = _case(session, hrd)
        workflow.add_note(
            session=session, actor=reviewer, case_id=opened.id, body="Qznote internal assessment"
        )
        staff_view = workflow.timeline(session=session, actor=reviewer, case_id=opened.id)
        assert any(event.body == "Qznote internal assessment" for event in staff_view)
        own_view = workflow.timeline(session=session, actor=hrd, case_id=opened.id)
        assert all(event.kind is not CaseEventKind.NOTE for event in own_view)
        with pytest.raises(ValidationProblem):
            workflow.add_note(session=session, actor=reviewer, case_id=opened.id, body="   ")
    with database.engine.connect() as connection:
        raw = connection.exec_driver_sql("SELECT body FROM case_events").scalars().all()
    assert not any(value and "Qznote" in value for value in raw)


def test_link_and_merge_duplicates(database: TestDatabase) -> None:
    with database.session_factory() as session, session.begin():
        actor = factories.principal(factories.user(session, Role.LEAD))
        kept, repeat, third = (_case(session, actor) for _ in range(3))
        workflow.link(session=session, actor=actor, case_id=kept.id, other_case_id=third.id)
        again = workflow.link(session=session, actor=actor, case_id=third.id, other_case_id=kept.id)
        assert {again.case_id, again.other_case_id} == {kept.id, third.id}  # no second link
        merged = workflow.merge(
            session=session, actor=actor, case_id=repeat.id, into_case_id=kept.id
        )
        assert merged.status is CaseStatus.DUPLICATE
        assert merged.duplicate_of_id == kept.id
        kept_kinds = [
            e.kind for e in workflow.timeline(session=session, actor=actor, case_id=kept.id)
        ]
        assert CaseEventKind.MERGED in kept_kinds
        with pytest.raises(Conflict):
            workflow.merge(session=session, actor=actor, case_id=third.id, into_case_id=repeat.id)
        with pytest.raises(ValidationProblem):
            workflow.merge(session=session, actor=actor, case_id=kept.id, into_case_id=kept.id)


def test_assigning_to_somebody_who_cannot_work_cases_is_refused(database: TestDatabase) -> None:
    with database.session_factory() as session, session.begin():
        actor = factories.principal(factories.user(session, Role.LEAD))
        auditor = factories.user(session, Role.AUDITOR)
        opened = _case(session, actor)
        with pytest.raises(NotFound):
            workflow.assign(session=session, actor=actor, case_id=opened.id, assignee_id=auditor.id)


def test_reviewer_flow_through_the_api(client: TestClient, database: TestDatabase) -> None:
    with database.session_factory() as session, session.begin():
        reviewer = factories.user(session, Role.REVIEWER)
        reviewer.languages = "en"
        partner = factories.user(session, Role.PARTNER)
        defender = factories.defender(session, actor=factories.principal(partner), languages=["en"])
    partner_client = TestClient(client.app)
    factories.sign_in(partner_client, partner)
    opened = partner_client.post(
        "/api/v1/cases",
        json={
            "category": "threat_of_violence",
            "defender_id": defender.id,
            "summary": "We know where you live",
        },
    ).json()
    assert opened["severity"] == "critical"

    factories.sign_in(client, reviewer)
    queued = client.get("/api/v1/cases/queue").json()
    assert [item["id"] for item in queued] == [opened["id"]]
    case_url = f"/api/v1/cases/{opened['id']}"
    assert client.post(f"{case_url}/triage", json={"severity": "critical"}).status_code == 200
    assert client.post(f"{case_url}/notes", json={"body": "called the defender"}).status_code == 201
    assert client.post(f"{case_url}/status", json={"status": "in_progress"}).status_code == 200
    assert client.post(f"{case_url}/status", json={"status": "new"}).status_code == 409
    assert client.post(f"{case_url}/status", json={"status": "closed"}).json()["status"] == "closed"
    kinds = [event["kind"] for event in client.get(f"{case_url}/timeline").json()]
    assert kinds == ["created", "triaged", "assigned", "note", "status_changed", "status_changed"]
    partner_view = [e["kind"] for e in partner_client.get(f"{case_url}/timeline").json()]
    assert "note" not in partner_view
    assert partner_client.post(f"{case_url}/triage", json={"severity": "low"}).status_code == 403
    assert client.post(f"{case_url}/triage", json={"severity": "urgent"}).status_code == 422
    assert client.post("/api/v1/cases/unknown/notes", json={"body": "x"}).status_code == 404


def test_the_defender_is_told_of_receipt_triage_and_outcome_in_their_language(
    database: TestDatabase,
) -> None:
    with database.session_factory() as session, session.begin():
        reviewer = factories.principal(factories.user(session, Role.REVIEWER))
        defender = factories.defender(
            session,
            languages=["es"],
            contact_channel="email",
            contact_address="defensora@example.test",
        )
        opened = _case(session, reviewer, defender_id=defender.id)
        workflow.triage(
            session=session,
            actor=reviewer,
            case_id=opened.id,
            severity=Severity.HIGH,
            policy=POLICY,
        )
        workflow.change_status(
            session=session, actor=reviewer, case_id=opened.id, status=CaseStatus.CLOSED
        )
        workflow.change_status(
            session=session, actor=reviewer, case_id=opened.id, status=CaseStatus.IN_PROGRESS
        )
        workflow.change_status(
            session=session, actor=reviewer, case_id=opened.id, status=CaseStatus.CLOSED
        )  # closing twice tells them once
        queued = session.scalars(
            select(Notification)
            .where(Notification.case_id == opened.id)
            .order_by(Notification.created_at)
        ).all()
        assert [item.template.value for item in queued] == ["receipt", "triaged", "outcome"]
        assert {item.language for item in queued} == {"es"}
        assert {item.address for item in queued} == {"defensora@example.test"}


def test_closing_starts_the_retention_period_and_reopening_stops_it(
    database: TestDatabase,
) -> None:
    policy = retention.RetentionPolicy(retention_days=30, warning_days=7)
    with database.session_factory() as session, session.begin():
        actor = factories.principal(factories.user(session, Role.REVIEWER))
        opened = _case(session, actor)
        workflow.triage(
            session=session, actor=actor, case_id=opened.id, severity=Severity.LOW, policy=POLICY
        )
        closed = workflow.change_status(
            session=session,
            actor=actor,
            case_id=opened.id,
            status=CaseStatus.CLOSED,
            retention_policy=policy,
        )
        kept = retention.get(session=session, case_id=opened.id)
        assert kept is not None
        assert closed.closed_at is not None
        assert kept.expires_at == closed.closed_at + timedelta(days=30)
        workflow.change_status(
            session=session,
            actor=actor,
            case_id=opened.id,
            status=CaseStatus.IN_PROGRESS,
            retention_policy=policy,
        )
        reopened = retention.get(session=session, case_id=opened.id)
        assert reopened is None or reopened.expires_at is None
