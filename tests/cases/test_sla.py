"""The SLA ladder and the queue, with a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from hrdshield import clock
from hrdshield.cases import service, sla, workflow
from hrdshield.cases.enums import CaseCategory, CaseEventKind, CaseSource, Severity
from hrdshield.cases.models import Case, CaseEvent
from hrdshield.cases.schemas import CaseCreate
from hrdshield.security.rbac import Role
from tests import factories
from tests.conftest import TestDatabase

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
POLICY = sla.SlaPolicy()


def _open(session, actor, severity=Severity.CRITICAL, **extra):  # type: ignore[no-untyped-def]
    return service.create(
        session=session,
        actor=actor,
        case_in=CaseCreate(
            category=CaseCategory.THREAT_OF_VIOLENCE,
            summary="threat",
            severity=severity,
            **extra,
        ),
        policy=POLICY,
    )


def test_unacknowledged_critical_case_climbs_the_ladder(database: TestDatabase) -> None:
    with clock.frozen(START), database.session_factory() as session, session.begin():
        actor = factories.principal(factories.user(session, Role.LEAD))
        waiting = _open(session, actor)
        case_id = waiting.id

    def tick_at(minutes: int) -> list[sla.LadderStep]:
        with (
            clock.frozen(START + timedelta(minutes=minutes)),
            database.session_factory() as session,
            session.begin(),
        ):
            return sla.tick(session=session, policy=POLICY)

    assert tick_at(59) == []
    assert tick_at(60) == [sla.LadderStep(case_id, sla.LEAD_LEVEL, "lead")]
    assert tick_at(61) == []  # idempotent: no second alert
    assert tick_at(89) == []
    assert tick_at(90) == [sla.LadderStep(case_id, sla.HEAD_LEVEL, "head_of_response")]
    assert tick_at(200) == []
    with database.session_factory() as session:
        escalated = session.get(Case, case_id)
        assert escalated is not None
        assert escalated.breached_at == START + timedelta(minutes=60)
        assert escalated.escalation_level == sla.HEAD_LEVEL
        kinds = session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case_id)).all()
        assert kinds.count(CaseEventKind.ESCALATED) == 2
        assert kinds.count(CaseEventKind.SLA_BREACHED) == 1


def test_triage_in_time_stops_the_ladder(database: TestDatabase) -> None:
    with clock.frozen(START), database.session_factory() as session, session.begin():
        actor = factories.principal(factories.user(session, Role.REVIEWER))
        acknowledged = _open(session, actor)
    with (
        clock.frozen(START + timedelta(minutes=30)),
        database.session_factory() as session,
        session.begin(),
    ):
        workflow.triage(
            session=session,
            actor=actor,
            case_id=acknowledged.id,
            severity=Severity.CRITICAL,
            policy=POLICY,
        )
    with (
        clock.frozen(START + timedelta(hours=5)),
        database.session_factory() as session,
        session.begin(),
    ):
        assert sla.tick(session=session, policy=POLICY) == []


def test_queue_orders_by_breach_and_puts_partners_first_at_equal_severity(
    database: TestDatabase,
) -> None:
    with clock.frozen(START), database.session_factory() as session, session.begin():
        reviewer = factories.user(session, Role.REVIEWER)
        reviewer.languages, reviewer.regions = "en", "KE"
        staff = factories.principal(factories.user(session, Role.LEAD))
        partner_user = factories.user(session, Role.PARTNER)
        partner = factories.principal(partner_user)
        low = _open(session, staff, Severity.LOW, language="en")
        from_staff = _open(session, staff, Severity.HIGH, language="en")
        from_partner = _open(session, partner, Severity.HIGH, language="en")
        critical = _open(session, staff, Severity.CRITICAL, language="en")
        _open(session, staff, Severity.CRITICAL, language="es")  # not this reviewer's language
        assert from_partner.source is CaseSource.PARTNER
        ordered = [row.id for row in sla.queue(session=session, reviewer=reviewer)]
        assert ordered == [critical.id, from_partner.id, from_staff.id, low.id]
        lead = factories.user(session, Role.LEAD)
        assert len(sla.queue(session=session, reviewer=lead)) == 5  # leads see every language
