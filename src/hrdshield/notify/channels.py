"""Ways a notification reaches a person: e-mail, a signed webhook, the portal inbox, a test fake.

A channel has one method, ``send``, which delivers one rendered message or raises
``DeliveryError`` saying whether trying again may help. Reasons are short codes ("SMTP 451",
"connection refused", "HTTP 503") because they are stored and logged: a reason must never hold
an address, a message text or a server's reply, which can quote the recipient.
"""

from __future__ import annotations

import errno
import json
import smtplib
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol

import httpx
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hrdshield import clock, outbound
from hrdshield.db import transaction
from hrdshield.notify.enums import NotificationChannel, TemplateKey
from hrdshield.notify.models import LAST_ERROR_LENGTH, InboxMessage
from hrdshield.outbound import SIGNATURE_TOLERANCE_SECONDS, check_webhook_url
from hrdshield.security.crypto import Keyring, Purpose, current_keyring

SIGNATURE_HEADER = "X-HRDShield-Signature"
DELIVERY_HEADER = "X-HRDShield-Delivery"
# The webhook signing secret is derived from the audit data key (never rotated by
# `keys rotate`, which rotates field keys) under a label no audit message starts with; an HMAC
# output reveals nothing of its key, so receivers can hold the secret without weakening the chain.
SIGNING_LABEL = "webhook-signing"
USER_AGENT = "HRDShield-Notifier/1"


class DeliveryError(Exception):
    """A message was not delivered; `retryable` says whether a later attempt may succeed."""

    def __init__(self, retryable: bool, reason: str) -> None:
        super().__init__(reason)
        self.retryable = retryable
        self.reason = reason[:LAST_ERROR_LENGTH]


@dataclass(frozen=True)
class OutgoingMessage:
    """One rendered notification, as a channel receives it; personal fields stay out of repr."""

    notification_id: str
    channel: NotificationChannel
    template: TemplateKey
    language: str
    address: str = field(repr=False)
    subject: str = field(repr=False)
    body: str = field(repr=False)
    defender_id: str | None = None
    case_id: str | None = None
    created_at: datetime = field(default_factory=clock.now)


class Channel(Protocol):
    """Delivers a message, or raises `DeliveryError`; must be safe to call again for one id."""

    def send(self, message: OutgoingMessage) -> None:
        """Deliver `message` once."""


# --- e-mail --------------------------------------------------------------------------------------


class EmailChannel:
    """Plain-text UTF-8 e-mail over SMTP; the Message-ID is derived from the notification id."""

    def __init__(
        self,
        *,
        host: str,
        port: int = 25,
        sender: str,
        username: str | None = None,
        password: SecretStr | None = None,
        starttls: bool = False,
        timeout_seconds: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self._password = username, password
        self.starttls, self.timeout_seconds = starttls, timeout_seconds
        self.ssl_context = ssl_context

    def __repr__(self) -> str:
        return f"EmailChannel(host={self.host!r}, port={self.port})"

    def message_id(self, notification_id: str) -> str:
        """Return the Message-ID of a notification: the same on every delivery attempt."""
        domain = self.sender.rpartition("@")[2] or "hrdshield.invalid"
        return f"<{notification_id}.notify@{domain}>"

    def build(self, message: OutgoingMessage) -> EmailMessage:
        """Return the e-mail for `message` (headers refuse line breaks, so no injection)."""
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.address
        email["Subject"] = message.subject
        email["Date"] = format_datetime(message.created_at.astimezone(UTC))
        email["Message-ID"] = self.message_id(message.notification_id)
        email["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
        email.set_content(message.body, charset="utf-8")
        email["Content-Language"] = message.language  # after set_content, which clears Content-*
        return email

    def send(self, message: OutgoingMessage) -> None:
        """Hand the e-mail to the SMTP server; 4xx replies and network errors are retryable."""
        try:
            email = self.build(message)
        except ValueError as error:
            raise DeliveryError(False, "invalid e-mail header") from error
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_seconds) as smtp:
                if self.starttls:
                    smtp.starttls(context=self.ssl_context or ssl.create_default_context())
                if self.username and self._password is not None:
                    smtp.login(self.username, self._password.get_secret_value())
                smtp.send_message(email)
        except (smtplib.SMTPException, OSError) as error:
            raise _smtp_failure(error) from None  # the original may quote the recipient


def _smtp_failure(error: BaseException) -> DeliveryError:
    # Only a refusal of this recipient or this message is permanent. Refusals at connection,
    # greeting, sign-in or of our sender address are our configuration: retry while it is fixed.
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()] or [550]
        return DeliveryError(not 500 <= codes[0] < 600, f"SMTP {codes[0]} recipient refused")
    if isinstance(error, smtplib.SMTPDataError):
        return DeliveryError(not 500 <= error.smtp_code < 600, f"SMTP {error.smtp_code}")
    if isinstance(error, smtplib.SMTPResponseException):
        return DeliveryError(True, f"SMTP {error.smtp_code}")
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return DeliveryError(True, "SMTP disconnected")
    if isinstance(error, smtplib.SMTPException):
        return DeliveryError(True, f"SMTP error ({type(error).__name__})")
    return _network_failure(error)


def _network_failure(error: BaseException) -> DeliveryError:
    if isinstance(error, ConnectionRefusedError):
        return DeliveryError(True, "connection refused")
    if isinstance(error, TimeoutError):
        return DeliveryError(True, "timeout")
    if isinstance(error, ssl.SSLError):
        return DeliveryError(True, "TLS error")
    code = getattr(error, "errno", None)
    name = errno.errorcode.get(code, type(error).__name__) if isinstance(code, int) else None
    return DeliveryError(True, f"network error ({name or type(error).__name__})")


# --- webhook -------------------------------------------------------------------------------------


def webhook_signing_secret(keyring: Keyring | None = None) -> str:
    """Return the secret receivers use to check webhook signatures (hex; key = its ASCII bytes)."""
    return (keyring or current_keyring()).keyed_hash(Purpose.AUDIT, SIGNING_LABEL)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Return the signature header value for `body` sent at `timestamp` (unix seconds)."""
    return f"t={timestamp},v1={outbound.hmac_sha256(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: datetime | None = None,
    tolerance_seconds: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """Return whether `header` signs `body` with `secret`, recently enough (for receivers)."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    return outbound.signature_valid(
        secret, timestamp, body, fields.get("v1", ""), now=now, tolerance_seconds=tolerance_seconds
    )


class WebhookChannel:
    """A JSON POST signed with HMAC-SHA256; 5xx, 408, 429 and timeouts are retryable."""

    def __init__(
        self,
        *,
        timeout_seconds: float = 10.0,
        secret: Callable[[], str] = webhook_signing_secret,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self._secret = secret
        self._transport = transport

    def __repr__(self) -> str:
        return f"WebhookChannel(timeout_seconds={self.timeout_seconds})"

    @staticmethod
    def payload(message: OutgoingMessage) -> bytes:
        """Return the JSON body sent for `message`."""
        document = {
            "id": message.notification_id,
            "template": message.template.value,
            "language": message.language,
            "subject": message.subject,
            "body": message.body,
            "created_at": message.created_at.astimezone(UTC).isoformat(),
        }
        return json.dumps(document, ensure_ascii=False, sort_keys=True).encode()

    def send(self, message: OutgoingMessage) -> None:
        """POST the signed payload to the message's address."""
        try:
            check_webhook_url(message.address)
        except ValueError as error:
            raise DeliveryError(False, "webhook address not allowed") from error
        body = self.payload(message)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            DELIVERY_HEADER: message.notification_id,
            SIGNATURE_HEADER: sign(self._secret(), int(clock.now().timestamp()), body),
        }
        try:
            # outbound.client follows no redirect: a signed body must reach only this URL.
            with outbound.client(
                timeout_seconds=self.timeout_seconds, transport=self._transport
            ) as client:
                response = client.post(message.address, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise DeliveryError(True, outbound.transport_failure(error)) from None
        _check_status(response.status_code)


def _check_status(status: int) -> None:
    if 200 <= status < 300:
        return
    raise DeliveryError(outbound.status_retryable(status), f"HTTP {status}")


# --- in-app --------------------------------------------------------------------------------------


def in_app_address(*, defender_id: str | None = None, user_id: str | None = None) -> str:
    """Return the in-app address of a defender or a user (exactly one of them)."""
    if (defender_id is None) == (user_id is None):
        raise ValueError("give exactly one of defender_id and user_id")
    return f"defender:{defender_id}" if defender_id else f"user:{user_id}"


def parse_in_app_address(address: str) -> tuple[str | None, str | None]:
    """Return (defender_id, user_id) from an in-app address, or raise ValueError."""
    kind, _, ident = address.partition(":")
    if not ident or len(ident) > 32 or not ident.isalnum():
        raise ValueError("not an in-app address")
    if kind == "defender":
        return ident, None
    if kind == "user":
        return None, ident
    raise ValueError("not an in-app address")


class InAppChannel:
    """Writes the message to the portal inbox, once per notification even if sent twice."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def send(self, message: OutgoingMessage) -> None:
        """Add the message to its recipient's inbox unless it is already there."""
        try:
            defender_id, user_id = parse_in_app_address(message.address)
        except ValueError:
            raise DeliveryError(False, "in-app recipient not recognised") from None
        try:
            with transaction(self.session_factory) as session:
                if _already_in_inbox(session, message.notification_id):
                    return
                session.add(
                    InboxMessage(
                        notification_id=message.notification_id,
                        defender_id=defender_id,
                        user_id=user_id,
                        language=message.language,
                        subject=message.subject,
                        body=message.body,
                        created_at=clock.now(),
                    )
                )
        except IntegrityError:
            # Either a concurrent delivery of the same notification won (fine), or the
            # recipient no longer exists (nothing to deliver to).
            with self.session_factory() as session:
                if _already_in_inbox(session, message.notification_id):
                    return
            raise DeliveryError(False, "in-app recipient not found") from None


def _already_in_inbox(session: Session, notification_id: str) -> bool:
    query = select(InboxMessage.id).where(InboxMessage.notification_id == notification_id)
    return session.scalar(query) is not None


# --- fake ----------------------------------------------------------------------------------------


class FakeChannel:
    """Records what it is asked to send; can be told to fail, always or a number of times."""

    def __init__(self, *, delay_seconds: float = 0.0) -> None:
        self.sent: list[OutgoingMessage] = []
        self.attempts = 0
        self.delay_seconds = delay_seconds
        self._failure: DeliveryError | None = None
        self._failures_left: int | None = None
        self._lock = threading.Lock()

    def fail(
        self, *, retryable: bool = True, reason: str = "fake failure", times: int | None = None
    ) -> None:
        """Fail the next `times` sends (every send when None) with this reason."""
        with self._lock:
            self._failure = DeliveryError(retryable, reason)
            self._failures_left = times

    def recover(self) -> None:
        """Deliver again from now on."""
        with self._lock:
            self._failure, self._failures_left = None, None

    def send(self, message: OutgoingMessage) -> None:
        """Record `message`, or raise the failure set by `fail`."""
        if self.delay_seconds:
            time.sleep(self.delay_seconds)  # widens race windows in concurrency tests
        with self._lock:
            self.attempts += 1
            failure = self._failure
            if failure is not None and self._failures_left is not None:
                self._failures_left -= 1
                if self._failures_left <= 0:
                    self._failure, self._failures_left = None, None
            if failure is None:
                self.sent.append(message)
        if failure is not None:
            raise DeliveryError(failure.retryable, failure.reason)
