"""Request-wide concerns: language, CSRF cookie, security headers, size limit and access log.

The access log records the route template, the status and the time taken; never the client
address, the query string or any header, so it cannot leak who reported what.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.formparsers import MultiPartParser
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hrdshield.config import Settings
from hrdshield.errors import N_, RequestTooLarge
from hrdshield.web import API_PREFIX
from hrdshield.web.errors import is_api, problem, respond
from hrdshield.web.i18n import LANGUAGE_COOKIE, SUPPORTED_LANGUAGES, negotiate, translations

access_log = logging.getLogger("hrdshield.access")
log = logging.getLogger("hrdshield.web")

CSRF_COOKIE = "hrdshield_csrf"
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "connect-src 'self'",
    ]
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def csrf_token_for(secret: bytes, seed: str) -> str:
    """Return the CSRF token bound to a browser's CSRF cookie."""
    return hmac.new(secret, f"csrf\x1f{seed}".encode(), hashlib.sha256).hexdigest()


class WebEdgeMiddleware:
    """Pure ASGI middleware, so streaming responses and the size limit work as they should."""

    def __init__(self, app: ASGIApp, *, settings: Settings, secret: bytes) -> None:
        self.app, self.settings, self.secret = app, settings, secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        started = time.perf_counter()
        query_language = request.query_params.get("lang")
        language = negotiate(
            query_language,
            request.cookies.get(LANGUAGE_COOKIE),
            request.headers.get("accept-language"),
            self.settings.default_language,
        )
        csrf_seed, csrf_is_new = _csrf_seed(request.cookies.get(CSRF_COOKIE))
        state = scope.setdefault("state", {})
        state["language"] = language
        state["csrf_token"] = csrf_token_for(self.secret, csrf_seed)
        cookies = []
        if csrf_is_new:
            cookies.append(self._cookie(CSRF_COOKIE, csrf_seed))
        if query_language in SUPPORTED_LANGUAGES:
            cookies.append(self._cookie(LANGUAGE_COOKIE, language, 31_536_000))
        status = {"code": 0}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                self._decorate(MutableHeaders(scope=message), language, cookies)
            await send(message)

        try:
            limit = body_limit(self.settings, request.headers)
            length = declared_length(request.headers)
            if length is not None and length > limit:
                await _too_large(request, limit)(scope, receive, send_with_headers)
            else:
                await self.app(scope, self._limited(receive, limit), send_with_headers)
        except Exception as error:  # noqa: BLE001  (the last line of defence must catch all)
            # Log the type only: messages and tracebacks may carry personal data. Not re-raised,
            # so the server does not print the traceback either.
            log.error(  # noqa: TRY400  (a traceback would print the message we withhold)
                "unhandled %s on %s %s",
                type(error).__name__,
                scope["method"],
                _route_template(scope),
            )
            if status["code"] == 0:
                failure = respond(
                    request, 500, "something went wrong on our side; nothing was changed"
                )
                await failure(scope, receive, send_with_headers)
        finally:
            access_log.info(
                "%s %s %d %.1fms",
                scope["method"],
                _route_template(scope),
                status["code"],
                (time.perf_counter() - started) * 1000,
            )

    def _decorate(self, headers: MutableHeaders, language: str, cookies: list[str]) -> None:
        for name, value in SECURITY_HEADERS.items():
            headers.setdefault(name, value)
        if self.settings.cookie_secure:
            headers.setdefault("strict-transport-security", "max-age=63072000")
        headers.setdefault("cache-control", "no-store")
        headers.setdefault("content-language", language)
        for cookie in cookies:
            headers.append("set-cookie", cookie)

    def _cookie(self, name: str, value: str, max_age: int | None = None) -> str:
        parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Strict"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        if self.settings.cookie_secure:
            parts.append("Secure")
        return "; ".join(parts)

    def _limited(self, receive: Receive, limit: int) -> Receive:
        seen = {"bytes": 0}

        async def receive_limited() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                seen["bytes"] += len(message.get("body", b""))
                if seen["bytes"] > limit:
                    raise RequestTooLarge
            return message

        return receive_limited


def keep_uploads_in_memory(settings: Settings) -> None:
    """Make the form parser hold every uploaded file in memory, never in a plaintext temp file.

    Starlette spools a file part over 1 MiB to an unencrypted temporary file while parsing; no
    accepted form is larger than `max_form_bytes`, so a spool of that size never rolls over.
    The parser's setting is process-wide: the largest limit of any app in the process applies.
    """
    MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, settings.max_form_bytes)


def body_limit(settings: Settings, headers: Any) -> int:
    """Return the largest body accepted: more for a form carrying files, as set in `settings`."""
    if headers.get("content-type", "").startswith("multipart/form-data"):
        return settings.max_form_bytes
    return settings.max_request_bytes


_TOO_LARGE = N_(
    "What you sent is larger than the %(megabytes)s MB this service accepts at once. Nothing was "
    "saved. Go back and send smaller or fewer files."
)


def _too_large(request: Request, limit: int) -> Response:
    if is_api(request):
        return problem(413, f"the request body is over {limit} bytes")
    message = translations(request.state.language).gettext(_TOO_LARGE)
    return respond(request, 413, message % {"megabytes": f"{limit / (1024 * 1024):.3g}"})


def _route_template(scope: Scope) -> str:
    """Return the matched route's template (never the raw path, which may carry identifiers)."""
    template: str | None = getattr(scope.get("route"), "path", None)
    if template is None:
        return "-"
    if scope["path"].startswith(API_PREFIX + "/") and not template.startswith(API_PREFIX):
        return API_PREFIX + template  # API routers are mounted under the prefix
    return template


def _csrf_seed(cookie: str | None) -> tuple[str, bool]:
    """Return this browser's CSRF seed, or a new one when it has none (or a malformed one)."""
    if cookie and 16 <= len(cookie) <= 64 and cookie.replace("-", "").replace("_", "").isalnum():
        return cookie, False
    return secrets.token_urlsafe(32), True


def declared_length(headers: Any) -> int | None:
    """Return the Content-Length header as an int, or None when absent or malformed."""
    value = headers.get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
