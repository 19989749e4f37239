"""Opening and reading cases (skeleton: triage, SLAs and the lifecycle come with case management).

Visibility follows the defender: a defender sees their own cases, a partner those it opened or
that concern defenders it enrolled, reviewers and leads all of them.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.cases.enums import CaseCategory, CaseEventKind, CaseSource, Severity
from hrdshield.cases.models import Case, CaseEvent
from hrdshield.cases.schemas import CaseCreate
from hrdshield.cases.sla import SlaPolicy
from hrdshield.db import split_list
from hrdshield.defenders import service as defenders
from hrdshield.defenders.enums import RiskLevel
from hrdshield.defenders.models import Defender
from hrdshield.errors import N_, NotFound, ValidationProblem
from hrdshield.notify import service as notifications
from hrdshield.notify.enums import TemplateKey
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


# Words that signal a threat to life or physical safety, in the languages reports arrive in.
# Deliberately broad: triage confirms or lowers; over-rating a threat costs less than missing one.
_THREAT_TO_LIFE = re.compile(
    r"\b(kill|murder|shoot|stab|rape|bomb|behead|where you live|your (?:family|children|address)"
    r"|matar|asesin|disparar|violar|bomba|d[oó]nde vives|tu familia"
    r"|tuer|assassin|violer|bombe|o[uù] tu (?:habites|vis)|ta famille"
    r"|убить|убь[её]м|изнасил|бомб|где ты живешь|где ты живёшь"
    r"|estuprar|onde (?:voc[eê]|tu) mora|sua fam[ií]lia)"
    r"|قتل|سنقتل|اغتصاب|قنبلة|عنوانك|عائلتك",
    re.IGNORECASE,
)
_HOME_ADDRESS = re.compile(
    r"\b(home address|where (?:she|he|they) lives?|domicilio|direcci[oó]n de su casa|adresse"
    r"|domicile|endere[cç]o|адрес)|عنوان المنزل|عنوانه|عنوانها",
    re.IGNORECASE,
)


def suggest_severity(
    category: CaseCategory, risk_level: RiskLevel | None, text: str = ""
) -> Severity:
    """Suggest a severity from the category, the words used and the defender's risk level."""
    if _THREAT_TO_LIFE.search(text):
        return Severity.CRITICAL
    if category is CaseCategory.DOXXING and _HOME_ADDRESS.search(text):
        return Severity.CRITICAL
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


def create(
    *, session: Session, actor: Principal, case_in: CaseCreate, policy: SlaPolicy | None = None
) -> Case:
    """Open a case, with a suggested severity and its first-response deadline."""
    defender: Defender | None = None
    defender_id = case_in.defender_id
    if actor.role is Role.HRD:
        if actor.defender_id is None:
            raise ValidationProblem(N_("enrol as a defender before opening a case"))
        defender_id = actor.defender_id
    if defender_id is not None and actor.kind == "system":  # detection acts for every defender
        defender = session.get(Defender, defender_id)
        if defender is None:
            raise NotFound("defender not found")
    elif defender_id is not None:
        defender = defenders.get(session=session, actor=actor, defender_id=defender_id)
    now = clock.now()
    severity = case_in.severity or suggest_severity(
        case_in.category,
        defender.risk_level if defender else None,
        f"{case_in.summary}\n{case_in.narrative or ''}",
    )
    languages = split_list(defender.languages) if defender else []
    case = Case(
        reference=new_reference(),
        defender_id=defender.id if defender else None,
        organisation_id=actor.organisation_id if actor.role is Role.PARTNER else None,
        category=case_in.category,
        severity=severity,
        source=_SOURCE.get(actor.role, CaseSource.STAFF) if actor.role else CaseSource.DETECTION,
        summary=case_in.summary,
        narrative=case_in.narrative,
        language=case_in.language or (languages[0] if languages else "en"),
        region=defender.country if defender else None,
        sla_due_at=(policy or SlaPolicy()).due(now, severity),
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    session.add(
        CaseEvent(
            case_id=case.id,
            kind=CaseEventKind.CREATED,
            at=now,
            actor_id=actor.user_id,
            actor_role=actor.role.value if actor.role else None,
            data={"source": case.source.value, "severity": severity.value},
        )
    )
    if case.source is not CaseSource.DETECTION:  # detection tells the defender in its own words
        notify_defender(session, case, TemplateKey.RECEIPT)
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


def notify_defender(session: Session, about: Case, template: TemplateKey) -> None:
    """Queue a message to the case's defender, through the outbox, in their language.

    The message names only the case reference; the defender reads the rest in the portal.
    """
    if about.defender_id is None:
        return
    defender = session.get(Defender, about.defender_id)
    if defender is None:
        return
    notifications.enqueue_for_defender(
        session=session,
        defender=defender,
        template=template,
        context={"reference": about.reference},
        case_id=about.id,
        idempotency_key=f"case-{about.id}-{template.value}",
    )


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
        raise NotFound(N_("case not found"))
    return case


def list_recent(*, session: Session, actor: Principal, limit: int = 50) -> list[Case]:
    """Return the newest cases the actor may see."""
    return list(
        session.scalars(
            select(Case).where(_visible(actor)).order_by(Case.created_at.desc()).limit(limit)
        )
    )
