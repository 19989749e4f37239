"""Requests to other parties' servers: one signature, one address check, one way to connect.

Notification webhooks and platform adapters both send to addresses an operator configured, some
with a signed body, some with a bearer token. They share this module so that the rules hold
everywhere at once: an address is https (plain http only to loopback, for local testing) and
carries no credentials; a redirect is never followed, since a signed body or a token would then
reach an address nobody checked; proxy settings are not read from the environment. A failure is
described by a short code, never by the other server's reply, which can quote a person.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import datetime
from urllib.parse import urlsplit

import httpx

from hrdshield import clock

SIGNATURE_TOLERANCE_SECONDS = 300
_LOOPBACK_NAMES = {"localhost"}


def hmac_sha256(secret: str, timestamp: int, body: bytes) -> str:
    """Return the hex HMAC-SHA256, keyed with `secret`, of "`timestamp`." followed by `body`."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_valid(
    secret: str,
    timestamp: int,
    body: bytes,
    signature: str,
    *,
    now: datetime | None = None,
    tolerance_seconds: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """Return whether `signature` signs `body` at `timestamp`, and `timestamp` is recent."""
    current = (now or clock.now()).timestamp()
    if abs(current - timestamp) > tolerance_seconds:
        return False  # a stale (or far-future) timestamp: a replay, or a clock to fix
    return hmac.compare_digest(hmac_sha256(secret, timestamp, body), signature)


def check_webhook_url(url: str, *, what: str = "a webhook address") -> None:
    """Raise ValueError unless `url` is https, or http to a loopback address (local testing)."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"{what} must be an http(s) URL")
    if parts.username or parts.password:
        raise ValueError(f"{what} must not carry credentials")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(f"{what} must use https")


def is_loopback(host: str) -> bool:
    """Return whether `host` names this machine (localhost, 127.0.0.0/8, ::1)."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def client(*, timeout_seconds: float, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """Return an HTTP client that follows no redirect and ignores proxy variables."""
    return httpx.Client(
        timeout=timeout_seconds, follow_redirects=False, trust_env=False, transport=transport
    )


def transport_failure(error: httpx.HTTPError) -> str:
    """Return the short code of a request that got no answer (always worth retrying)."""
    if isinstance(error, httpx.TimeoutException):
        return "timeout"
    if isinstance(error, httpx.ConnectError):
        return "connection refused"
    return f"HTTP error ({type(error).__name__})"


def status_retryable(status: int) -> bool:
    """Return whether an HTTP error status may go away by itself (5xx, 408, 429)."""
    return status >= 500 or status in {408, 429}
