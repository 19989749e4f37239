"""JSON routes for the on-call roster: who the escalation ladder alerts, managed by leads."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from hrdshield.cases import oncall
from hrdshield.cases.enums import OnCallDuty
from hrdshield.cases.oncall_models import OnCallShift
from hrdshield.security.rbac import Permission, Principal
from hrdshield.web.deps import DB_SESSION, require

router = APIRouter(prefix="/oncall", tags=["cases"])


class OnCallShiftCreate(BaseModel):
    """Put somebody on duty; a head of response may be designated with no end."""

    model_config = ConfigDict(extra="forbid")

    duty: OnCallDuty
    user_id: str = Field(max_length=32)
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None


class OnCallShiftRead(BaseModel):
    """A shift on the roster."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    duty: OnCallDuty
    user_id: str
    starts_at: datetime
    ends_at: datetime | None
    created_by: str | None
    created_at: datetime


@router.get("", response_model=list[OnCallShiftRead])
def list_shifts(
    session: Session = DB_SESSION,
    _principal: Principal = require(Permission.ONCALL_MANAGE),
) -> list[OnCallShift]:
    """Return the shifts that have not ended, soonest first."""
    return oncall.roster(session=session)


@router.post("", response_model=OnCallShiftRead, status_code=201)
def add_shift(
    body: OnCallShiftCreate,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.ONCALL_MANAGE),
) -> OnCallShift:
    """Put a lead (or, as head of response, an administrator) on duty."""
    return oncall.add_shift(
        session=session,
        actor=principal,
        duty=body.duty,
        user_id=body.user_id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
    )


@router.delete("/{shift_id}", status_code=204)
def remove_shift(
    shift_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.ONCALL_MANAGE),
) -> Response:
    """Take a shift off the roster."""
    oncall.remove_shift(session=session, actor=principal, shift_id=shift_id)
    return Response(status_code=204)
