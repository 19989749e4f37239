"""JSON routes for legal holds: keep a closed case and its evidence past its expiry date."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from hrdshield.cases import retention
from hrdshield.cases.retention_models import CaseRetention
from hrdshield.security.rbac import Permission, Principal
from hrdshield.web.deps import DB_SESSION, require

router = APIRouter(prefix="/cases", tags=["cases"])


class LegalHoldIn(BaseModel):
    """Place or extend a legal hold."""

    model_config = ConfigDict(extra="forbid")

    until: datetime
    reason: str = Field(min_length=1, max_length=retention.MAX_HOLD_REASON)


class RetentionRead(BaseModel):
    """A case's retention as the response team sees it."""

    case_id: str
    expires_at: datetime | None
    legal_hold_until: datetime | None
    legal_hold_reason: str | None
    warned_at: datetime | None


@router.put("/{case_id}/legal-hold", response_model=RetentionRead)
def set_legal_hold(
    case_id: str,
    body: LegalHoldIn,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_WORK),
) -> CaseRetention:
    """Keep a case and its evidence at least until a date, whatever its expiry date."""
    return retention.set_legal_hold(
        session=session, actor=principal, case_id=case_id, until=body.until, reason=body.reason
    )


@router.delete("/{case_id}/legal-hold", status_code=204)
def release_legal_hold(
    case_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_WORK),
) -> Response:
    """End a case's legal hold; it then expires as usual, after a fresh warning."""
    retention.release_legal_hold(session=session, actor=principal, case_id=case_id)
    return Response(status_code=204)
