"""Guide pages: the list and each guide, public and printable; defenders save their checklist.

Reading needs no account, so that a defender can open a guide from any device, and a helper can
print it. Only a signed-in HRD's ticks are saved (a plain form, no JavaScript); everybody else
can tick boxes on screen or on paper and is told why nothing is kept.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from babel.dates import format_date
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from hrdshield.errors import ValidationProblem
from hrdshield.guides import service
from hrdshield.guides.loader import Found, GuideLibrary
from hrdshield.guides.models import ITEM_ID_LENGTH
from hrdshield.security.rbac import Permission, Principal, principal_allows
from hrdshield.web.deps import DB_SESSION, require
from hrdshield.web.i18n import SUPPORTED_LANGUAGES, translations
from hrdshield.web.templating import render

router = APIRouter(include_in_schema=False)


def _library(request: Request) -> GuideLibrary:
    library: GuideLibrary = request.app.state.guides
    return library


def _saver(request: Request) -> Principal | None:
    """Return the principal if it may save checklist progress."""
    principal: Principal | None = request.state.principal
    if principal is None or not principal_allows(principal, Permission.GUIDE_PROGRESS):
        return None
    return principal


def _missing(request: Request) -> Response:
    context = {"guides": _library(request).listing(request.state.language)}
    return render(request, "guides/missing.html", context, status_code=404)


def _language_name(request: Request) -> str:
    return SUPPORTED_LANGUAGES[request.state.language].name


@router.get("/guides")
def guide_list(request: Request, session: Session = DB_SESSION) -> Response:
    """List the guides in the reader's language, with a defender's progress on each."""
    shown = _library(request).listing(request.state.language)
    saver = _saver(request)
    progress = (
        service.progress_counts(session=session, actor=saver, guides=[f.guide for f in shown])
        if saver is not None
        else {}
    )
    context = {
        "guides": shown,
        "progress": progress,
        "any_fell_back": any(found.fell_back for found in shown),
        "language_name": _language_name(request),
    }
    return render(request, "guides/list.html", context)


def _guide_page(
    request: Request,
    session: Session,
    found: Found,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    saver = _saver(request)
    ticked = service.checked_items(session=session, actor=saver) if saver else {}
    checked = ticked.get(found.guide.slug, frozenset())
    context: dict[str, Any] = {
        "found": found,
        "guide": found.guide,
        "can_save": saver is not None,
        "checked": checked,
        "done": len(checked & set(found.guide.item_ids)),
        "saved": request.query_params.get("saved") == "1" and error is None,
        "error": error,
        "language_name": _language_name(request),
        "reviewed": format_date(found.guide.reviewed, format="long", locale=request.state.language),
        "login_next": quote(service.guide_path(found.guide.slug), safe="/"),
    }
    return render(request, "guides/guide.html", context, status_code=status_code)


@router.get("/guides/{slug}")
def guide_page(slug: str, request: Request, session: Session = DB_SESSION) -> Response:
    """Show one guide with its checklist; an unknown guide gets a page listing the others."""
    found = _library(request).find(slug, request.state.language)
    if found is None:
        return _missing(request)
    return _guide_page(request, session, found)


@router.post("/guides/{slug}/progress")
async def save_progress(
    slug: str,
    request: Request,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.GUIDE_PROGRESS),
) -> Response:
    """Save which checklist items the defender has ticked, then show the guide again."""
    found = _library(request).find(slug, request.state.language)
    if found is None:
        return _missing(request)
    form = await request.form()
    checked = [str(value)[: ITEM_ID_LENGTH + 1] for value in form.getlist("done")]
    try:
        with session.begin_nested():
            service.save_progress(
                session=session,
                actor=principal,
                guide=found.guide,
                checked=checked[: service.MAX_ITEMS + 1],
            )
    except ValidationProblem:
        _ = translations(request.state.language).gettext
        error = _("This checklist has changed since the page was opened. Nothing was saved.")
        return _guide_page(request, session, found, error=error, status_code=422)
    target = f"{service.guide_path(found.guide.slug)}?saved=1#checklist"
    return RedirectResponse(target, status_code=303)
