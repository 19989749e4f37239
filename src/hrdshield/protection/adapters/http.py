"""What the HTTP adapters (webhook, Mastodon) share: one request, a bounded answer, the wait asked.

A request that gets no answer (timeout, refused connection) is an `AdapterError` worth retrying;
an answer is read up to a limit, so a platform cannot fill the worker's memory; a platform's own
"try again after" (Retry-After in seconds or as a date, Mastodon's X-RateLimit-Reset) is kept
for the outbox to honour. Nothing of the answer's text goes into an error: it can quote a person.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from hrdshield import clock, outbound
from hrdshield.protection.adapters.base import AdapterError

MAX_ANSWER_BYTES = 256 * 1024


@dataclass(frozen=True)
class Answer:
    """A platform's answer: status, headers and the body, cut at the reader's limit."""

    status: int
    headers: httpx.Headers
    body: bytes
    truncated: bool = False

    def json(self) -> Any:
        """Return the body as JSON, or None when it is empty, not JSON or cut short."""
        if not self.body or self.truncated:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def wait_asked(self) -> timedelta | None:
        """Return how long the platform asked us to wait before trying again, if it did."""
        return wait_asked(self.headers)


def request(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    max_bytes: int = MAX_ANSWER_BYTES,
    **kwargs: Any,
) -> Answer:
    """Send one request and return the answer; no answer at all is a retryable AdapterError."""
    try:
        with client.stream(method, url, **kwargs) as response:
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    return Answer(response.status_code, response.headers, b"", truncated=True)
            return Answer(response.status_code, response.headers, bytes(body))
    except httpx.HTTPError as error:
        raise AdapterError(outbound.transport_failure(error), retryable=True) from None


def wait_asked(headers: httpx.Headers) -> timedelta | None:
    """Read Retry-After (seconds or an HTTP date) or X-RateLimit-Reset (ISO 8601)."""
    now = clock.now()
    value = headers.get("retry-after", "").strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    at = _http_date(value) if value else _iso_time(headers.get("x-ratelimit-reset", ""))
    if at is None:
        return None
    return max(at - now, timedelta(0))


def _http_date(value: str) -> datetime | None:
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _iso_time(value: str) -> datetime | None:
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
