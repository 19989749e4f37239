"""Response models of the notify domain: what staff and defenders may see of a notification."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from hrdshield.notify.enums import NotificationChannel, NotificationStatus, TemplateKey


class NotificationRead(BaseModel):
    """A notification's delivery status on a case; the address and context are never shown."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    case_id: str | None
    channel: NotificationChannel
    template: TemplateKey
    language: str
    status: NotificationStatus
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None


class InboxMessageRead(BaseModel):
    """A message in a defender's portal inbox."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    subject: str
    body: str
    language: str
    created_at: datetime
    read_at: datetime | None
