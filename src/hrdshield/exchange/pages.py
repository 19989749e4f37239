"""The staff page of indicator feeds: sources with their counts, and a form to import a bundle.

Works without JavaScript: the import is a plain multipart form with its CSRF token, answered
by a redirect to the list showing what the import did, or by the list again with the problem
and nothing stored.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from hrdshield.errors import DomainError, ValidationProblem
from hrdshield.exchange import service
from hrdshield.exchange.api import bundle_limit
from hrdshield.security.rbac import Permission, Principal
from hrdshield.web.deps import DB_SESSION, require
from hrdshield.web.templating import render

router = APIRouter(include_in_schema=False)


def _list_page(
    request: Request,
    session: Session,
    *,
    problem: str | None = None,
    source_name: str = "",
    status_code: int = 200,
) -> Response:
    summaries = service.list_sources(session=session)
    shown = request.query_params.get("imported")
    report = next((item.source.last_report for item in summaries if item.source.id == shown), None)
    context: dict[str, Any] = {
        "sources": summaries,
        "report": report or None,
        "problem": problem,
        "source_name": source_name,
        "max_megabytes": max(1, bundle_limit(request.app.state.settings) // (1024 * 1024)),
    }
    return render(request, "indicators/list.html", context, status_code=status_code)


@router.get("/staff/indicators")
def indicator_sources(
    request: Request,
    session: Session = DB_SESSION,
    _principal: Principal = require(Permission.INDICATOR_READ),
) -> Response:
    """List the indicator feeds with their counts and last import."""
    return _list_page(request, session)


@router.post("/staff/indicators/import")
def indicator_import(
    request: Request,
    principal: Principal = require(Permission.INDICATOR_IMPORT),
    file: UploadFile | None = File(None),  # declared so the framework always closes the upload
    source: str = Form("", max_length=500),
    session: Session = DB_SESSION,
) -> Response:
    """Import an uploaded bundle; on a problem, show the list again with it, nothing stored."""
    limit = bundle_limit(request.app.state.settings)
    try:
        if file is None or not file.filename:
            raise ValidationProblem("choose a bundle file to import")
        data = file.file.read(limit + 1)  # one byte past the limit shows it is too large
        with session.begin_nested():
            report = service.import_bundle(
                session=session,
                actor=principal,
                data=data,
                source_name=source.strip() or None,
                max_bytes=limit,
            )
    except DomainError as error:
        return _list_page(
            request, session, problem=error.detail, source_name=source, status_code=error.status
        )
    return RedirectResponse(f"/staff/indicators?imported={report.source_id}", status_code=303)
