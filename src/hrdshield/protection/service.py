"""Protective actions: who may ask for which, the two-person rule, reversal and expiry.

A defender may protect their own account at once (the panic button asks for nothing more). A
trusted partner acts at once where the defender gave standing consent, otherwise a second
officer of the same organisation must approve; staff take account-level measures only with a
second reviewer. Detection may turn a shield on where the defender opted in. Every action has an
end or is explicitly "until revoked", can be reverted, and every change is in the audit log; the
platform is told through the command outbox, in the same transaction, never directly.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.cases.enums import CaseEventKind
from hrdshield.cases.models import CaseEvent
from hrdshield.defenders.enums import ConsentScope, DefenderStatus
from hrdshield.defenders.models import Defender
from hrdshield.errors import Conflict, Forbidden, NotFound, ValidationProblem
from hrdshield.notify import service as notifications
from hrdshield.notify.enums import TemplateKey
from hrdshield.protection.enums import (
    ActionKind,
    ActionState,
    CommandOperation,
    CommandStatus,
    Initiator,
)
from hrdshield.protection.models import PlatformCommand, ProtectiveAction
from hrdshield.security import audit
from hrdshield.security.rbac import Principal, Role

MAX_DURATION = timedelta(days=365)
SHIELD_DEFAULT = timedelta(hours=48)
RECOVERY_STEPS = (
    CommandOperation.SIGN_OUT_SESSIONS,
    CommandOperation.RESET_CREDENTIALS,
    CommandOperation.RESTORE_LOCKDOWN,
)
_TEMPORARY = (ActionKind.SHIELD, ActionKind.DISABLE_ACCOUNT)  # these must have an end
_platform = "demo"  # the adapter this deployment uses (set at start-up by `use_platform`)
_STAFF = (Role.REVIEWER, Role.LEAD)
EXPIRY = Principal.system("protection-expiry")


def use_platform(name: str) -> None:
    """Name the adapter that actions taken by the service itself are sent through."""
    global _platform  # noqa: PLW0603  (one platform per deployment, set once at start-up)
    _platform = name


def snapshot(action: ProtectiveAction) -> dict[str, Any]:
    """Return the audited state of an action."""
    return {
        "id": action.id,
        "defender_id": action.defender_id,
        "kind": action.kind.value,
        "state": action.state.value,
        "initiator": action.initiator.value,
        "requested_by": action.requested_by,
        "approved_by": action.approved_by,
        "expires_at": action.expires_at.isoformat() if action.expires_at else None,
    }


def _defender(session: Session, defender_id: str) -> Defender:
    defender = session.get(Defender, defender_id)
    if defender is None or defender.status is not DefenderStatus.ACTIVE:
        raise NotFound("no active defender with that id")
    return defender


def _consents(defender: Defender) -> set[ConsentScope]:
    return {consent.scope for consent in defender.consents if consent.is_active}


def _initiator(
    actor: Principal, defender: Defender, kind: ActionKind, rule: Initiator
) -> tuple[Initiator, bool]:
    """Decide on whose authority `actor` acts, and whether a second person must approve."""
    if actor.kind == "system":
        return rule, False
    if actor.role is Role.HRD:
        if actor.defender_id != defender.id:
            raise NotFound("no active defender with that id")
        if kind is ActionKind.ACCOUNT_RECOVERY:
            raise Forbidden("account recovery is opened by your partner or our reviewers")
        return Initiator.DEFENDER, False
    if actor.role is Role.PARTNER:
        if not actor.organisation_id or defender.organisation_id != actor.organisation_id:
            raise NotFound("no active defender with that id")
        if ConsentScope.PARTNER_ACTIONS in _consents(defender) and not kind.account_level:
            return Initiator.PARTNER_CONSENT, False
        return Initiator.PARTNER_APPROVED, True
    if actor.role in _STAFF:
        return Initiator.STAFF, kind.account_level
    raise Forbidden("your role does not allow protective actions")


def _handle(defender: Defender) -> str:
    handles = json.loads(defender.handles) if defender.handles else []
    if not handles:
        raise ValidationProblem("the defender has no platform account on record")
    return str(handles[0])


def _ends(kind: ActionKind, duration: timedelta | None) -> Any:
    if duration is None:
        if kind is ActionKind.SHIELD:
            duration = SHIELD_DEFAULT
        elif kind in _TEMPORARY:
            raise ValidationProblem("this action is temporary: choose how long it lasts")
        else:
            return None  # until revoked
    if duration <= timedelta(0) or duration > MAX_DURATION:
        raise ValidationProblem("an action lasts from a minute to a year")
    return clock.now() + duration


def request(
    *,
    session: Session,
    actor: Principal,
    defender_id: str,
    kind: ActionKind,
    duration: timedelta | None = None,
    reason: str | None = None,
    case_id: str | None = None,
    alert_id: str | None = None,
    platform: str | None = None,
    rule: Initiator = Initiator.DETECTION_RULE,
) -> ProtectiveAction:
    """Ask for a protective action; it goes to the platform now, or waits for a second person.

    `rule` names the authority of an action the service itself takes (a detection rule the
    defender opted in to, or their standing protected status).
    """
    defender = _defender(session, defender_id)
    initiator, needs_approval = _initiator(actor, defender, kind, rule)
    if kind is ActionKind.ACCOUNT_RECOVERY:
        needs_approval = False  # a takeover is an emergency; every step is on the case
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > 2000:
        raise ValidationProblem("a reason has at most 2000 characters")
    existing = active(session=session, defender_id=defender.id, kind=kind)
    if existing is not None and kind is not ActionKind.ACCOUNT_RECOVERY:
        raise Conflict("this protection is already on or on its way; revert it first")
    now = clock.now()
    action = ProtectiveAction(
        defender_id=defender.id,
        kind=kind,
        state=ActionState.AWAITING_APPROVAL if needs_approval else ActionState.REQUESTED,
        initiator=initiator,
        requested_by=actor.user_id,
        organisation_id=actor.organisation_id if actor.role is Role.PARTNER else None,
        reason=reason,
        case_id=case_id,
        alert_id=alert_id,
        platform=platform or _platform,
        account_handle=_handle(defender),
        expires_at=_ends(kind, duration),
        created_at=now,
        updated_at=now,
    )
    session.add(action)
    session.flush()
    if not needs_approval:
        _enqueue_apply(session, action)
    record_change(session, actor, action, "protection.request", before=None)
    return action


def _enqueue_apply(session: Session, action: ProtectiveAction) -> None:
    if action.kind is ActionKind.ACCOUNT_RECOVERY:
        for position, step in enumerate(RECOVERY_STEPS):
            _enqueue(session, action, step, position)
    else:
        _enqueue(session, action, CommandOperation.APPLY, 0)


def _enqueue(
    session: Session, action: ProtectiveAction, operation: CommandOperation, sequence: int
) -> PlatformCommand:
    command = PlatformCommand(
        action_id=action.id,
        operation=operation,
        sequence=sequence,
        status=CommandStatus.PENDING,
        idempotency_key=f"{action.id}:{operation.value}",
        attempts=0,
        next_attempt_at=clock.now(),
        created_at=clock.now(),
    )
    session.add(command)
    session.flush()
    return command


def record_change(
    session: Session,
    actor: Principal,
    action: ProtectiveAction,
    what: str,
    *,
    before: dict[str, Any] | None,
) -> None:
    """Audit a change of an action and put it on the case's timeline."""
    audit.record(
        session,
        actor=actor,
        action=what,
        entity_type="protective_action",
        entity_id=action.id,
        before=before,
        after=snapshot(action),
        detail={"kind": action.kind.value, "state": action.state.value},
    )
    if action.case_id is not None:
        session.add(
            CaseEvent(
                case_id=action.case_id,
                kind=CaseEventKind.PROTECTION,
                at=clock.now(),
                actor_id=actor.user_id,
                actor_role=actor.role.value if actor.role else None,
                data={
                    "action_id": action.id,
                    "kind": action.kind.value,
                    "state": action.state.value,
                },
            )
        )


def get(*, session: Session, actor: Principal, action_id: str) -> ProtectiveAction:
    """Return an action the actor may see (its defender, its partner, staff)."""
    action = session.get(ProtectiveAction, action_id)
    if action is None:
        raise NotFound("no protective action with that id")
    defender = session.get(Defender, action.defender_id)
    if defender is None or not _may_see(actor, defender):
        raise NotFound("no protective action with that id")
    return action


def _may_see(actor: Principal, defender: Defender) -> bool:
    if actor.kind == "system" or actor.role in (*_STAFF, Role.ADMIN):
        return True
    if actor.role is Role.HRD:
        return actor.defender_id == defender.id
    if actor.role is Role.PARTNER:
        return (
            actor.organisation_id is not None and actor.organisation_id == defender.organisation_id
        )
    return False


def approve(*, session: Session, actor: Principal, action_id: str) -> ProtectiveAction:
    """Approve an action waiting for a second person (never the person who asked)."""
    action = get(session=session, actor=actor, action_id=action_id)
    if action.state is not ActionState.AWAITING_APPROVAL:
        raise Conflict("this action is not waiting for approval")
    _check_second_person(actor, action)
    if action.expires_at is not None and action.expires_at < clock.now():
        raise Conflict("the action's end has passed while it waited; ask again")
    before = snapshot(action)
    action.state, action.approved_by, action.updated_at = (
        ActionState.REQUESTED,
        actor.user_id,
        clock.now(),
    )
    _enqueue_apply(session, action)
    record_change(session, actor, action, "protection.approve", before=before)
    return action


def refuse(*, session: Session, actor: Principal, action_id: str) -> ProtectiveAction:
    """Refuse (as the second person) or withdraw (as the requester) a waiting action."""
    action = get(session=session, actor=actor, action_id=action_id)
    if action.state is not ActionState.AWAITING_APPROVAL:
        raise Conflict("this action is not waiting for approval")
    if actor.user_id != action.requested_by:
        _check_second_person(actor, action)
    before = snapshot(action)
    action.state, action.updated_at = ActionState.REFUSED, clock.now()
    record_change(session, actor, action, "protection.refuse", before=before)
    return action


def _check_second_person(actor: Principal, action: ProtectiveAction) -> None:
    if actor.user_id == action.requested_by:
        raise Forbidden("a second person must approve: you asked for this action")
    if action.initiator is Initiator.PARTNER_APPROVED:
        if actor.role is not Role.PARTNER or actor.organisation_id != action.organisation_id:
            raise Forbidden("an officer of the same partner organisation must approve")
    elif actor.role not in _STAFF:
        raise Forbidden("a second reviewer must approve")


def revert(*, session: Session, actor: Principal, action_id: str) -> ProtectiveAction:
    """Undo an applied action (or stop one on its way); the platform is told through the outbox."""
    action = get(session=session, actor=actor, action_id=action_id)
    if actor.role is Role.PARTNER and action.initiator is Initiator.DEFENDER:
        raise Forbidden("the defender turned this on; only they or our reviewers turn it off")
    return _revert(session, actor, action)


def _revert(session: Session, actor: Principal, action: ProtectiveAction) -> ProtectiveAction:
    if action.state not in (ActionState.APPLIED, ActionState.REQUESTED, ActionState.FAILED):
        raise Conflict("this action is not in force")
    before = snapshot(action)
    for command in session.scalars(
        select(PlatformCommand).where(
            PlatformCommand.action_id == action.id, PlatformCommand.status == CommandStatus.PENDING
        )
    ):
        command.status, command.last_error = (
            CommandStatus.DONE,
            "cancelled: the action was reverted",
        )
    was_applied = action.applied_at is not None or action.state is ActionState.FAILED
    action.state = ActionState.REVERTING if was_applied else ActionState.REVERTED
    action.reverted_by, action.updated_at = actor.user_id, clock.now()
    if was_applied:
        _enqueue(session, action, CommandOperation.REVERT, 99)
    else:
        action.reverted_at = clock.now()
    record_change(session, actor, action, "protection.revert", before=before)
    return action


def expire_due(*, session: Session) -> list[ProtectiveAction]:
    """Revert every applied action whose end has come."""
    due = session.scalars(
        select(ProtectiveAction).where(
            ProtectiveAction.state == ActionState.APPLIED,
            ProtectiveAction.expires_at.is_not(None),
            ProtectiveAction.expires_at <= clock.now(),
        )
    ).all()
    return [_revert(session, EXPIRY, action) for action in due]


def active(*, session: Session, defender_id: str, kind: ActionKind) -> ProtectiveAction | None:
    """Return the defender's action of `kind` that is in force or on its way, if any."""
    return session.scalar(
        select(ProtectiveAction).where(
            ProtectiveAction.defender_id == defender_id,
            ProtectiveAction.kind == kind,
            ProtectiveAction.state.in_(
                [
                    ActionState.AWAITING_APPROVAL,
                    ActionState.REQUESTED,
                    ActionState.APPLIED,
                    ActionState.REVERTING,
                ]
            ),
        )
    )


def for_defender(*, session: Session, actor: Principal, defender_id: str) -> list[ProtectiveAction]:
    """Return a defender's actions, newest first, if the actor may see them."""
    defender = session.get(Defender, defender_id)
    if defender is None or not _may_see(actor, defender):
        raise NotFound("no defender with that id")
    return list(
        session.scalars(
            select(ProtectiveAction)
            .where(ProtectiveAction.defender_id == defender_id)
            .order_by(ProtectiveAction.created_at.desc())
        )
    )


def awaiting_approval(*, session: Session, actor: Principal) -> list[ProtectiveAction]:
    """Return the actions waiting for the actor's organisation (partners) or staff to approve."""
    query = select(ProtectiveAction).where(ProtectiveAction.state == ActionState.AWAITING_APPROVAL)
    if actor.role is Role.PARTNER:
        query = query.where(
            ProtectiveAction.organisation_id == actor.organisation_id,
            ProtectiveAction.initiator == Initiator.PARTNER_APPROVED,
        )
    elif actor.role in _STAFF:
        query = query.where(ProtectiveAction.initiator == Initiator.STAFF)
    else:
        return []
    return list(session.scalars(query.order_by(ProtectiveAction.created_at)))


def commands_of(*, session: Session, action_id: str) -> list[PlatformCommand]:
    """Return an action's platform commands in order (recovery steps, revert)."""
    return list(
        session.scalars(
            select(PlatformCommand)
            .where(PlatformCommand.action_id == action_id)
            .order_by(PlatformCommand.sequence, PlatformCommand.created_at)
        )
    )


def tell_defender_it_failed(session: Session, action: ProtectiveAction) -> None:
    """Queue a message telling the defender the platform could not carry an action out."""
    _tell(session, action, TemplateKey.PROTECTION_FAILED)


def tell_defender_it_is_on(session: Session, action: ProtectiveAction) -> None:
    """Tell the defender a measure they did not ask for themselves was turned on."""
    if action.initiator in (Initiator.DEFENDER, Initiator.PROTECTED_STATUS):
        return
    _tell(session, action, TemplateKey.PROTECTION_ON)


def _tell(session: Session, action: ProtectiveAction, template: TemplateKey) -> None:
    defender = session.get(Defender, action.defender_id)
    if defender is None:
        return
    notifications.enqueue_for_defender(
        session=session,
        defender=defender,
        template=template,
        context={"reference": action.reference},
        case_id=action.case_id,
        idempotency_key=f"action-{action.id}-{template.value}",
    )


PROTECTED_STATUS = Principal.system("protected-status")
DETECTION = Principal.system("detection")


def sync_protected_status(session: Session, defender: Defender) -> None:
    """Hold takedowns for review while a defender is protected; release them when not.

    Called when a defender is enrolled, verified or withdrawn. A defender with no platform
    account on record has nothing to hold.
    """
    held = active(session=session, defender_id=defender.id, kind=ActionKind.HOLD_TAKEDOWNS)
    if defender.status is DefenderStatus.ACTIVE:
        if held is None and defender.handles and json.loads(defender.handles):
            request(
                session=session,
                actor=PROTECTED_STATUS,
                defender_id=defender.id,
                kind=ActionKind.HOLD_TAKEDOWNS,
                rule=Initiator.PROTECTED_STATUS,
            )
    elif held is not None and held.state is not ActionState.REVERTING:
        if held.state is ActionState.AWAITING_APPROVAL:
            held.state = ActionState.REFUSED
        else:
            _revert(session, PROTECTED_STATUS, held)


def on_detection(
    session: Session,
    *,
    defender_id: str,
    wanted: tuple[str, ...],
    alert_id: str,
    case_id: str | None,
) -> list[ProtectiveAction]:
    """Take the actions an alert asks for that the defender opted in to.

    A shield only with the defender's standing choice (`auto_shield`); holding takedowns for
    human review always, since it only stops automation from acting against a defender.
    """
    defender = session.get(Defender, defender_id)
    if defender is None or defender.status is not DefenderStatus.ACTIVE:
        return []
    allowed = {ActionKind.HOLD_TAKEDOWNS}
    if ConsentScope.AUTO_SHIELD in _consents(defender):
        allowed.add(ActionKind.SHIELD)
    taken = []
    for name in wanted:
        kind = next((item for item in ActionKind if item.value == name), None)
        if kind not in allowed or active(session=session, defender_id=defender_id, kind=kind):
            continue
        taken.append(
            request(
                session=session,
                actor=DETECTION,
                defender_id=defender_id,
                kind=kind,
                alert_id=alert_id,
                case_id=case_id,
                rule=Initiator.DETECTION_RULE,
            )
        )
    return taken
