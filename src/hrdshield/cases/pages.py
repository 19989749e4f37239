"""Reviewers' pages: the queue, and one case with its timeline and the forms to work it."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.accounts.models import User
from hrdshield.cases import intake, service, sla, workflow
from hrdshield.cases.enums import CaseStatus, Severity
from hrdshield.defenders.models import Defender
from hrdshield.errors import N_, NotFound
from hrdshield.notify import service as notifications
from hrdshield.security.rbac import Permission, Principal
from hrdshield.web.deps import DB_SESSION, require
from hrdshield.web.templating import render

router = APIRouter(include_in_schema=False)


def minutes_left(due: datetime | None, now: datetime) -> int | None:
    """Return whole minutes until `due` (negative once breached)."""
    if due is None:
        return None
    return int((due - now).total_seconds() // 60)


@router.get("/staff/queue")
def queue_page(
    request: Request,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_WORK),
) -> Response:
    """Show the open cases to work, soonest breach first."""
    reviewer = session.get(User, principal.user_id)
    assert reviewer is not None  # noqa: S101  (a signed-in principal has a user row)
    now = clock.now()
    rows = sla.queue(session=session, reviewer=reviewer)
    return render(
        request,
        "cases/queue.html",
        {
            "cases": [(row, minutes_left(row.sla_due_at, now)) for row in rows],
            "me": reviewer.id,
        },
    )


@router.get("/staff/cases/{case_id}")
def case_page(
    request: Request,
    case_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_WORK),
) -> Response:
    """Show one case, its timeline and what can be done next."""
    shown = service.get(session=session, actor=principal, case_id=case_id)
    defender = session.get(Defender, shown.defender_id) if shown.defender_id else None
    return render(
        request,
        "cases/detail.html",
        {
            "case": shown,
            "defender": defender,
            "events": workflow.timeline(session=session, actor=principal, case_id=case_id),
            "next_statuses": sorted(workflow.TRANSITIONS[shown.status], key=lambda s: s.value),
            "severities": list(Severity),
            "minutes_left": minutes_left(shown.sla_due_at, clock.now()),
            "messages": intake.messages_of(session=session, case_id=shown.id),
            "notifications": notifications.list_for_case(session=session, case_id=shown.id),
        },
    )


def _back(case_id: str) -> RedirectResponse:
    return RedirectResponse(f"/staff/cases/{case_id}", status_code=303)


@router.post("/staff/cases/{case_id}/triage")
def triage_form(
    request: Request,
    case_id: str,
    severity: Severity = Form(...),
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_WORK),
) -> Response:
    """Confirm the severity."""
    workflow.triage(
        session=session,
        actor=principal,
        case_id=case_id,
        severity=severity,
        policy=request.app.state.sla_policy,
    )
    return _back(case_id)


@router.post("/staff/cases/{case_id}/status")
def status_form(
    request: Request,
    case_id: str,
    status: CaseStatus = Form(...),
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_WORK),
) -> Response:
    """Move the case along its lifecycle."""
    workflow.change_status(
        session=session,
        actor=principal,
        case_id=case_id,
        status=status,
        retention_policy=request.app.state.retention_policy,
    )
    return _back(case_id)


@router.post("/staff/cases/{case_id}/assign")
def assign_form(
    case_id: str,
    to: str = Form("me", max_length=10),
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_WORK),
) -> Response:
    """Take the case, or let the best-placed reviewer have it."""
    assignee = principal.user_id if to == "me" else None
    workflow.assign(session=session, actor=principal, case_id=case_id, assignee_id=assignee)
    return _back(case_id)


@router.post("/staff/cases/{case_id}/notes")
def note_form(
    case_id: str,
    body: str = Form("", max_length=20_000),
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_WORK),
) -> Response:
    """Add an internal note."""
    workflow.add_note(session=session, actor=principal, case_id=case_id, body=body)
    return _back(case_id)


@router.post("/staff/cases/{case_id}/notifications/{notification_id}/requeue")
def requeue_form(
    case_id: str,
    notification_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_WORK),
) -> Response:
    """Send a failed notification of this case again, with a fresh set of attempts (audited)."""
    shown = service.get(session=session, actor=principal, case_id=case_id)
    failed = notifications.get(session=session, notification_id=notification_id)
    if failed.case_id != shown.id:
        raise NotFound(N_("no such notification"))
    notifications.requeue(session=session, actor=principal, notification_id=failed.id)
    return RedirectResponse(f"/staff/cases/{case_id}?requeued=1#notifications-heading", 303)


@router.get("/portal/cases/{case_id}")
def portal_case_page(
    request: Request,
    case_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.PORTAL),
) -> Response:
    """Show a defender or partner one of their cases: its status and timeline, never the notes."""
    shown = service.get(session=session, actor=principal, case_id=case_id)
    return render(
        request,
        "portal/case.html",
        {
            "case": shown,
            "events": workflow.timeline(session=session, actor=principal, case_id=case_id),
        },
    )
