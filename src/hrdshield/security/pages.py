"""The audit log as auditors read it: newest entries, and the chain checked on request."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrdshield.security import audit
from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Permission, Principal
from hrdshield.web.deps import DB_SESSION, require
from hrdshield.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100


@router.get("/staff/audit")
def audit_log(
    request: Request,
    before: int | None = Query(None, ge=1),
    verify: bool = False,
    session: Session = DB_SESSION,
    _principal: Principal = require(Permission.AUDIT_READ),
) -> Response:
    """List audit entries, newest first; with ?verify=1 also check the whole chain."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(PAGE_SIZE)
    if before is not None:
        query = query.where(AuditEntry.seq < before)
    entries = session.scalars(query).all()
    total = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    result = audit.verify(session, request.app.state.keyring) if verify else None
    return render(
        request,
        "audit/log.html",
        {
            "entries": entries,
            "total": total,
            "verification": result,
            "older": entries[-1].seq if len(entries) == PAGE_SIZE else None,
        },
    )
