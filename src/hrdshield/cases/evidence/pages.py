"""Evidence pages: the list with an upload form, revealing an image, and file downloads.

Images are shown blurred until the reviewer chooses to see one (reviewer wellbeing), and that
choice is a POST, so no prefetch or link preview can show an image. Works with no JavaScript
and a strict content security policy: nothing here needs an inline style or script.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from hrdshield.cases import service as cases
from hrdshield.cases.evidence import export, preview, service
from hrdshield.cases.evidence.api import (
    FILE_SECURITY_HEADERS,
    file_response,
    package_response,
    read_upload,
)
from hrdshield.cases.evidence.models import Evidence
from hrdshield.errors import N_, DomainError, NotFound, ValidationProblem
from hrdshield.security.rbac import Permission, Principal
from hrdshield.web.deps import DB_SESSION, require
from hrdshield.web.errors import shown
from hrdshield.web.templating import render

router = APIRouter(include_in_schema=False)

PREVIEW_BOX = 640  # the largest width or height, in CSS pixels, a revealed image is drawn at


def display_size(evidence: Evidence) -> tuple[int | None, int | None]:
    """Return width and height attributes that fit the image in the preview box."""
    if not evidence.width or not evidence.height:
        return None, None
    scale = min(1.0, PREVIEW_BOX / max(evidence.width, evidence.height))
    return max(1, round(evidence.width * scale)), max(1, round(evidence.height * scale))


def _list_page(
    request: Request,
    session: Session,
    principal: Principal,
    case_id: str,
    *,
    problem: str | None = None,
    status_code: int = 200,
) -> Response:
    case = cases.get(session=session, actor=principal, case_id=case_id)
    items = service.list_evidence(session=session, actor=principal, case_id=case.id)
    context: dict[str, Any] = {
        "case": case,
        "items": items,
        "previews": {
            item.id: preview.shown_size(item) for item in items if preview.previewable(item)
        },
        "problem": problem,
        "added": request.query_params.get("added") == "1",
        "max_megabytes": service.megabytes(request.app.state.settings.max_upload_bytes),
    }
    return render(request, "evidence/list.html", context, status_code=status_code)


@router.get("/staff/cases/{case_id}/evidence")
def evidence_list(
    request: Request,
    case_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_READ),
) -> Response:
    """List a case's evidence, images hidden, with the form to add a file."""
    return _list_page(request, session, principal, case_id)


@router.post("/staff/cases/{case_id}/evidence")
def evidence_upload(
    request: Request,
    case_id: str,
    file: UploadFile | None = File(None),  # declared so the framework always closes the upload
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_CREATE),
) -> Response:
    """Add a file to a case; on a problem, show the list again with it and nothing saved."""
    settings = request.app.state.settings
    try:
        if file is None or not file.filename:
            raise ValidationProblem(N_("choose a file to add"))
        with session.begin_nested():  # a refused file leaves no row, and its file is removed
            service.add_evidence(
                session=session,
                actor=principal,
                case_id=case_id,
                filename=file.filename,
                data=read_upload(file, settings.max_upload_bytes),
                declared_type=file.content_type,
                max_bytes=settings.max_upload_bytes,
                uploads_dir=settings.uploads_dir,
            )
    except DomainError as error:
        if isinstance(error, NotFound):
            raise
        return _list_page(
            request,
            session,
            principal,
            case_id,
            problem=shown(request, error),
            status_code=error.status,
        )
    return RedirectResponse(f"/staff/cases/{case_id}/evidence?added=1", status_code=303)


@router.get("/staff/cases/{case_id}/evidence/export")
def evidence_export(
    request: Request,
    case_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_READ),
) -> Response:
    """Download the evidence package (zip) of a case."""
    package = export.evidence_package(
        session=session,
        actor=principal,
        case_id=case_id,
        uploads_dir=request.app.state.settings.uploads_dir,
    )
    return package_response(case_id, package)


@router.post("/staff/cases/{case_id}/evidence/{evidence_id}/reveal")
def evidence_reveal(
    request: Request,
    case_id: str,
    evidence_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_READ),
) -> Response:
    """Show a hidden image, because the reviewer chose to see it (recorded)."""
    evidence = service.reveal(
        session=session, actor=principal, case_id=case_id, evidence_id=evidence_id
    )
    width, height = display_size(evidence)
    return render(
        request,
        "evidence/reveal.html",
        {"evidence": evidence, "width": width, "height": height},
    )


@router.get("/staff/cases/{case_id}/evidence/{evidence_id}/preview")
def evidence_preview(
    request: Request,
    case_id: str,
    evidence_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_READ),
) -> Response:
    """Send a blurred preview of an image, made now and never stored (recorded as a view)."""
    data = service.blurred_preview(
        session=session,
        actor=principal,
        case_id=case_id,
        evidence_id=evidence_id,
        uploads_dir=request.app.state.settings.uploads_dir,
    )
    return Response(
        data,
        media_type="image/png",
        headers={
            **FILE_SECURITY_HEADERS,
            "Cache-Control": "no-store",
            "Content-Disposition": f'inline; filename="preview-{evidence_id}.png"',
        },
    )


@router.get("/staff/cases/{case_id}/evidence/{evidence_id}/file")
def evidence_file(
    request: Request,
    case_id: str,
    evidence_id: str,
    *,
    download: bool = False,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_READ),
) -> Response:
    """Send a file: a revealed image to show in the page, anything else as a download."""
    evidence, data, inline = service.open_file(
        session=session,
        actor=principal,
        case_id=case_id,
        evidence_id=evidence_id,
        uploads_dir=request.app.state.settings.uploads_dir,
        inline=not download,
    )
    return file_response(evidence, data, inline=inline)
