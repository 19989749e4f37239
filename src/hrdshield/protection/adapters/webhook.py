"""The signed-webhook adapter: any platform that can receive a signed JSON POST can act for us.

Each command is one `hrdshield.action/1` document POSTed to the platform's endpoint, signed with
HMAC-SHA256 over "timestamp.body" under a secret both sides hold, so the platform knows it comes
from us and is recent (a captured request cannot be replayed later). Delivery is at least once:
a retry carries the same idempotency key, and the platform must apply a key once. `verify` is
the receiver's half, for platforms written in Python; docs/protection.md describes it for others.
The secret never appears in a log, a repr or an error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx
from pydantic import SecretStr

from hrdshield import clock, outbound
from hrdshield.detection.schema import format_time
from hrdshield.protection.adapters.base import AdapterCommand, AdapterError, AdapterResult
from hrdshield.protection.adapters.http import Answer, request

SCHEMA = "hrdshield.action/1"
TIMESTAMP_HEADER = "HRDShield-Timestamp"
SIGNATURE_HEADER = "HRDShield-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
USER_AGENT = "HRDShield-Actions/1"
MAX_NOT_DONE = 20


class InvalidSignature(Exception):
    """A request is not a fresh, signed `hrdshield.action/1` document; the message says why."""


def document(command: AdapterCommand) -> bytes:
    """Return the JSON body sent for `command`: the same bytes on every attempt."""
    expires = command.expires_at
    return json.dumps(
        {
            "schema": SCHEMA,
            "command_id": command.command_id,
            "idempotency_key": command.idempotency_key,
            "action_id": command.action_id,
            "operation": command.operation.value,
            "kind": command.kind.value,
            "account_handle": command.account_handle,
            "expires_at": format_time(expires) if expires is not None else None,
            "options": command.options,
            "settings_to_restore": command.settings_before,
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def signed_headers(
    secret: str, body: bytes, *, idempotency_key: str, at: datetime
) -> dict[str, str]:
    """Return the headers that sign `body` at time `at`."""
    timestamp = int(at.timestamp())
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        IDEMPOTENCY_HEADER: idempotency_key,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"v1={outbound.hmac_sha256(secret, timestamp, body)}",
    }


def verify(
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    tolerance_seconds: int = outbound.SIGNATURE_TOLERANCE_SECONDS,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Return the verified action document, or raise InvalidSignature (for receivers).

    Rejects a missing or malformed timestamp, one further than `tolerance_seconds` from now
    (a replay, or a clock to fix), a signature that does not match (compared in constant time),
    and a body whose idempotency key differs from the header's.
    """
    lower = {name.lower(): value for name, value in headers.items()}
    stamp = lower.get(TIMESTAMP_HEADER.lower(), "")
    if not stamp.isdigit():
        raise InvalidSignature("missing or malformed timestamp")
    signature = lower.get(SIGNATURE_HEADER.lower(), "")
    if not signature.startswith("v1="):
        raise InvalidSignature("missing or unknown signature version")
    timestamp = int(stamp)
    current = (now or clock.now()).timestamp()
    if abs(current - timestamp) > tolerance_seconds:
        raise InvalidSignature("stale timestamp")
    if not outbound.signature_valid(
        secret, timestamp, body, signature[3:], now=now, tolerance_seconds=tolerance_seconds
    ):
        raise InvalidSignature("signature does not match")
    try:
        parsed = json.loads(body)
    except ValueError:
        raise InvalidSignature("body is not JSON") from None
    if not isinstance(parsed, dict) or parsed.get("schema") != SCHEMA:
        raise InvalidSignature(f"body is not a {SCHEMA} document")
    if parsed.get("idempotency_key") != lower.get(IDEMPOTENCY_HEADER.lower()):
        raise InvalidSignature("idempotency key differs from the signed body's")
    return parsed


class WebhookAdapter:
    """POST each command, signed, to the platform's endpoint."""

    name = "webhook"

    def __init__(
        self,
        *,
        url: str,
        secret: SecretStr,
        timeout_seconds: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        outbound.check_webhook_url(url, what="the platform's webhook address")
        self.url, self.timeout_seconds = url, timeout_seconds
        self._secret, self._transport = secret, transport

    def __repr__(self) -> str:
        return f"WebhookAdapter(timeout_seconds={self.timeout_seconds})"

    def execute(self, command: AdapterCommand) -> AdapterResult:
        """POST the signed document; a 2xx (or 409 for this key) answer is the result."""
        body = document(command)
        headers = signed_headers(
            self._secret.get_secret_value(),
            body,
            idempotency_key=command.idempotency_key,
            at=clock.now(),
        )
        with outbound.client(
            timeout_seconds=self.timeout_seconds, transport=self._transport
        ) as client:
            answer = request(client, "POST", self.url, content=body, headers=headers)
        return _result(answer, command.idempotency_key)


def _result(answer: Answer, idempotency_key: str) -> AdapterResult:
    status = answer.status
    if 200 <= status < 300:
        return _settings(answer)
    if status == 409:
        if answer.headers.get(IDEMPOTENCY_HEADER) == idempotency_key:
            return _settings(answer)  # done before, under this very key: the same answer again
        raise AdapterError("HTTP 409 (still in progress)", retryable=True)
    retryable = outbound.status_retryable(status)
    raise AdapterError(
        f"HTTP {status}",
        retryable=retryable,
        retry_after=answer.wait_asked() if retryable else None,
    )


def _settings(answer: Answer) -> AdapterResult:
    """Read the optional settings_before, settings_after and not_done of an answer."""
    parsed = answer.json()
    if not isinstance(parsed, dict):
        return AdapterResult()
    before, after = parsed.get("settings_before"), parsed.get("settings_after")
    not_done = parsed.get("not_done")
    codes = (
        tuple(str(code)[:64] for code in not_done[:MAX_NOT_DONE] if isinstance(code, str))
        if isinstance(not_done, list)
        else ()
    )
    return AdapterResult(
        settings_before=before if isinstance(before, dict) else None,
        settings_after=after if isinstance(after, dict) else None,
        not_done=codes,
    )
