"""Queue notifications for defenders and read their delivery status and the in-app inbox.

Enqueuing only adds an outbox row in the caller's transaction, so the notification commits (or
rolls back) with the state change that caused it; ``tasks.deliver_due`` sends it afterwards.
Nothing here sends anything or logs an address or a message text.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.db import new_id, split_list
from hrdshield.defenders.enums import ConsentScope, ContactChannel
from hrdshield.defenders.models import Defender
from hrdshield.errors import N_, Conflict, NotFound, ValidationProblem
from hrdshield.notify import templates
from hrdshield.notify.channels import in_app_address, parse_in_app_address
from hrdshield.notify.enums import NotificationChannel, NotificationStatus, TemplateKey
from hrdshield.notify.models import IDEMPOTENCY_KEY_LENGTH, InboxMessage, Notification
from hrdshield.outbound import check_webhook_url
from hrdshield.security import audit
from hrdshield.security.rbac import Principal

MAX_CONTEXT_VALUE = 200
MAX_ADDRESS = 500
# Ids and names of events only: the key is stored in clear, so it must never hold personal data.
_IDEMPOTENCY_KEY = re.compile(rf"[A-Za-z0-9:._\-]{{1,{IDEMPOTENCY_KEY_LENGTH}}}")
_EMAIL = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+\.[^@\s<>()\[\],;:\"\\]+")
# Subjects are single header lines: no control characters (line breaks included) in values.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def enqueue(
    *,
    session: Session,
    channel: NotificationChannel | ContactChannel,
    address: str,
    language: str,
    template: TemplateKey,
    context: dict[str, str],
    case_id: str | None = None,
    defender_id: str | None = None,
    idempotency_key: str | None = None,
) -> Notification:
    """Add a notification to the outbox in the caller's transaction; never send it here.

    With an `idempotency_key` already used, return the existing notification instead of adding
    a second one, so a retried request or task notifies once.
    """
    resolved = _channel(channel)
    address = _checked_address(resolved, address)
    _check_context(template, context)
    if idempotency_key is not None and not _IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise ValidationProblem(
            "an idempotency key is 1 to 128 letters, digits and :._- (ids, never personal data)"
        )
    key = idempotency_key or new_id()
    existing = _by_key(session, key)
    if existing is not None:
        return existing
    now = clock.now()
    notification = Notification(
        case_id=case_id,
        defender_id=defender_id,
        channel=resolved,
        address=address,
        language=templates.supported_language(language),
        template=template,
        context=json.dumps(context, ensure_ascii=False, sort_keys=True),
        status=NotificationStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        idempotency_key=key,
        created_at=now,
    )
    try:
        with session.begin_nested():  # a concurrent enqueue of the same key must not undo ours
            session.add(notification)
    except IntegrityError:
        existing = _by_key(session, key)
        if existing is None:
            raise ValidationProblem("the case or defender to notify does not exist") from None
        return existing
    return notification


def _channel(channel: NotificationChannel | ContactChannel) -> NotificationChannel:
    if isinstance(channel, NotificationChannel):
        return channel
    resolved = NotificationChannel.for_contact(channel)
    if resolved is None:
        raise ValidationProblem("this person asked not to be contacted")
    return resolved


def _checked_address(channel: NotificationChannel, address: str) -> str:
    address = address.strip()
    if not address or len(address) > MAX_ADDRESS:
        raise ValidationProblem("a notification needs an address")
    if channel is NotificationChannel.EMAIL and not _EMAIL.fullmatch(address):
        raise ValidationProblem("not a valid e-mail address")
    try:
        if channel is NotificationChannel.WEBHOOK:
            check_webhook_url(address)
        elif channel is NotificationChannel.IN_APP:
            parse_in_app_address(address)
    except ValueError as error:
        raise ValidationProblem(str(error)) from error
    return address


def _check_context(template: TemplateKey, context: dict[str, str]) -> None:
    try:
        templates.check_context(template, context)
    except templates.TemplateError as error:
        raise ValidationProblem(str(error)) from error
    for name, value in context.items():
        if not isinstance(value, str) or len(value) > MAX_CONTEXT_VALUE or _CONTROL.search(value):
            raise ValidationProblem(f"{name} must be a short single-line text")


def _by_key(session: Session, key: str) -> Notification | None:
    return session.scalars(select(Notification).where(Notification.idempotency_key == key)).first()


def enqueue_for_defender(
    *,
    session: Session,
    defender: Defender,
    template: TemplateKey,
    context: dict[str, str],
    case_id: str | None = None,
    idempotency_key: str | None = None,
) -> Notification | None:
    """Queue a notification to `defender` as they asked to be reached; None if they did not.

    Proactive alerts also need the defender's standing consent to proactive notification.
    """
    channel = NotificationChannel.for_contact(defender.contact_channel)
    if channel is None:
        return None
    if template is TemplateKey.PROACTIVE_ALERT and not _consents_to_alerts(defender):
        return None
    if channel is NotificationChannel.IN_APP:
        address: str | None = in_app_address(defender_id=defender.id)
    else:
        address = defender.contact_address
    if not address:
        return None
    return enqueue(
        session=session,
        channel=channel,
        address=address,
        language=language_for(defender),
        template=template,
        context=context,
        case_id=case_id,
        defender_id=defender.id,
        idempotency_key=idempotency_key,
    )


def _consents_to_alerts(defender: Defender) -> bool:
    return any(
        consent.scope is ConsentScope.PROACTIVE_NOTIFICATION and consent.is_active
        for consent in defender.consents
    )


def language_for(defender: Defender) -> str:
    """Return the language messages to `defender` are written in (their first we support)."""
    return _first_supported(split_list(defender.languages))


def _first_supported(languages: list[str]) -> str:
    for code in languages:
        primary = templates.primary_subtag(code)
        if primary in templates.LANGUAGES:
            return primary
    return templates.DEFAULT_LANGUAGE


def get(*, session: Session, notification_id: str) -> Notification:
    """Return one notification or raise NotFound."""
    notification = session.get(Notification, notification_id)
    if notification is None:
        raise NotFound(N_("no such notification"))
    return notification


def list_for_case(*, session: Session, case_id: str) -> list[Notification]:
    """Return a case's notifications, oldest first, to show their delivery status and failures."""
    query = (
        select(Notification)
        .where(Notification.case_id == case_id)
        .order_by(Notification.created_at, Notification.id)
    )
    return list(session.scalars(query))


def requeue(*, session: Session, actor: Principal, notification_id: str) -> Notification:
    """Give a failed notification a fresh set of attempts, starting now (audited)."""
    notification = get(session=session, notification_id=notification_id)
    if notification.status is not NotificationStatus.FAILED:
        raise Conflict(N_("only a notification that failed can be sent again"))
    before = snapshot(notification)
    notification.status = NotificationStatus.PENDING
    notification.attempts = 0
    notification.next_attempt_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="notification.requeue",
        entity_type="notification",
        entity_id=notification.id,
        before=before,
        after=snapshot(notification),
        detail={"channel": notification.channel.value, "template": notification.template.value},
    )
    return notification


def snapshot(notification: Notification) -> dict[str, Any]:
    """Return the audited state of a notification (digested, never stored in clear)."""
    return {
        "id": notification.id,
        "case_id": notification.case_id,
        "defender_id": notification.defender_id,
        "channel": notification.channel.value,
        "template": notification.template.value,
        "status": notification.status.value,
        "attempts": notification.attempts,
        "last_error": notification.last_error,
    }


def inbox(*, session: Session, defender_id: str, limit: int = 100) -> list[InboxMessage]:
    """Return a defender's in-app messages, newest first."""
    query = (
        select(InboxMessage)
        .where(InboxMessage.defender_id == defender_id)
        .order_by(InboxMessage.created_at.desc(), InboxMessage.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def user_inbox(*, session: Session, user_id: str, limit: int = 20) -> list[InboxMessage]:
    """Return a member of staff's in-app messages (escalation alerts), newest first."""
    query = (
        select(InboxMessage)
        .where(InboxMessage.user_id == user_id)
        .order_by(InboxMessage.created_at.desc(), InboxMessage.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def mark_read(
    *, session: Session, defender_id: str, message_id: str, at: datetime | None = None
) -> InboxMessage:
    """Mark one of a defender's in-app messages read (others' messages are not found)."""
    message = session.get(InboxMessage, message_id)
    if message is None or message.defender_id != defender_id:
        raise NotFound("no such message")
    if message.read_at is None:
        message.read_at = at or clock.now()
        session.flush()
    return message
