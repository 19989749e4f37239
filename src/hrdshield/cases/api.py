"""JSON routes for cases (skeleton)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from hrdshield.cases import service
from hrdshield.cases.models import Case
from hrdshield.cases.schemas import CaseCreate, CaseRead
from hrdshield.security.rbac import Permission, Principal
from hrdshield.web.deps import DB_SESSION, require

router = APIRouter(prefix="/cases", tags=["cases"])


@router.post("", response_model=CaseRead, status_code=201)
def create_case(
    body: CaseCreate,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_CREATE),
) -> Case:
    """Open a case."""
    return service.create(session=session, actor=principal, case_in=body)


@router.get("", response_model=list[CaseRead])
def list_cases(
    limit: int = Query(50, ge=1, le=200),
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_READ),
) -> list[Case]:
    """List the newest cases you may see."""
    return service.list_recent(session=session, actor=principal, limit=limit)


@router.get("/{case_id}", response_model=CaseRead)
def get_case(
    case_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_READ),
) -> Case:
    """Return one case."""
    return service.get(session=session, actor=principal, case_id=case_id)
