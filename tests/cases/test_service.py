"""Cases service (skeleton): suggested severity, who may open a case on whom, and who sees it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.cases import service
from hrdshield.cases.enums import CaseCategory, CaseSource, CaseStatus, Severity
from hrdshield.cases.models import Case
from hrdshield.cases.schemas import CaseCreate
from hrdshield.db import new_id
from hrdshield.defenders.enums import RiskLevel
from hrdshield.defenders.models import Defender
from hrdshield.errors import NotFound
from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Principal, Role
from tests import factories

ORDER = [Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]
ELEVATING = (RiskLevel.HIGH, RiskLevel.CRITICAL)


def _acting(session: Session, role: Role) -> Principal:
    """Return a principal of `role`; services need a user row only for an HRD's own enrolment."""
    organisation_id = factories.organisation(session).id if role is Role.PARTNER else None
    return Principal(new_id(), role, organisation_id)


def _rank(severity: Severity) -> int:
    return ORDER.index(severity)


# --- severity suggestion ------------------------------------------------------------------------


@pytest.mark.parametrize("category", list(CaseCategory))
def test_only_high_risk_raises_the_suggestion_by_one_step(category: CaseCategory) -> None:
    base = service.suggest_severity(category, None)
    for risk in (RiskLevel.LOW, RiskLevel.MEDIUM):
        assert service.suggest_severity(category, risk) is base
    for risk in ELEVATING:
        raised = service.suggest_severity(category, risk)
        assert _rank(raised) == min(_rank(base) + 1, len(ORDER) - 1)


def test_threats_of_violence_are_never_below_any_other_category() -> None:
    for risk in (None, *RiskLevel):
        threat = service.suggest_severity(CaseCategory.THREAT_OF_VIOLENCE, risk)
        assert all(
            _rank(threat) >= _rank(service.suggest_severity(category, risk))
            for category in CaseCategory
        )


def test_doxxing_and_account_takeover_outrank_harassment() -> None:
    harassment = _rank(service.suggest_severity(CaseCategory.HARASSMENT, None))
    for category in (CaseCategory.DOXXING, CaseCategory.ACCOUNT_COMPROMISE):
        assert _rank(service.suggest_severity(category, None)) > harassment


# --- opening cases ------------------------------------------------------------------------------


@dataclass
class World:
    """Two organisations' partners and defenders, a self-enrolled HRD, staff and an auditor."""

    reviewer: Principal
    partner_a: Principal
    partner_b: Principal
    hrd: Principal
    other_hrd: Principal
    auditor: Principal
    defender_a: Defender
    defender_b: Defender


def _hrd(session: Session, risk: str) -> Principal:
    user = factories.user(session, Role.HRD)
    defender = factories.defender(session, factories.principal(user), risk_level=risk)
    return factories.principal(user, defender_id=defender.id)


@pytest.fixture
def world(session: Session) -> World:
    """Build the cast of a scoping test."""
    partner_a = _acting(session, Role.PARTNER)
    partner_b = _acting(session, Role.PARTNER)
    return World(
        reviewer=_acting(session, Role.REVIEWER),
        partner_a=partner_a,
        partner_b=partner_b,
        hrd=_hrd(session, "low"),
        other_hrd=_hrd(session, "critical"),
        auditor=_acting(session, Role.AUDITOR),
        defender_a=factories.defender(session, partner_a, risk_level="critical"),
        defender_b=factories.defender(session, partner_b, risk_level="low"),
    )


def _open(
    session: Session,
    actor: Principal,
    category: CaseCategory = CaseCategory.HARASSMENT,
    **fields: object,
) -> Case:
    case_in = CaseCreate(category=category, summary="Pile-on after an interview", **fields)
    return service.create(session=session, actor=actor, case_in=case_in)


def test_hrd_opens_a_case_about_themselves_only(session: Session, world: World) -> None:
    case = _open(session, world.hrd, defender_id=world.defender_a.id)

    assert case.defender_id == world.hrd.defender_id
    assert case.source is CaseSource.HRD
    assert case.status is CaseStatus.NEW
    assert case.organisation_id is None
    assert case.severity is service.suggest_severity(CaseCategory.HARASSMENT, RiskLevel.LOW)
    assert case.reference != case.id
    actions = session.scalars(select(AuditEntry.action)).all()
    assert "case.create" in actions


def test_severity_follows_the_defenders_risk_unless_given(session: Session, world: World) -> None:
    suggested = _open(session, world.partner_a, defender_id=world.defender_a.id)
    given = _open(session, world.partner_a, defender_id=world.defender_a.id, severity=Severity.LOW)
    unknown_defender = _open(session, world.reviewer)

    assert suggested.severity is service.suggest_severity(
        CaseCategory.HARASSMENT, RiskLevel.CRITICAL
    )
    assert given.severity is Severity.LOW
    assert unknown_defender.severity is service.suggest_severity(CaseCategory.HARASSMENT, None)


def test_partner_opens_cases_only_about_its_own_defenders(session: Session, world: World) -> None:
    own = _open(session, world.partner_a, defender_id=world.defender_a.id)
    assert own.organisation_id == world.partner_a.organisation_id
    assert own.source is CaseSource.PARTNER
    with pytest.raises(NotFound):
        _open(session, world.partner_a, defender_id=world.defender_b.id)
    with pytest.raises(NotFound):
        _open(session, world.partner_a, defender_id="0" * 32)


def test_case_text_is_encrypted_at_rest(session: Session, world: World) -> None:
    case = _open(session, world.reviewer, narrative="They posted the home address of Amara.")
    session.flush()
    raw = session.execute(
        text("SELECT summary, narrative FROM cases WHERE id = :id"), {"id": case.id}
    ).one()
    assert "Pile-on" not in raw.summary
    assert "home address" not in raw.narrative
    session.expire_all()
    assert session.get(Case, case.id).narrative == "They posted the home address of Amara."  # type: ignore[union-attr]


# --- reading ------------------------------------------------------------------------------------


def test_each_role_sees_only_the_cases_it_may(session: Session, world: World) -> None:
    about_a = _open(session, world.reviewer, defender_id=world.defender_a.id)
    by_partner_a = _open(session, world.partner_a)
    about_b = _open(session, world.partner_b, defender_id=world.defender_b.id)
    by_hrd = _open(session, world.hrd)
    by_other_hrd = _open(session, world.other_hrd)
    everything = {about_a.id, by_partner_a.id, about_b.id, by_hrd.id, by_other_hrd.id}

    def visible(actor: Principal) -> set[str]:
        return {case.id for case in service.list_recent(session=session, actor=actor)}

    assert visible(world.reviewer) == everything
    assert visible(world.partner_a) == {about_a.id, by_partner_a.id}
    assert visible(world.partner_b) == {about_b.id}
    assert visible(world.hrd) == {by_hrd.id}
    assert visible(world.other_hrd) == {by_other_hrd.id}
    assert visible(world.auditor) == set()
    assert visible(Principal.system("rule")) == set()
    for actor, case in ((world.partner_b, about_a), (world.hrd, by_other_hrd)):
        with pytest.raises(NotFound):
            service.get(session=session, actor=actor, case_id=case.id)
    assert service.get(session=session, actor=world.partner_a, case_id=about_a.id) is about_a


def test_newest_cases_come_first_up_to_the_limit(session: Session, world: World) -> None:
    with clock.frozen(datetime(2026, 11, 23, 9, 0, tzinfo=UTC)):
        opened = []
        for _ in range(3):
            opened.append(_open(session, world.reviewer))
            clock.advance(minutes=5)
    recent = service.list_recent(session=session, actor=world.reviewer, limit=2)
    assert [case.id for case in recent] == [opened[2].id, opened[1].id]


@pytest.mark.parametrize("case_id", ["0" * 32, "", "x" * 500])
def test_unknown_case_ids_are_not_found(session: Session, case_id: str) -> None:
    reviewer = _acting(session, Role.REVIEWER)
    with pytest.raises(NotFound):
        service.get(session=session, actor=reviewer, case_id=case_id)
