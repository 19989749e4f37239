"""The work on a case: triage, lifecycle, assignment, notes, links and merging duplicates.

Every change adds an entry to the case's timeline and to the audit log in the caller's
transaction. The lifecycle is `new -> triaged -> in_progress -> mitigated -> closed`, any open
case can become a `duplicate` of another, and a closed case can be reopened to `in_progress`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.accounts.models import User
from hrdshield.cases import retention, service
from hrdshield.cases.enums import CaseEventKind, CaseStatus, Severity
from hrdshield.cases.models import Case, CaseEvent, CaseLink
from hrdshield.cases.retention import RetentionPolicy
from hrdshield.cases.sla import OPEN_STATUSES, SlaPolicy, covers
from hrdshield.db import split_list
from hrdshield.errors import N_, Conflict, NotFound, ValidationProblem
from hrdshield.notify.enums import TemplateKey
from hrdshield.security import audit
from hrdshield.security.rbac import Principal, Role

TRANSITIONS: dict[CaseStatus, set[CaseStatus]] = {
    CaseStatus.NEW: {CaseStatus.TRIAGED},
    CaseStatus.TRIAGED: {CaseStatus.IN_PROGRESS, CaseStatus.MITIGATED, CaseStatus.CLOSED},
    CaseStatus.IN_PROGRESS: {CaseStatus.MITIGATED, CaseStatus.CLOSED},
    CaseStatus.MITIGATED: {CaseStatus.IN_PROGRESS, CaseStatus.CLOSED},
    CaseStatus.CLOSED: {CaseStatus.IN_PROGRESS},
    CaseStatus.DUPLICATE: set(),
}
_WORKERS = (Role.REVIEWER, Role.LEAD)
MAX_NOTE = 20_000


def _record(
    session: Session,
    actor: Principal,
    target: Case,
    kind: CaseEventKind,
    *,
    before: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    body: str | None = None,
) -> CaseEvent:
    now = clock.now()
    event = CaseEvent(
        case_id=target.id,
        kind=kind,
        at=now,
        actor_id=actor.user_id,
        actor_role=actor.role.value if actor.role else None,
        body=body,
        data=data or {},
    )
    session.add(event)
    target.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"case.{kind.value}",
        entity_type="case",
        entity_id=target.id,
        before=before,
        after=service.snapshot(target),
        detail=data,
    )
    return event


def triage(
    *, session: Session, actor: Principal, case_id: str, severity: Severity, policy: SlaPolicy
) -> Case:
    """Confirm (or change) the severity of a new case; this acknowledges it and stops the ladder."""
    triaged = service.get(session=session, actor=actor, case_id=case_id)
    if triaged.status is not CaseStatus.NEW:
        raise Conflict(N_("only a new case can be triaged; this one was triaged already"))
    before = service.snapshot(triaged)
    now = clock.now()
    previous = triaged.severity
    triaged.severity, triaged.status = severity, CaseStatus.TRIAGED
    triaged.acknowledged_at = now
    triaged.sla_due_at = policy.due(triaged.created_at, severity)
    service.notify_defender(session, triaged, TemplateKey.TRIAGED)
    _record(
        session,
        actor,
        triaged,
        CaseEventKind.TRIAGED,
        before=before,
        data={"severity": severity.value, "suggested": previous.value},
    )
    if triaged.assignee_id is None:
        suggested = suggest_assignee(session=session, target=triaged)
        if suggested is not None:
            _assign(session, actor, triaged, suggested)
    return triaged


def change_status(
    *,
    session: Session,
    actor: Principal,
    case_id: str,
    status: CaseStatus,
    retention_policy: RetentionPolicy | None = None,
) -> Case:
    """Move a case along its lifecycle; refuse moves the lifecycle does not allow."""
    changed = service.get(session=session, actor=actor, case_id=case_id)
    if status is CaseStatus.DUPLICATE:
        raise ValidationProblem(N_("mark a duplicate by merging it into the case it repeats"))
    if status not in TRANSITIONS[changed.status]:
        raise Conflict(
            N_("a %(current)s case cannot become %(wanted)s"),
            current=changed.status.value,
            wanted=status.value,
        )
    before = service.snapshot(changed)
    changed.status = status
    changed.closed_at = clock.now() if status is CaseStatus.CLOSED else None
    _record(
        session,
        actor,
        changed,
        CaseEventKind.STATUS_CHANGED,
        before=before,
        data={"from": before["status"], "to": status.value},
    )
    if status is CaseStatus.CLOSED:
        service.notify_defender(session, changed, TemplateKey.OUTCOME)
        retention.schedule(
            session=session, case_id=changed.id, policy=retention_policy or RetentionPolicy()
        )
    elif before["status"] == CaseStatus.CLOSED.value:
        retention.cancel(session=session, case_id=changed.id)  # reopened: kept again
    return changed


def open_load(session: Session, user_id: str) -> int:
    """Return how many open cases a person is assigned."""
    count = session.scalar(
        select(func.count())
        .select_from(Case)
        .where(Case.assignee_id == user_id, Case.status.in_(OPEN_STATUSES))
    )
    return int(count or 0)


def suggest_assignee(*, session: Session, target: Case) -> User | None:
    """Pick an active reviewer who covers the case (the queue's rule), with the least work.

    Among those who cover it, a reviewer who lists the case's language comes before one who
    lists no languages (and so covers all of them); then the least open work, then seniority.
    """
    candidates = []
    for reviewer in session.scalars(
        select(User).where(User.role == Role.REVIEWER, User.is_active.is_(True))
    ):
        if not covers(reviewer, target):
            continue
        generalist = target.language not in split_list(reviewer.languages)
        load = open_load(session, reviewer.id)
        candidates.append(((generalist, load, reviewer.created_at, reviewer.id), reviewer))
    if not candidates:
        return None
    return min(candidates, key=lambda candidate: candidate[0])[1]


def _assign(session: Session, actor: Principal, target: Case, assignee: User | None) -> None:
    before = service.snapshot(target)
    previous = target.assignee_id
    target.assignee_id = assignee.id if assignee else None
    _record(
        session,
        actor,
        target,
        CaseEventKind.ASSIGNED,
        before=before,
        data={"from": previous, "to": target.assignee_id},
    )


def assign(*, session: Session, actor: Principal, case_id: str, assignee_id: str | None) -> Case:
    """Give a case to a reviewer or lead (None: the best-placed reviewer, or nobody)."""
    target = service.get(session=session, actor=actor, case_id=case_id)
    if assignee_id is None:
        assignee = suggest_assignee(session=session, target=target)
    else:
        assignee = session.get(User, assignee_id)
        if assignee is None or assignee.role not in _WORKERS or not assignee.is_active:
            raise NotFound(N_("no active reviewer or lead with that id"))
    _assign(session, actor, target, assignee)
    return target


def add_note(*, session: Session, actor: Principal, case_id: str, body: str) -> CaseEvent:
    """Add an internal note (encrypted; never shown to the reporter)."""
    body = body.strip()
    if not body or len(body) > MAX_NOTE:
        raise ValidationProblem(N_("a note needs 1 to %(most)s characters"), most=MAX_NOTE)
    target = service.get(session=session, actor=actor, case_id=case_id)
    return _record(session, actor, target, CaseEventKind.NOTE, body=body)


def link(*, session: Session, actor: Principal, case_id: str, other_case_id: str) -> CaseLink:
    """Link two cases the actor may see (recorded on both timelines)."""
    if case_id == other_case_id:
        raise ValidationProblem("a case cannot be linked to itself")
    first = service.get(session=session, actor=actor, case_id=case_id)
    second = service.get(session=session, actor=actor, case_id=other_case_id)
    left, right = sorted((first.id, second.id))
    existing = session.scalar(
        select(CaseLink).where(CaseLink.case_id == left, CaseLink.other_case_id == right)
    )
    if existing is not None:
        return existing
    created = CaseLink(case_id=left, other_case_id=right, created_by=actor.user_id)
    session.add(created)
    _record(session, actor, first, CaseEventKind.LINKED, data={"case": second.reference})
    _record(session, actor, second, CaseEventKind.LINKED, data={"case": first.reference})
    return created


def merge(*, session: Session, actor: Principal, case_id: str, into_case_id: str) -> Case:
    """Mark a case as a duplicate of another; the kept case's timeline records the merge."""
    duplicate = service.get(session=session, actor=actor, case_id=case_id)
    kept = service.get(session=session, actor=actor, case_id=into_case_id)
    if duplicate.id == kept.id:
        raise ValidationProblem("a case cannot be merged into itself")
    if kept.status is CaseStatus.DUPLICATE:
        raise Conflict("merge into the case that was kept, not into another duplicate")
    if duplicate.status is CaseStatus.DUPLICATE:
        raise Conflict("this case is already a duplicate")
    link(session=session, actor=actor, case_id=duplicate.id, other_case_id=kept.id)
    before = service.snapshot(duplicate)
    duplicate.status, duplicate.duplicate_of_id = CaseStatus.DUPLICATE, kept.id
    duplicate.closed_at = clock.now()
    _record(
        session,
        actor,
        duplicate,
        CaseEventKind.MERGED,
        before=before,
        data={"into": kept.reference},
    )
    _record(session, actor, kept, CaseEventKind.MERGED, data={"from": duplicate.reference})
    return duplicate


def timeline(*, session: Session, actor: Principal, case_id: str) -> list[CaseEvent]:
    """Return a case's timeline, oldest first; people outside the response team see no notes."""
    target = service.get(session=session, actor=actor, case_id=case_id)
    query = select(CaseEvent).where(CaseEvent.case_id == target.id)
    if actor.role not in (*_WORKERS, Role.ADMIN):
        query = query.where(CaseEvent.kind != CaseEventKind.NOTE)  # notes are internal
    return list(session.scalars(query.order_by(CaseEvent.id)))
