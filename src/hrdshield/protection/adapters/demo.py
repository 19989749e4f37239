"""The demo platform's adapter: actions visibly change the demo accounts' settings.

It talks to the demo platform through its service functions in a transaction of its own, the way
a remote platform would commit on its side; setting a value twice leaves it as once, so a
redelivered command changes nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from hrdshield.demo_platform import service as platform
from hrdshield.demo_platform.enums import Audience
from hrdshield.protection.adapters.base import AdapterCommand, AdapterError, AdapterResult
from hrdshield.protection.enums import ActionKind, CommandOperation

LOCKDOWN_MUTE_DAYS = 7


class DemoAdapter:
    """Apply protective actions to the simulated platform's accounts."""

    name = "demo"

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def execute(self, command: AdapterCommand) -> AdapterResult:
        """Carry the command out on the demo account named by its handle."""
        with self.session_factory() as session, session.begin():
            account = platform.account_by_handle(session=session, handle=command.account_handle)
            if account is None:
                raise AdapterError("no demo account has this handle", retryable=False)
            before = dict(platform.account_settings(session=session, account=account))
            for step in _steps(command):
                step(session, account.id)
            after = dict(platform.account_settings(session=session, account=account))
        return AdapterResult(settings_before=before, settings_after=after)


Step = Callable[[Session, str], Any]


def _steps(command: AdapterCommand) -> list[Step]:
    operation = command.operation
    if operation is CommandOperation.REVERT:
        saved = command.settings_before
        if saved is None:
            raise AdapterError(
                "nothing to restore: the settings before are unknown", retryable=False
            )
        return [
            lambda session, account: platform.restore(
                session=session, account_id=account, settings=saved
            )
        ]
    if operation is CommandOperation.SIGN_OUT_SESSIONS:
        return [
            lambda session, account: platform.sign_out_sessions(session=session, account_id=account)
        ]
    if operation is CommandOperation.RESET_CREDENTIALS:
        # The demo platform has no passwords; requiring a second factor stands in for the reset.
        return [
            lambda session, account: platform.require_two_factor(
                session=session, account_id=account
            )
        ]
    if operation is CommandOperation.RESTORE_LOCKDOWN:
        return _APPLY[ActionKind.LOCKDOWN](command)
    return _APPLY[command.kind](command)


def _lockdown(command: AdapterCommand) -> list[Step]:
    days = int(command.options.get("mute_younger_than_days", LOCKDOWN_MUTE_DAYS))
    return [
        lambda s, a: platform.set_private(session=s, account_id=a),
        lambda s, a: platform.hide_followers(session=s, account_id=a),
        lambda s, a: platform.limit_replies(session=s, account_id=a, audience=Audience.FOLLOWERS),
        lambda s, a: platform.limit_dms(session=s, account_id=a, audience=Audience.FOLLOWERS),
        lambda s, a: platform.mute_young_accounts(session=s, account_id=a, days=days),
        lambda s, a: platform.sign_out_sessions(session=s, account_id=a),
        lambda s, a: platform.require_two_factor(session=s, account_id=a),
    ]


def _enhanced_privacy(command: AdapterCommand) -> list[Step]:
    return [
        lambda s, a: platform.hide_details(session=s, account_id=a),
        lambda s, a: platform.set_discoverable(session=s, account_id=a, discoverable=False),
    ]


def _shield(command: AdapterCommand) -> list[Step]:
    if command.expires_at is None:
        raise AdapterError("a shield is temporary: it needs an end", retryable=False)
    until = command.expires_at
    return [lambda s, a: platform.shield(session=s, account_id=a, until=until)]


def _hold_takedowns(command: AdapterCommand) -> list[Step]:
    return [lambda s, a: platform.hold_takedowns(session=s, account_id=a)]


def _disable(command: AdapterCommand) -> list[Step]:
    return [lambda s, a: platform.deactivate(session=s, account_id=a)]


def _recovery(command: AdapterCommand) -> list[Step]:
    raise AdapterError("account recovery runs as separate steps", retryable=False)


_APPLY: dict[ActionKind, Callable[[AdapterCommand], list[Step]]] = {
    ActionKind.LOCKDOWN: _lockdown,
    ActionKind.ENHANCED_PRIVACY: _enhanced_privacy,
    ActionKind.SHIELD: _shield,
    ActionKind.HOLD_TAKEDOWNS: _hold_takedowns,
    ActionKind.DISABLE_ACCOUNT: _disable,
    ActionKind.ACCOUNT_RECOVERY: _recovery,
}
