"""Deliver due notifications from the outbox: claim one, send it, record the outcome.

Each notification is claimed in its own short transaction (the attempt is counted and a lease
pushes its next attempt into the future), sent outside any transaction, and its outcome committed
at once. So a notification recorded as sent is never sent again, and one whose process died while
sending is sent again only after the lease, with the same Message-ID or delivery id so that the
recipient can recognise the repeat. Two workers never claim the same notification: PostgreSQL
skips rows another worker holds (``FOR UPDATE SKIP LOCKED``) and SQLite serialises writers
(the ``FOR UPDATE`` read takes its write lock, see ``hrdshield.db``). Logs and audit entries
carry ids, channels and error codes, never an address or a message text.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from hrdshield import clock
from hrdshield.config import Settings
from hrdshield.db import transaction
from hrdshield.notify import templates
from hrdshield.notify.channels import (
    Channel,
    DeliveryError,
    EmailChannel,
    InAppChannel,
    OutgoingMessage,
    WebhookChannel,
)
from hrdshield.notify.enums import NotificationChannel, NotificationStatus, TemplateKey
from hrdshield.notify.models import Notification
from hrdshield.security import audit
from hrdshield.security.crypto import DecryptionError
from hrdshield.security.rbac import Principal

log = logging.getLogger(__name__)

NOTIFIER = Principal.system("notifier")
DEFAULT_BATCH = 50
DEFAULT_MAX_ATTEMPTS = 8
# Longer than any one send may take (SMTP and webhook timeouts are at most two minutes).
LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
MAX_LOOP_BACKOFF_SECONDS = 300.0
_jitter = random.SystemRandom()


@dataclass
class DeliveryReport:
    """What one delivery run did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    lost: int = 0  # claims that expired and were taken over before the outcome was recorded

    @property
    def attempted(self) -> int:
        """Return how many notifications this run tried to deliver."""
        return self.sent + self.retrying + self.failed + self.lost


@dataclass(frozen=True)
class _Claim:
    notification_id: str
    attempts: int
    channel: NotificationChannel
    template: TemplateKey
    case_id: str | None
    message: OutgoingMessage | None  # None when the stored notification cannot be rendered


def retry_delay(attempts: int, *, rng: random.Random = _jitter) -> timedelta:
    """Return the wait after failed attempt number `attempts`: doubling, capped, jittered."""
    ceiling = min(LONGEST_RETRY, FIRST_RETRY * (1 << min(max(attempts - 1, 0), 20)))
    # Equal jitter: at least half the delay, so retries spread out without coming too early.
    return ceiling / 2 + (ceiling / 2) * rng.random()


def deliver_due(
    *,
    session_factory: sessionmaker[Session],
    channels: Mapping[NotificationChannel, Channel],
    now: datetime | None = None,
    batch: int = DEFAULT_BATCH,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> DeliveryReport:
    """Deliver up to `batch` due notifications once each, committing after each one.

    Notifications for a channel missing from `channels` (e-mail without an SMTP server) wait.
    """
    report = DeliveryReport()
    for _ in range(batch):
        claim = _claim_next(session_factory, set(channels), now)
        if claim is None:
            break
        if claim.message is None:
            failure: DeliveryError | None = DeliveryError(False, "cannot render the notification")
        else:
            failure = _send(channels[claim.channel], claim.message)
        _record(session_factory, claim, failure, now=now, max_attempts=max_attempts, report=report)
    return report


def _claim_next(
    session_factory: sessionmaker[Session],
    channels: set[NotificationChannel],
    now: datetime | None,
) -> _Claim | None:
    if not channels:
        return None
    with transaction(session_factory) as session:
        at = now or clock.now()
        query = (
            select(
                Notification.id,
                Notification.attempts,
                Notification.channel,
                Notification.template,
                Notification.language,
                Notification.case_id,
                Notification.defender_id,
                Notification.created_at,
            )
            .where(
                Notification.status == NotificationStatus.PENDING,
                Notification.next_attempt_at <= at,
                Notification.channel.in_(channels),
            )
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(1)
        )
        # PostgreSQL skips rows another worker holds; SQLite takes its write lock first.
        query = query.with_for_update(skip_locked=True, of=Notification)
        row = session.execute(query).first()
        if row is None:
            return None
        attempts = row.attempts + 1
        session.execute(
            update(Notification)
            .where(Notification.id == row.id)
            .values(attempts=attempts, last_attempt_at=at, next_attempt_at=at + LEASE)
        )
        return _Claim(
            notification_id=row.id,
            attempts=attempts,
            channel=row.channel,
            template=row.template,
            case_id=row.case_id,
            message=_render(session, row),
        )


def _render(session: Session, row: Any) -> OutgoingMessage | None:
    try:
        address, context = session.execute(
            select(Notification.address, Notification.context).where(Notification.id == row.id)
        ).one()
        rendered = templates.render(row.template, row.language, json.loads(context))
    except (DecryptionError, ValueError, TypeError, templates.TemplateError) as error:
        # Not log.exception: a traceback could quote the decrypted context.
        log.error("notification %s cannot be rendered: %s", row.id, type(error).__name__)  # noqa: TRY400
        return None
    return OutgoingMessage(
        notification_id=row.id,
        channel=row.channel,
        template=row.template,
        language=rendered.language,
        address=address,
        subject=rendered.subject,
        body=rendered.body,
        defender_id=row.defender_id,
        case_id=row.case_id,
        created_at=row.created_at,
    )


def _send(channel: Channel, message: OutgoingMessage) -> DeliveryError | None:
    try:
        channel.send(message)
    except DeliveryError as error:
        return error
    # A faulty channel must not stop the others' deliveries; its message may quote personal
    # data, so only the exception's class is kept.
    except Exception as error:  # noqa: BLE001
        log.error(  # noqa: TRY400  (no traceback: it could quote personal data)
            "notification %s: channel raised %s", message.notification_id, type(error).__name__
        )
        return DeliveryError(True, f"unexpected {type(error).__name__}")
    return None


def _record(
    session_factory: sessionmaker[Session],
    claim: _Claim,
    failure: DeliveryError | None,
    *,
    now: datetime | None,
    max_attempts: int,
    report: DeliveryReport,
) -> None:
    with transaction(session_factory) as session:
        at = now or clock.now()
        values: dict[str, Any] = {"last_error": failure.reason if failure else None}
        if failure is None:
            status = NotificationStatus.SENT
            values["sent_at"] = at
        elif failure.retryable and claim.attempts < max_attempts:
            status = NotificationStatus.PENDING
        else:
            status = NotificationStatus.FAILED
        next_attempt = (
            at + retry_delay(claim.attempts) if status is NotificationStatus.PENDING else None
        )
        # Only the holder of the current claim may record: the attempt count is the fence.
        result = session.execute(
            update(Notification)
            .where(
                Notification.id == claim.notification_id,
                Notification.status == NotificationStatus.PENDING,
                Notification.attempts == claim.attempts,
            )
            .values(status=status, next_attempt_at=next_attempt, **values)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            log.warning(
                "notification %s: claim lost before its outcome was recorded", claim.notification_id
            )
            report.lost += 1
            return
        _report(claim, status, failure, next_attempt, report)
        if status is not NotificationStatus.PENDING:
            _audit(session, claim, status, failure)


def _report(
    claim: _Claim,
    status: NotificationStatus,
    failure: DeliveryError | None,
    next_attempt: datetime | None,
    report: DeliveryReport,
) -> None:
    ident, channel, attempts = claim.notification_id, claim.channel.value, claim.attempts
    if status is NotificationStatus.SENT:
        report.sent += 1
        log.info("notification %s sent by %s (attempt %d)", ident, channel, attempts)
    elif status is NotificationStatus.PENDING:
        report.retrying += 1
        reason = failure.reason if failure else ""
        log.warning(
            "notification %s not delivered by %s (attempt %d: %s); next attempt at %s",
            ident,
            channel,
            attempts,
            reason,
            next_attempt.isoformat() if next_attempt else "-",
        )
    else:
        report.failed += 1
        reason = failure.reason if failure else ""
        log.error(
            "notification %s failed by %s after %d attempts: %s", ident, channel, attempts, reason
        )


def _audit(
    session: Session, claim: _Claim, status: NotificationStatus, failure: DeliveryError | None
) -> None:
    detail: dict[str, Any] = {
        "channel": claim.channel.value,
        "template": claim.template.value,
        "attempts": claim.attempts,
        "case_id": claim.case_id,
    }
    if failure is not None:
        detail["error"] = failure.reason
    audit.record(
        session,
        actor=NOTIFIER,
        action=f"notification.{status.value}",
        entity_type="notification",
        entity_id=claim.notification_id,
        after={"id": claim.notification_id, "status": status.value, "attempts": claim.attempts},
        detail=detail,
    )


def channels_from_settings(
    settings: Settings, *, session_factory: sessionmaker[Session] | None = None
) -> dict[NotificationChannel, Channel]:
    """Return the channels the settings allow: e-mail needs an SMTP host, in-app a database."""
    channels: dict[NotificationChannel, Channel] = {
        NotificationChannel.WEBHOOK: WebhookChannel(
            timeout_seconds=settings.webhook_timeout_seconds
        )
    }
    if settings.smtp_host:
        channels[NotificationChannel.EMAIL] = EmailChannel(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            timeout_seconds=settings.smtp_timeout_seconds,
        )
    else:
        log.info("e-mail notifications wait: HRDSHIELD_SMTP_HOST is not set")
    if session_factory is not None:
        channels[NotificationChannel.IN_APP] = InAppChannel(session_factory)
    else:
        log.warning("in-app notifications wait: no session factory was given")
    return channels


def run_delivery_loop(
    session_factory: sessionmaker[Session],
    channels: Mapping[NotificationChannel, Channel],
    *,
    interval_seconds: float,
    stop_event: threading.Event,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    batch: int = DEFAULT_BATCH,
) -> None:
    """Deliver due notifications every `interval_seconds` until `stop_event` is set."""
    failures = 0
    while not stop_event.is_set():
        try:
            report = deliver_due(
                session_factory=session_factory,
                channels=channels,
                batch=batch,
                max_attempts=max_attempts,
            )
        # The loop must outlive a database outage; the error text may quote values, so only
        # its class is logged. Every claimed notification is retried after its lease.
        except Exception as error:  # noqa: BLE001
            failures += 1
            log.error(  # noqa: TRY400  (no traceback: it could quote personal data)
                "notification delivery interrupted (%s, failure %d)", type(error).__name__, failures
            )
            stop_event.wait(
                min(interval_seconds * 2 ** min(failures, 16), MAX_LOOP_BACKOFF_SECONDS)
            )
            continue
        failures = 0
        if report.attempted < batch:  # a full batch means more may be due: carry on at once
            stop_event.wait(interval_seconds)


def start_delivery_thread(
    session_factory: sessionmaker[Session],
    channels: Mapping[NotificationChannel, Channel],
    *,
    interval_seconds: float,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> tuple[threading.Thread, threading.Event]:
    """Start `run_delivery_loop` in a daemon thread; set the returned event to stop it."""
    stop_event = threading.Event()
    thread = threading.Thread(
        target=run_delivery_loop,
        args=(session_factory, channels),
        kwargs={
            "interval_seconds": interval_seconds,
            "stop_event": stop_event,
            "max_attempts": max_attempts,
        },
        name="hrdshield-notifier",
        daemon=True,
    )
    thread.start()
    return thread, stop_event
