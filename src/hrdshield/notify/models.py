"""Tables of the notify domain: the notification outbox and the in-app inbox.

Addresses, template context and message texts are personal data and are encrypted field by field;
only ids, enums, counters, times and a short error code without personal data stay in clear.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hrdshield import clock
from hrdshield.db import Base, UTCDateTime, new_id, value_enum
from hrdshield.notify.enums import NotificationChannel, NotificationStatus, TemplateKey
from hrdshield.security.crypto import EncryptedText

LAST_ERROR_LENGTH = 200
IDEMPOTENCY_KEY_LENGTH = 128


class Notification(Base):
    """One message to send to one recipient: the outbox row, written with the state change."""

    __tablename__ = "notifications"
    __table_args__ = (
        # The delivery loop's query: pending rows whose next attempt is due.
        Index("ix_notifications_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("cases.id", ondelete="CASCADE"), nullable=True, index=True
    )
    defender_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("defenders.id", ondelete="CASCADE"), nullable=True, index=True
    )
    channel: Mapped[NotificationChannel] = mapped_column(value_enum(NotificationChannel))
    address: Mapped[str] = mapped_column(EncryptedText("notifications.address"))
    language: Mapped[str] = mapped_column(String(8))
    template: Mapped[TemplateKey] = mapped_column(value_enum(TemplateKey))
    context: Mapped[str] = mapped_column(EncryptedText("notifications.context"))  # JSON object
    status: Mapped[NotificationStatus] = mapped_column(
        value_enum(NotificationStatus), default=NotificationStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(LAST_ERROR_LENGTH), nullable=True)
    idempotency_key: Mapped[str] = mapped_column(String(IDEMPOTENCY_KEY_LENGTH), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class InboxMessage(Base):
    """A message shown in the portal to a defender or a user; subject and body are encrypted."""

    __tablename__ = "inbox_messages"
    __table_args__ = (
        CheckConstraint(
            "defender_id IS NOT NULL OR user_id IS NOT NULL", name="recipient_required"
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # Unique: delivering the same notification again (after a crash) adds no second message.
    notification_id: Mapped[str | None] = mapped_column(
        String(32),
        ForeignKey("notifications.id", ondelete="SET NULL"),
        nullable=True,
        unique=True,
    )
    defender_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("defenders.id", ondelete="CASCADE"), nullable=True, index=True
    )
    user_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(EncryptedText("inbox_messages.subject"))
    body: Mapped[str] = mapped_column(EncryptedText("inbox_messages.body"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
