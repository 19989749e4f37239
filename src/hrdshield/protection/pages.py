"""Safety pages: the defender's panic button, partners' and reviewers' protective actions.

Every action is one form post, with no JavaScript; the panic button asks for nothing but the
press. A refused request shows the page again with the reason, and changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from hrdshield.defenders import service as defenders
from hrdshield.defenders.enums import ConsentScope
from hrdshield.defenders.models import Defender
from hrdshield.errors import DomainError, NotFound, ValidationProblem
from hrdshield.protection import service
from hrdshield.protection.enums import ActionKind, ActionState
from hrdshield.security.rbac import Permission, Principal, Role
from hrdshield.web.deps import DB_SESSION, require
from hrdshield.web.templating import render

router = APIRouter(include_in_schema=False)
DURATIONS = {"6h": timedelta(hours=6), "48h": timedelta(hours=48), "7d": timedelta(days=7),
             "30d": timedelta(days=30), "": None}  # fmt: skip
_REQUESTABLE = [kind for kind in ActionKind if kind is not ActionKind.ACCOUNT_RECOVERY]


def _base(principal: Principal, defender_id: str) -> str:
    if principal.role is Role.HRD:
        return "/portal/safety"
    if principal.role is Role.PARTNER:
        return f"/portal/defenders/{defender_id}/safety"
    return f"/staff/defenders/{defender_id}/safety"


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    defender: Defender,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    actions = service.for_defender(session=session, actor=principal, defender_id=defender.id)
    consents = {consent.scope for consent in defender.consents if consent.is_active}
    return render(
        request,
        "protection/safety.html",
        {
            "defender": defender,
            "actions": actions,
            "commands": {
                a.id: service.commands_of(session=session, action_id=a.id) for a in actions
            },
            "base": _base(principal, defender.id),
            "kinds": _REQUESTABLE if principal.role is Role.HRD else list(ActionKind),
            "durations": list(DURATIONS),
            "auto_shield": ConsentScope.AUTO_SHIELD in consents,
            "error": error,
            "done": request.query_params.get("done", ""),
            "lockdown_on": any(a.kind is ActionKind.LOCKDOWN and a.state.active for a in actions),
            "revertible": (ActionState.APPLIED, ActionState.REQUESTED, ActionState.FAILED),
        },
        status_code=status_code,
    )


def _own_defender(session: Session, principal: Principal) -> Defender:
    if principal.defender_id is None:
        raise NotFound("enrol as a defender first")
    return defenders.get(session=session, actor=principal, defender_id=principal.defender_id)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _act(
    request: Request,
    session: Session,
    principal: Principal,
    defender: Defender,
    *,
    work: Any,
    done: str,
) -> Response:
    try:
        with session.begin_nested():
            work()
    except DomainError as error:
        return _page(
            request, session, principal, defender, error=error.detail, status_code=error.status
        )
    return RedirectResponse(f"{_base(principal, defender.id)}?done={done}", status_code=303)


def _request_work(
    session: Session,
    principal: Principal,
    defender: Defender,
    values: dict[str, str],
    platform: str,
) -> Any:
    try:
        kind = ActionKind(values.get("kind", ""))
        duration = DURATIONS[values.get("duration", "")]
    except (ValueError, KeyError):
        raise ValidationProblem("choose a protective measure and how long it lasts") from None

    def work() -> None:
        service.request(
            session=session,
            actor=principal,
            defender_id=defender.id,
            kind=kind,
            duration=duration,
            reason=values.get("reason"),
            platform=platform,
        )

    return work


# --- the defender's own page ---------------------------------------------------------------


@router.get("/portal/safety")
def own_safety(
    request: Request,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.PROTECTION_SELF),
) -> Response:
    """Show the panic button, the defender's protective actions and their state."""
    return _page(request, session, principal, _own_defender(session, principal))


@router.post("/portal/safety/panic")
def panic_button(
    request: Request,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.PROTECTION_SELF),
) -> Response:
    """Lock the defender's account down at once: one press, nothing to confirm."""
    defender = _own_defender(session, principal)
    platform = request.app.state.settings.platform_adapter

    def work() -> None:
        service.request(
            session=session,
            actor=principal,
            defender_id=defender.id,
            kind=ActionKind.LOCKDOWN,
            platform=platform,
        )

    return _act(request, session, principal, defender, work=work, done="lockdown")


@router.post("/portal/safety/actions")
async def own_request(
    request: Request,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.PROTECTION_SELF),
) -> Response:
    """Turn another protective measure on for the defender's own account."""
    defender = _own_defender(session, principal)
    values = await _form(request)
    platform = request.app.state.settings.platform_adapter
    try:
        work = _request_work(session, principal, defender, values, platform)
    except DomainError as error:
        return _page(request, session, principal, defender, error=error.detail, status_code=422)
    return _act(request, session, principal, defender, work=work, done="requested")


@router.post("/portal/safety/auto-shield")
async def own_auto_shield(
    request: Request,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.PROTECTION_SELF),
) -> Response:
    """Opt in to (or out of) a shield that turns on by itself during a pile-on."""
    defender = _own_defender(session, principal)
    granted = (await _form(request)).get("auto_shield") == "on"

    def work() -> None:
        defenders.set_consent(
            session=session,
            actor=principal,
            defender_id=defender.id,
            scope=ConsentScope.AUTO_SHIELD,
            granted=granted,
        )

    return _act(request, session, principal, defender, work=work, done="preference")


@router.post("/portal/safety/actions/{action_id}/revert")
def own_revert(
    request: Request,
    action_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.PROTECTION_SELF),
) -> Response:
    """Turn a protective measure off."""
    defender = _own_defender(session, principal)

    def work() -> None:
        service.revert(session=session, actor=principal, action_id=action_id)

    return _act(request, session, principal, defender, work=work, done="reverted")


# --- partners and reviewers, for a defender --------------------------------------------------


@router.get("/portal/defenders/{defender_id}/safety")
@router.get("/staff/defenders/{defender_id}/safety")
def defender_safety(
    request: Request,
    defender_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.PROTECTION_ACT),
) -> Response:
    """Show a defender's protective actions, with the forms to request, approve and revert."""
    defender = defenders.get(session=session, actor=principal, defender_id=defender_id)
    return _page(request, session, principal, defender)


@router.post("/portal/defenders/{defender_id}/safety/actions")
@router.post("/staff/defenders/{defender_id}/safety/actions")
async def defender_request(
    request: Request,
    defender_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.PROTECTION_ACT),
) -> Response:
    """Request a protective measure for a defender (a second person may have to approve)."""
    defender = defenders.get(session=session, actor=principal, defender_id=defender_id)
    values = await _form(request)
    platform = request.app.state.settings.platform_adapter
    try:
        work = _request_work(session, principal, defender, values, platform)
    except DomainError as error:
        return _page(request, session, principal, defender, error=error.detail, status_code=422)
    return _act(request, session, principal, defender, work=work, done="requested")


@router.post("/portal/defenders/{defender_id}/safety/actions/{action_id}/{decision}")
@router.post("/staff/defenders/{defender_id}/safety/actions/{action_id}/{decision}")
def defender_decide(
    request: Request,
    *,
    defender_id: str,
    action_id: str,
    decision: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.PROTECTION_ACT),
) -> Response:
    """Approve, refuse or revert an action on a defender's account."""
    defender = defenders.get(session=session, actor=principal, defender_id=defender_id)
    decide = {"approve": service.approve, "refuse": service.refuse, "revert": service.revert}
    if decision not in decide:
        raise NotFound("no such decision")

    def work() -> None:
        action = service.get(session=session, actor=principal, action_id=action_id)
        if action.defender_id != defender.id:
            raise NotFound("no protective action with that id")
        decide[decision](session=session, actor=principal, action_id=action_id)

    return _act(request, session, principal, defender, work=work, done=decision)
