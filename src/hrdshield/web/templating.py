"""Server-rendered pages: one Jinja2 environment, translations bound per request."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from hrdshield.security.rbac import Permission, Principal, principal_allows
from hrdshield.web.i18n import SUPPORTED_LANGUAGES, translations

TEMPLATES_DIR = Path(__file__).parent / "templates"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html", "xml"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def language_url(request: Request, code: str) -> str:
    """Return the current page's URL in another language, keeping its other query parameters."""
    params = [(key, value) for key, value in request.query_params.multi_items() if key != "lang"]
    params.append(("lang", code))
    return f"{request.url.path}?{urlencode(params)}"


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render `template` in the request's language, with its principal and CSRF token."""
    code = getattr(request.state, "language", "en")
    catalog = translations(code)
    principal: Principal | None = getattr(request.state, "principal", None)
    values: dict[str, Any] = {
        "request": request,
        "lang": SUPPORTED_LANGUAGES[code],
        "languages": SUPPORTED_LANGUAGES.values(),
        "language_url": lambda other: language_url(request, other),
        "_": catalog.gettext,
        "ngettext": catalog.ngettext,
        "principal": principal,
        "can": lambda name: principal is not None and principal_allows(principal, Permission(name)),
        "csrf_token": getattr(request.state, "csrf_token", ""),
    }
    values.update(context or {})
    html = environment.get_template(template).render(values)
    return HTMLResponse(html, status_code=status_code)
