"""Opening and reading cases (skeleton: triage, SLAs and the lifecycle come with case management).

Visibility follows the defender: a defender sees their own cases, a partner those it opened or
that concern defenders it enrolled, reviewers and leads all of them.
"""

from __future__ import annotations

import secrets

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from hrdshield.cases.enums import CaseCategory, CaseSource, Severity
from hrdshield.cases.models import Case
from hrdshield.cases.schemas import CaseCreate
from hrdshield.defenders import service as defenders
from hrdshield.defenders.enums import RiskLevel
from hrdshield.defenders.models import Defender
from hrdshield.errors import NotFound, ValidationProblem
from hrdshield.security import audit
from hrdshield.security.rbac import Principal, Role

_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_CATEGORY_SEVERITY = {
    CaseCategory.THREAT_OF_VIOLENCE: Severity.CRITICAL,
    CaseCategory.DOXXING: Severity.HIGH,
    CaseCategory.ACCOUNT_COMPROMISE: Severity.HIGH,
    CaseCategory.PHISHING_SPYWARE: Severity.HIGH,
    CaseCategory.IMPERSONATION: Severity.MEDIUM,
    CaseCategory.HARASSMENT: Severity.MEDIUM,
    CaseCategory.SMEAR_DISINFORMATION: Severity.MEDIUM,
    CaseCategory.TAKEDOWN: Severity.MEDIUM,
    CaseCategory.OTHER: Severity.LOW,
}
_ORDER = [Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]
_SOURCE = {Role.HRD: CaseSource.HRD, Role.PARTNER: CaseSource.PARTNER}


def new_reference() -> str:
    """Return a short case reference people can read out on a phone line."""
    return "C-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


def suggest_severity(category: CaseCategory, risk_level: RiskLevel | None) -> Severity:
    """Suggest a severity from the category, one step higher for high-risk defenders."""
    severity = _CATEGORY_SEVERITY[category]
    if risk_level in (RiskLevel.HIGH, RiskLevel.CRITICAL):
        severity = _ORDER[min(_ORDER.index(severity) + 1, len(_ORDER) - 1)]
    return severity


def snapshot(case: Case) -> dict[str, object]:
    """Return the audited state of a case."""
    return {
        "id": case.id,
        "defender_id": case.defender_id,
        "category": case.category.value,
        "severity": case.severity.value,
        "status": case.status.value,
        "summary": case.summary,
        "narrative": case.narrative,
    }


def create(*, session: Session, actor: Principal, case_in: CaseCreate) -> Case:
    """Open a case; the defender must be one the actor may see."""
    defender: Defender | None = None
    defender_id = case_in.defender_id
    if actor.role is Role.HRD:
        if actor.defender_id is None:
            raise ValidationProblem("enrol as a defender before opening a case")
        defender_id = actor.defender_id
    if defender_id is not None:
        defender = defenders.get(session=session, actor=actor, defender_id=defender_id)
    case = Case(
        reference=new_reference(),
        defender_id=defender.id if defender else None,
        organisation_id=actor.organisation_id if actor.role is Role.PARTNER else None,
        category=case_in.category,
        severity=case_in.severity
        or suggest_severity(case_in.category, defender.risk_level if defender else None),
        source=_SOURCE.get(actor.role, CaseSource.STAFF) if actor.role else CaseSource.DETECTION,
        summary=case_in.summary,
        narrative=case_in.narrative,
        created_by=actor.user_id,
    )
    session.add(case)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="case.create",
        entity_type="case",
        entity_id=case.id,
        after=snapshot(case),
        detail={"category": case.category.value},
    )
    return case


def _visible(actor: Principal) -> ColumnElement[bool]:
    if actor.role in (Role.REVIEWER, Role.LEAD, Role.ADMIN):
        return true()
    if actor.role is Role.PARTNER and actor.organisation_id:
        enrolled = select(Defender.id).where(Defender.organisation_id == actor.organisation_id)
        return or_(Case.organisation_id == actor.organisation_id, Case.defender_id.in_(enrolled))
    if actor.role is Role.HRD and actor.defender_id:
        return Case.defender_id == actor.defender_id
    return false()


def get(*, session: Session, actor: Principal, case_id: str) -> Case:
    """Return a case the actor may see, or NotFound."""
    case = session.scalar(select(Case).where(Case.id == case_id, _visible(actor)))
    if case is None:
        raise NotFound("case not found")
    return case


def list_recent(*, session: Session, actor: Principal, limit: int = 50) -> list[Case]:
    """Return the newest cases the actor may see."""
    return list(
        session.scalars(
            select(Case).where(_visible(actor)).order_by(Case.created_at.desc()).limit(limit)
        )
    )
