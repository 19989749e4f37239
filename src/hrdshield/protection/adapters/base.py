"""The interface every platform adapter implements, and the errors it may raise.

An adapter turns one command (apply, revert or a recovery step of one protective action) into
whatever the platform understands. It must be safe to call twice with the same idempotency key,
since delivery is at least once. It raises `AdapterError`, saying whether a retry may help (and,
when the platform says so, how long to wait); messages are short codes and reasons, never
personal data, because they are shown and stored. Where a platform cannot do part of an action,
the adapter says so in `AdapterResult.not_done` rather than pretending: the defender sees it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from hrdshield.protection.enums import ActionKind, CommandOperation


@dataclass(frozen=True)
class AdapterCommand:
    """One thing to do on the platform for one protective action."""

    command_id: str
    idempotency_key: str
    action_id: str
    operation: CommandOperation
    kind: ActionKind
    account_handle: str
    expires_at: datetime | None = None
    settings_before: dict[str, Any] | None = None  # for a revert: what to put back
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AdapterResult:
    """What the platform reported: the account's settings before and after, when it says."""

    settings_before: dict[str, Any] | None = None
    settings_after: dict[str, Any] | None = None
    not_done: tuple[str, ...] = ()  # short codes of the parts this platform cannot carry out


class AdapterError(Exception):
    """The platform did not carry the command out; `retryable` says whether to try again."""

    def __init__(self, code: str, *, retryable: bool, retry_after: timedelta | None = None) -> None:
        super().__init__(code)
        self.code = code[:200]
        self.retryable = retryable
        self.retry_after = retry_after  # the platform's own wait (Retry-After, rate-limit reset)


class PlatformAdapter(Protocol):
    """Carries protective actions out on one platform."""

    name: str

    def execute(self, command: AdapterCommand) -> AdapterResult:
        """Carry `command` out (idempotently) and report the settings, or raise AdapterError."""
