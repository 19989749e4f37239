"""JSON routes for cases: intake, the reviewers' queue and the work on each case."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.accounts.models import User
from hrdshield.cases import service, sla, workflow
from hrdshield.cases.models import Case, CaseEvent
from hrdshield.cases.schemas import (
    AssignIn,
    CaseCreate,
    CaseEventRead,
    CaseRead,
    NoteIn,
    OtherCaseIn,
    QueueItem,
    StatusIn,
    TriageIn,
)
from hrdshield.security.rbac import Permission, Principal
from hrdshield.web.deps import DB_SESSION, require

router = APIRouter(prefix="/cases", tags=["cases"])


@router.post("", response_model=CaseRead, status_code=201)
def create_case(
    body: CaseCreate,
    request: Request,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_CREATE),
) -> Case:
    """Open a case."""
    return service.create(
        session=session, actor=principal, case_in=body, policy=request.app.state.sla_policy
    )


@router.get("", response_model=list[CaseRead])
def list_cases(
    limit: int = Query(50, ge=1, le=200),
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_READ),
) -> list[Case]:
    """List the newest cases you may see."""
    return service.list_recent(session=session, actor=principal, limit=limit)


@router.get("/queue", response_model=list[QueueItem])
def queue(
    limit: int = Query(100, ge=1, le=500),
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_WORK),
) -> list[dict[str, Any]]:
    """Your queue: open cases in your languages and regions, soonest breach first."""
    reviewer = session.get(User, principal.user_id)
    assert reviewer is not None  # noqa: S101  (a signed-in principal has a user row)
    now = clock.now()
    return [
        {
            **CaseRead.model_validate(row, from_attributes=True).model_dump(),
            "breached": row.breached_at is not None
            or (row.sla_due_at is not None and row.sla_due_at <= now),
        }
        for row in sla.queue(session=session, reviewer=reviewer, limit=limit)
    ]


@router.get("/{case_id}", response_model=CaseRead)
def get_case(
    case_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_READ),
) -> Case:
    """Return one case."""
    return service.get(session=session, actor=principal, case_id=case_id)


@router.get("/{case_id}/timeline", response_model=list[CaseEventRead])
def timeline(
    case_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_READ),
) -> list[CaseEvent]:
    """Return the case's timeline, oldest first (internal notes only for the response team)."""
    return workflow.timeline(session=session, actor=principal, case_id=case_id)


@router.post("/{case_id}/triage", response_model=CaseRead)
def triage(
    case_id: str,
    body: TriageIn,
    request: Request,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_WORK),
) -> Case:
    """Confirm the severity; acknowledges the case and assigns it if nobody has it."""
    return workflow.triage(
        session=session,
        actor=principal,
        case_id=case_id,
        severity=body.severity,
        policy=request.app.state.sla_policy,
    )


@router.post("/{case_id}/status", response_model=CaseRead)
def change_status(
    case_id: str,
    body: StatusIn,
    request: Request,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_WORK),
) -> Case:
    """Move the case along its lifecycle; closing starts the retention period."""
    return workflow.change_status(
        session=session,
        actor=principal,
        case_id=case_id,
        status=body.status,
        retention_policy=request.app.state.retention_policy,
    )


@router.post("/{case_id}/assign", response_model=CaseRead)
def assign(
    case_id: str,
    body: AssignIn,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_WORK),
) -> Case:
    """Assign the case to a reviewer or lead."""
    return workflow.assign(
        session=session, actor=principal, case_id=case_id, assignee_id=body.assignee_id
    )


@router.post("/{case_id}/notes", response_model=CaseEventRead, status_code=201)
def add_note(
    case_id: str,
    body: NoteIn,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_WORK),
) -> CaseEvent:
    """Add an internal note."""
    return workflow.add_note(session=session, actor=principal, case_id=case_id, body=body.body)


@router.post("/{case_id}/links", status_code=201)
def link(
    case_id: str,
    body: OtherCaseIn,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_WORK),
) -> dict[str, str]:
    """Link two cases."""
    workflow.link(session=session, actor=principal, case_id=case_id, other_case_id=body.case_id)
    return {"status": "linked"}


@router.post("/{case_id}/merge", response_model=CaseRead)
def merge(
    case_id: str,
    body: OtherCaseIn,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_WORK),
) -> Case:
    """Mark this case a duplicate of another."""
    return workflow.merge(
        session=session, actor=principal, case_id=case_id, into_case_id=body.case_id
    )
