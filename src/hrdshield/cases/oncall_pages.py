"""The on-call roster page: who is on duty now and next, and forms to change it (no JavaScript).

Times are entered and shown in UTC, so a roster reads the same to a team spread over time zones.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.cases import oncall
from hrdshield.cases.enums import OnCallDuty
from hrdshield.errors import N_, DomainError, ValidationProblem
from hrdshield.security.rbac import Permission, Principal
from hrdshield.web.deps import DB_SESSION, require
from hrdshield.web.errors import shown
from hrdshield.web.templating import render

router = APIRouter(include_in_schema=False)
_TIME_FORMAT = "%Y-%m-%dT%H:%M"  # what a datetime-local field sends


def parse_utc(value: str, *, required: bool) -> datetime | None:
    """Return a datetime-local field's value as UTC, or None when empty and optional."""
    value = value.strip()
    if not value and not required:
        return None
    try:
        return datetime.strptime(value[:16], _TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise ValidationProblem(N_("enter the times as a date and a time, in UTC")) from None


def _page(
    request: Request,
    session: Session,
    *,
    values: dict[str, str] | None = None,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    now = clock.now()
    people = oncall.eligible_people(session=session)
    context: dict[str, Any] = {
        "shifts": oncall.roster(session=session, now=now),
        "names": {person.id: person.display_name for person in people},
        "people": people,
        "duties": list(OnCallDuty),
        "lead_now": oncall.on_duty(session=session, duty=OnCallDuty.LEAD, at=now),
        "head_now": oncall.on_duty(session=session, duty=OnCallDuty.HEAD_OF_RESPONSE, at=now),
        "values": values or {"starts_at": now.strftime(_TIME_FORMAT)},
        "problem": problem,
        "added": request.query_params.get("changed") == "1",
    }
    return render(request, "cases/oncall.html", context, status_code=status_code)


@router.get("/staff/oncall")
def roster_page(
    request: Request,
    session: Session = DB_SESSION,
    _principal: Principal = require(Permission.ONCALL_MANAGE),
) -> Response:
    """Show who is on duty now and the shifts to come."""
    return _page(request, session)


@router.post("/staff/oncall")
async def add_shift_form(
    request: Request,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.ONCALL_MANAGE),
) -> Response:
    """Put somebody on duty; on a problem, show the roster again with it and nothing saved."""
    form = await request.form()
    values = {
        name: str(form.get(name, ""))[:64] for name in ("duty", "user_id", "starts_at", "ends_at")
    }
    try:
        if values["duty"] not in {duty.value for duty in OnCallDuty}:
            raise ValidationProblem(N_("choose a duty"))
        with session.begin_nested():
            oncall.add_shift(
                session=session,
                actor=principal,
                duty=OnCallDuty(values["duty"]),
                user_id=values["user_id"],
                starts_at=parse_utc(values["starts_at"], required=True) or clock.now(),
                ends_at=parse_utc(values["ends_at"], required=False),
            )
    except DomainError as error:
        return _page(
            request, session, values=values, problem=shown(request, error), status_code=400
        )
    return RedirectResponse("/staff/oncall?changed=1", status_code=303)


@router.post("/staff/oncall/{shift_id}/remove")
def remove_shift_form(
    shift_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.ONCALL_MANAGE),
) -> Response:
    """Take a shift off the roster."""
    oncall.remove_shift(session=session, actor=principal, shift_id=shift_id)
    return RedirectResponse("/staff/oncall?changed=1", status_code=303)
