"""Tables of protection: protective actions and the outbox of commands to platforms.

A command is written in the same transaction as the action's change of state, and delivered
afterwards by the command loop through the platform's adapter: an action is never lost, and a
retried delivery carries the same idempotency key, so the platform applies it once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hrdshield import clock
from hrdshield.db import Base, UTCDateTime, new_id, value_enum
from hrdshield.protection.enums import (
    ActionKind,
    ActionState,
    CommandOperation,
    CommandStatus,
    Initiator,
)
from hrdshield.security.crypto import EncryptedText

ERROR_LENGTH = 200


class ProtectiveAction(Base):
    """One protective action on one defender's platform account."""

    __tablename__ = "protective_actions"
    __table_args__ = (Index("ix_protective_actions_state_expires_at", "state", "expires_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    defender_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("defenders.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ActionKind] = mapped_column(value_enum(ActionKind))
    state: Mapped[ActionState] = mapped_column(value_enum(ActionState))
    initiator: Mapped[Initiator] = mapped_column(value_enum(Initiator))
    requested_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    organisation_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("organisations.id", ondelete="SET NULL"), nullable=True, index=True
    )
    approved_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    reason: Mapped[str | None] = mapped_column(
        EncryptedText("protective_actions.reason"), nullable=True
    )
    case_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("cases.id", ondelete="SET NULL"), nullable=True, index=True
    )
    alert_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    platform: Mapped[str] = mapped_column(String(32))
    account_handle: Mapped[str] = mapped_column(EncryptedText("protective_actions.account_handle"))
    # The account's settings before the action, as the platform reported them: restored on revert.
    settings_before: Mapped[str | None] = mapped_column(
        EncryptedText("protective_actions.settings_before"), nullable=True
    )
    expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True
    )  # None: until revoked
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reverted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reverted_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(ERROR_LENGTH), nullable=True)

    @property
    def reference(self) -> str:
        """Return a short reference the defender can quote (messages carry only this)."""
        return "P-" + self.id[:8].upper()


class PlatformCommand(Base):
    """One thing to ask the platform to do for an action: the outbox row."""

    __tablename__ = "platform_commands"
    __table_args__ = (
        Index("ix_platform_commands_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    action_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("protective_actions.id", ondelete="CASCADE"), index=True
    )
    operation: Mapped[CommandOperation] = mapped_column(value_enum(CommandOperation))
    sequence: Mapped[int] = mapped_column(Integer, default=0)  # order of steps within an action
    status: Mapped[CommandStatus] = mapped_column(
        value_enum(CommandStatus), default=CommandStatus.PENDING
    )
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(ERROR_LENGTH), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
