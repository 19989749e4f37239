"""Every error becomes a clear answer: ``application/problem+json`` under /api, a page elsewhere.

Malformed input is a 4xx with a message a person can act on. Unexpected failures are answered
by the edge middleware with a bare 500 (only the type is logged: messages may hold personal data).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from hrdshield.errors import N_, DomainError
from hrdshield.web import API_PREFIX
from hrdshield.web.i18n import translations
from hrdshield.web.templating import render

log = logging.getLogger("hrdshield.web")

PROBLEM_TYPE = "application/problem+json"
_TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal error",
}


_INVALID_FORM = N_(
    "Some of the values sent are not valid. Go back, check the form and send it again."
)


_PAGE_DEFAULTS = {
    404: N_("There is no page at this address."),
    405: N_("This address cannot be used that way."),
}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


class NotAuthenticated(Exception):
    """The route needs a signed-in user and there is none."""


def is_api(request: Request) -> bool:
    """Return whether the request is for the JSON API."""
    return request.url.path.startswith(API_PREFIX + "/") or request.url.path == API_PREFIX


def problem(
    status: int,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Return an RFC 9457 problem document."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers)


def _error_page(request: Request, status: int, detail: str) -> Response:
    return render(request, "error.html", {"status": status, "detail": detail}, status_code=status)


def gettext_for(request: Request) -> Callable[[str], str]:
    """Return the translation function of the request's interface language."""
    return translations(getattr(request.state, "language", "en")).gettext


def shown(request: Request, error: DomainError) -> str:
    """Return a domain error's message as a page shows it: in the reader's language."""
    return error.translated(gettext_for(request))


def respond(request: Request, status: int, detail: str, **extra: Any) -> Response:
    """Answer with a problem document or an error page, whichever the client is using."""
    if is_api(request):
        return problem(status, detail, **extra)
    return _error_page(request, status, detail)


def _validation_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    found = []
    for item in error.errors():
        location = [str(part) for part in item.get("loc", ())]
        if item.get("type") == "json_invalid":
            found.append({"field": "body", "message": "the request body is not valid JSON"})
            continue
        found.append({"field": ".".join(location), "message": str(item.get("msg", "invalid"))})
    return found[:50]


async def _http(request: Request, error: StarletteHTTPException) -> Response:
    detail = error.detail if isinstance(error.detail, str) else _TITLES.get(error.status_code, "")
    headers = getattr(error, "headers", None)
    if is_api(request):
        return problem(error.status_code, detail, headers=headers)
    if detail == _phrase(error.status_code):  # the framework's own words, e.g. "Not Found"
        detail = _PAGE_DEFAULTS.get(error.status_code, detail)
    return _error_page(request, error.status_code, gettext_for(request)(detail))


def install(app: FastAPI) -> None:
    """Register the handlers on `app`."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, error: DomainError) -> Response:
        if is_api(request):
            return problem(error.status, error.detail)
        return _error_page(request, error.status, shown(request, error))

    @app.exception_handler(NotAuthenticated)
    async def _unauthenticated(request: Request, _error: NotAuthenticated) -> Response:
        if is_api(request):
            return problem(401, "sign in first", headers={"WWW-Authenticate": "Session"})
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> Response:
        errors = _validation_errors(error)
        if not is_api(request):  # a page's own forms send valid values: say it plainly
            return _error_page(request, 422, gettext_for(request)(_INVALID_FORM))
        detail = "; ".join(f"{item['field']}: {item['message']}" for item in errors[:5])
        return problem(422, detail or "invalid input", errors=errors)

    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, _error: IntegrityError) -> Response:
        return respond(request, 409, "the change conflicts with existing records")

    @app.exception_handler(DataError)
    async def _data(request: Request, _error: DataError) -> Response:
        # A value the database cannot store (out of range, too long for its column).
        return respond(request, 422, "a value is too long or not acceptable; nothing was saved")
