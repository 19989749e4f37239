"""JSON routes of protection: partners' and reviewers' systems request and follow actions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from hrdshield.errors import NotFound
from hrdshield.protection import service
from hrdshield.protection.models import ProtectiveAction
from hrdshield.protection.schemas import ActionCreate, ActionRead, CommandRead
from hrdshield.security.rbac import Permission, Principal
from hrdshield.web.deps import DB_SESSION, require

router = APIRouter(tags=["protection"])


@router.get("/defenders/{defender_id}/actions", response_model=list[ActionRead])
def list_actions(
    defender_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.PROTECTION_ACT),
) -> list[ProtectiveAction]:
    """List a defender's protective actions, newest first."""
    return service.for_defender(session=session, actor=principal, defender_id=defender_id)


@router.post("/defenders/{defender_id}/actions", response_model=ActionRead, status_code=201)
def request_action(
    defender_id: str,
    body: ActionCreate,
    request: Request,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.PROTECTION_ACT),
) -> ProtectiveAction:
    """Request a protective action (it may wait for a second person to approve)."""
    return service.request(
        session=session,
        actor=principal,
        defender_id=defender_id,
        kind=body.kind,
        duration=timedelta(hours=body.hours) if body.hours else None,
        reason=body.reason,
        case_id=body.case_id,
        platform=request.app.state.settings.platform_adapter,
    )


@router.get("/actions/awaiting-approval", response_model=list[ActionRead])
def awaiting_approval(
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.PROTECTION_ACT),
) -> list[ProtectiveAction]:
    """List the actions waiting for your organisation's (or a second reviewer's) approval."""
    return service.awaiting_approval(session=session, actor=principal)


@router.get("/actions/{action_id}")
def get_action(
    action_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.PROTECTION_ACT),
) -> dict[str, Any]:
    """Return one action with the steps the platform was asked to carry out."""
    action = service.get(session=session, actor=principal, action_id=action_id)
    return {
        **ActionRead.model_validate(action).model_dump(mode="json"),
        "commands": [
            CommandRead.model_validate(command).model_dump(mode="json")
            for command in service.commands_of(session=session, action_id=action.id)
        ],
    }


@router.post("/actions/{action_id}/{decision}", response_model=ActionRead)
def decide(
    action_id: str,
    decision: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.PROTECTION_ACT),
) -> ProtectiveAction:
    """Approve, refuse or revert an action (`decision`: approve, refuse or revert)."""
    handlers = {"approve": service.approve, "refuse": service.refuse, "revert": service.revert}
    if decision not in handlers:
        raise NotFound("decide with approve, refuse or revert")
    return handlers[decision](session=session, actor=principal, action_id=action_id)
