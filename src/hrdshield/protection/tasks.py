"""Delivering platform commands: claim with a lease, call the adapter, record, retry, give up.

A command is claimed in a short transaction (a lease, so two workers never run it at once), the
adapter is called outside any transaction, and the outcome is recorded in another. A failure is
retried with exponential backoff and jitter; after the last attempt, or at once for a failure
no retry can mend, the command is dead and its action failed, which the defender and the case
see. Nothing is dropped silently. The steps of an account recovery run one after another.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, sessionmaker

from hrdshield import clock
from hrdshield.protection import service
from hrdshield.protection.adapters.base import (
    AdapterCommand,
    AdapterError,
    AdapterResult,
    PlatformAdapter,
)
from hrdshield.protection.enums import ActionKind, ActionState, CommandOperation, CommandStatus
from hrdshield.protection.models import ERROR_LENGTH, PlatformCommand, ProtectiveAction
from hrdshield.security.rbac import Principal

log = logging.getLogger("hrdshield.protection")
ADAPTER = Principal.system("platform-adapter")
LEASE = timedelta(seconds=120)
MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(hours=1)
_jitter = random.Random()  # noqa: S311  (spreading retries, not a secret)
_RECOVERY_LAST = service.RECOVERY_STEPS[-1]


@dataclass
class DeliveryReport:
    """What one delivery round did."""

    done: int = 0
    retrying: int = 0
    dead: int = 0


def backoff(attempts: int, rng: random.Random = _jitter) -> timedelta:
    """Return the wait before attempt `attempts + 1`: 2, 4, 8 ... seconds, capped, with jitter."""
    base = min(timedelta(seconds=2**attempts), MAX_BACKOFF)
    return base * (0.75 + rng.random() / 2)


def deliver_due(
    *,
    session_factory: sessionmaker[Session],
    adapters: Mapping[str, PlatformAdapter],
    batch: int = 50,
    max_attempts: int = MAX_ATTEMPTS,
) -> DeliveryReport:
    """Run the commands that are due, once each, and record what happened."""
    report = DeliveryReport()
    for _ in range(batch):
        claimed = _claim(session_factory)
        if claimed is None:
            break
        command, adapter_name = claimed
        try:
            result = _execute(adapters, adapter_name, command)
        except AdapterError as error:
            if _failed(session_factory, command, error, max_attempts) is CommandStatus.DEAD:
                report.dead += 1
            else:
                report.retrying += 1
            continue
        _succeeded(session_factory, command, result)
        report.done += 1
    return report


def _execute(
    adapters: Mapping[str, PlatformAdapter], name: str, command: AdapterCommand
) -> AdapterResult:
    adapter = adapters.get(name)
    if adapter is None:
        raise AdapterError(f"no adapter for platform {name!r}", retryable=False)
    try:
        return adapter.execute(command)
    except AdapterError:
        raise
    except Exception as error:  # an adapter's bug is a failure to retry, not a crash of the loop
        log.warning("adapter %s raised %s", name, type(error).__name__)
        raise AdapterError(type(error).__name__, retryable=True) from error


def _claim(session_factory: sessionmaker[Session]) -> tuple[AdapterCommand, str] | None:
    now = clock.now()
    earlier = PlatformCommand.__table__.alias("earlier")
    with session_factory() as session, session.begin():
        query = (
            select(PlatformCommand)
            .where(
                PlatformCommand.status == CommandStatus.PENDING,
                PlatformCommand.next_attempt_at <= now,
                or_(PlatformCommand.lease_until.is_(None), PlatformCommand.lease_until < now),
                # steps run in order: nothing earlier of the same action may still be pending
                ~exists().where(
                    and_(
                        earlier.c.action_id == PlatformCommand.action_id,
                        earlier.c.sequence < PlatformCommand.sequence,
                        earlier.c.status == CommandStatus.PENDING.value,
                    )
                ),
            )
            .order_by(PlatformCommand.next_attempt_at, PlatformCommand.sequence)
            .limit(1)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = session.scalar(query)
        if row is None:
            return None
        row.lease_until, row.last_attempt_at = now + LEASE, now
        action = session.get(ProtectiveAction, row.action_id)
        assert action is not None  # noqa: S101  (foreign key)
        return _command(row, action), action.platform


def _command(row: PlatformCommand, action: ProtectiveAction) -> AdapterCommand:
    return AdapterCommand(
        command_id=row.id,
        idempotency_key=row.idempotency_key,
        action_id=action.id,
        operation=row.operation,
        kind=action.kind,
        account_handle=action.account_handle,
        expires_at=action.expires_at,
        settings_before=json.loads(action.settings_before) if action.settings_before else None,
        options=_OPTIONS.get(action.kind, {}),
    )


# What holding takedowns means, told to the platform with the command: while the defender is
# protected, no automated measure goes through; content measures need a human reviewer, measures
# against the account itself (suspension, strikes) two.
_OPTIONS: dict[ActionKind, dict[str, Any]] = {
    ActionKind.HOLD_TAKEDOWNS: {
        "automated_enforcement": "hold",
        "content_measures": {"human_reviewers": 1},
        "account_measures": {"human_reviewers": 2},
    },
}


def _changed(result: AdapterResult) -> dict[str, Any] | None:
    """Keep only the settings the action changed, so reverting one undoes no other action."""
    if result.settings_before is None:
        return None
    after = result.settings_after or {}
    return {key: value for key, value in result.settings_before.items() if after.get(key) != value}


def _not_done(result: AdapterResult) -> str | None:
    """Say which parts of an applied action the platform cannot do (shown with the action)."""
    if not result.not_done:
        return None
    return f"not possible on this platform: {', '.join(result.not_done)}"[:ERROR_LENGTH]


def _succeeded(
    session_factory: sessionmaker[Session], command: AdapterCommand, result: AdapterResult
) -> None:
    with session_factory() as session, session.begin():
        row = session.get(PlatformCommand, command.command_id)
        action = session.get(ProtectiveAction, command.action_id)
        if row is None or action is None or row.status is not CommandStatus.PENDING:
            return  # cancelled (the action was reverted) while the platform worked
        now = clock.now()
        row.status, row.done_at, row.lease_until = CommandStatus.DONE, now, None
        row.attempts += 1
        before = service.snapshot(action)
        if command.operation is CommandOperation.REVERT:
            action.state, action.reverted_at = ActionState.REVERTED, now
        elif command.operation is _RECOVERY_LAST and _dead_steps(session, action.id):
            # An earlier step could not be done: the recovery stays failed, with what is missing.
            missing = ", ".join(_dead_steps(session, action.id))
            action.state = ActionState.FAILED
            action.last_error = f"partly done; not done: {missing}"[:ERROR_LENGTH]
        elif command.operation in (CommandOperation.APPLY, _RECOVERY_LAST):
            action.state, action.applied_at = ActionState.APPLIED, now
            action.last_error = _not_done(result)
            changed = _changed(result)
            if changed is not None:
                action.settings_before = json.dumps(changed, sort_keys=True)
        action.updated_at = now
        what = f"protection.{command.operation.value}"
        service.record_change(session, ADAPTER, action, what, before=before)
        if action.state is ActionState.APPLIED:
            service.tell_defender_it_is_on(session, action)


def _dead_steps(session: Session, action_id: str) -> list[str]:
    return [
        command.operation.value
        for command in service.commands_of(session=session, action_id=action_id)
        if command.status is CommandStatus.DEAD
    ]


def _failed(
    session_factory: sessionmaker[Session],
    command: AdapterCommand,
    error: AdapterError,
    max_attempts: int,
) -> CommandStatus:
    with session_factory() as session, session.begin():
        row = session.get(PlatformCommand, command.command_id)
        action = session.get(ProtectiveAction, command.action_id)
        if row is None or action is None or row.status is not CommandStatus.PENDING:
            return CommandStatus.DONE
        row.attempts += 1
        row.last_error, row.lease_until = error.code[:ERROR_LENGTH], None
        if error.retryable and row.attempts < max_attempts:
            wait = backoff(row.attempts)
            if error.retry_after is not None:  # the platform's own wait, within our cap
                wait = max(wait, min(error.retry_after, MAX_BACKOFF))
            row.next_attempt_at = clock.now() + wait
            log.info("platform command %s failed, retrying (%d)", row.id, row.attempts)
            return CommandStatus.PENDING
        row.status = CommandStatus.DEAD
        before = service.snapshot(action)
        already_failed = action.state is ActionState.FAILED
        action.state, action.last_error = ActionState.FAILED, error.code[:ERROR_LENGTH]
        action.updated_at = clock.now()
        service.record_change(session, ADAPTER, action, "protection.failed", before=before)
        if not already_failed:  # one message per action, however many of its steps fail
            service.tell_defender_it_failed(session, action)
        log.warning("platform command %s gave up after %d attempts", row.id, row.attempts)
        return CommandStatus.DEAD


def run_command_loop(
    session_factory: sessionmaker[Session],
    adapters: Mapping[str, PlatformAdapter],
    *,
    interval_seconds: float,
    stop_event: threading.Event,
) -> None:
    """Deliver due commands and expire ended actions until `stop_event` is set."""
    while not stop_event.is_set():
        try:
            with session_factory() as session, session.begin():
                service.expire_due(session=session)
            report = deliver_due(session_factory=session_factory, adapters=adapters)
        except Exception as error:  # noqa: BLE001  (the loop must outlive one bad round)
            log.error("protection round failed: %s", type(error).__name__)  # noqa: TRY400
            stop_event.wait(interval_seconds * 5)
            continue
        if not (report.done or report.retrying or report.dead):
            stop_event.wait(interval_seconds)
