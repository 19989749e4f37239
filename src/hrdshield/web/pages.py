"""Pages that belong to no single domain: the public front page and the two home pages."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrdshield.cases.models import Case
from hrdshield.defenders.models import Defender
from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Permission, Principal, Role
from hrdshield.web.deps import DB_SESSION, current_principal, require
from hrdshield.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/")
def index(request: Request) -> Response:
    """Show what HRD Shield is and where to go."""
    return render(request, "index.html")


@router.get("/home")
def home(principal: Principal = Depends(current_principal)) -> Response:
    """Send each person to the home page of their role."""
    target = "/portal" if principal.role in (Role.HRD, Role.PARTNER) else "/staff"
    return RedirectResponse(target, status_code=303)


def _counts(session: Session, column: object) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).group_by(column)).all()  # type: ignore[call-overload]
    return {getattr(value, "value", str(value)): count for value, count in rows}


@router.get("/staff")
def staff_home(
    request: Request,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.STAFF_HOME),
) -> Response:
    """Show staff the state of protection at a glance, and the alerts sent to them."""
    from hrdshield.notify import service as notifications  # noqa: PLC0415  (avoid import cycle)

    assert principal.user_id is not None  # noqa: S101  (a signed-in principal has a user)
    return render(
        request,
        "staff/home.html",
        {
            "defenders_by_status": _counts(session, Defender.status),
            "cases_by_status": _counts(session, Case.status),
            "cases_by_severity": _counts(session, Case.severity),
            "audit_entries": session.scalar(select(func.count()).select_from(AuditEntry)) or 0,
            "alerts": notifications.user_inbox(session=session, user_id=principal.user_id),
        },
    )


@router.get("/portal")
def portal_home(
    request: Request,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.PORTAL),
) -> Response:
    """Show a defender their enrolment and cases, or a partner what its organisation reported."""
    from hrdshield.cases import service as cases  # noqa: PLC0415  (avoid import cycle)
    from hrdshield.defenders import service as defenders  # noqa: PLC0415

    rows, total = defenders.list_page(session=session, actor=principal, limit=50)
    return render(
        request,
        "portal/home.html",
        {
            "defenders": rows,
            "total": total,
            "cases": cases.list_recent(session=session, actor=principal, limit=50),
        },
    )
