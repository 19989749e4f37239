"""Service levels: first-response targets, the escalation ladder, and the reviewers' queue.

A case is acknowledged when a reviewer triages it. Until then the ladder climbs: at the target
the case is marked breached and the on-call lead is alerted; at one and a half times the target
the head of response is (`oncall` says who they are and sends the alerts through the outbox).
The queue shows open cases by time to breach, partner (trusted-flagger) reports first when two
are due together, limited to what a reviewer covers (`covers`: the languages and regions on
their account, none listed meaning all); automatic assignment uses the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy import case as sql_case
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.accounts.models import User
from hrdshield.cases import oncall
from hrdshield.cases.enums import CaseEventKind, CaseSource, CaseStatus, OnCallDuty, Severity
from hrdshield.cases.models import Case, CaseEvent
from hrdshield.db import split_list
from hrdshield.security import audit
from hrdshield.security.rbac import Principal, Role

OPEN_STATUSES = (CaseStatus.NEW, CaseStatus.TRIAGED, CaseStatus.IN_PROGRESS)
LEAD_LEVEL, HEAD_LEVEL = 1, 2
_LADDER = Principal.system("sla-ladder")


@dataclass(frozen=True)
class SlaPolicy:
    """First-response targets per severity, in minutes (from the configuration)."""

    critical: int = 60
    high: int = 4 * 60
    medium: int = 24 * 60
    low: int = 72 * 60
    head_factor: float = 1.5

    def target(self, severity: Severity) -> timedelta:
        """Return the first-response target for `severity`."""
        return timedelta(minutes=getattr(self, severity.value))

    def due(self, created_at: datetime, severity: Severity) -> datetime:
        """Return when a case of `severity` opened at `created_at` breaches its target."""
        return created_at + self.target(severity)


@dataclass(frozen=True)
class LadderStep:
    """One rung climbed by `tick`: which case, to which level, who must be alerted."""

    case_id: str
    level: int
    alert: str  # "lead" or "head_of_response"


def tick(*, session: Session, policy: SlaPolicy, now: datetime | None = None) -> list[LadderStep]:
    """Climb the escalation ladder for unacknowledged open cases; safe to run again and again."""
    now = now or clock.now()
    steps: list[LadderStep] = []
    waiting = session.scalars(
        select(Case).where(
            Case.status.in_(OPEN_STATUSES),
            Case.acknowledged_at.is_(None),
            Case.escalation_level < HEAD_LEVEL,
            Case.sla_due_at.is_not(None),
            Case.sla_due_at <= now,
        )
    ).all()
    for waiting_case in waiting:
        assert waiting_case.sla_due_at is not None  # noqa: S101  (filtered above)
        target = policy.target(waiting_case.severity)
        head_at = waiting_case.created_at + target * policy.head_factor
        if waiting_case.escalation_level < LEAD_LEVEL:
            waiting_case.breached_at = waiting_case.breached_at or now
            _event(session, waiting_case, CaseEventKind.SLA_BREACHED, now, {})
            _climb(session, waiting_case, LEAD_LEVEL, OnCallDuty.LEAD, now)
            steps.append(LadderStep(waiting_case.id, LEAD_LEVEL, "lead"))
        if now >= head_at and waiting_case.escalation_level < HEAD_LEVEL:
            _climb(session, waiting_case, HEAD_LEVEL, OnCallDuty.HEAD_OF_RESPONSE, now)
            steps.append(LadderStep(waiting_case.id, HEAD_LEVEL, "head_of_response"))
    session.flush()
    return steps


def _climb(session: Session, escalated: Case, level: int, duty: OnCallDuty, now: datetime) -> None:
    escalated.escalation_level = level
    alerted = oncall.alert(session=session, escalated=escalated, duty=duty, level=level, at=now)
    detail: dict[str, object] = {"level": level, "alert": duty.value, "alerted": alerted}
    _event(session, escalated, CaseEventKind.ESCALATED, now, detail)
    audit.record(
        session,
        actor=_LADDER,
        action="case.escalate",
        entity_type="case",
        entity_id=escalated.id,
        detail=detail,
    )


def _event(
    session: Session, target: Case, kind: CaseEventKind, now: datetime, data: dict[str, object]
) -> None:
    session.add(
        CaseEvent(
            case_id=target.id,
            kind=kind,
            at=now,
            actor_id=_LADDER.user_id,
            actor_role=None,
            data=data,
        )
    )


def covers(reviewer: User, target: Case) -> bool:
    """Return whether a reviewer covers a case: its language and region, none listed being all.

    The one rule for both the queue (in SQL below) and automatic assignment.
    """
    languages, regions = split_list(reviewer.languages), split_list(reviewer.regions)
    if languages and target.language not in languages:
        return False
    return not regions or target.region is None or target.region in regions


def queue(
    *, session: Session, reviewer: User, limit: int = 100, include_assigned: bool = True
) -> list[Case]:
    """Return the open cases a reviewer should work, soonest breach first.

    Reviewers see cases in their languages and regions (none listed means all); leads see
    everything, escalated cases included.
    """
    conditions: list[ColumnElement[bool]] = [Case.status.in_(OPEN_STATUSES)]
    if reviewer.role is not Role.LEAD:
        languages = split_list(reviewer.languages)
        regions = split_list(reviewer.regions)
        if languages:
            conditions.append(Case.language.in_(languages))
        if regions:
            conditions.append(or_(Case.region.in_(regions), Case.region.is_(None)))
    if not include_assigned:
        conditions.append(or_(Case.assignee_id.is_(None), Case.assignee_id == reviewer.id))
    partner_first = sql_case((Case.source == CaseSource.PARTNER, 0), else_=1)
    return list(
        session.scalars(
            select(Case)
            .where(*conditions)
            .order_by(Case.sla_due_at.asc(), partner_first, Case.created_at, Case.id)
            .limit(limit)
        )
    )
