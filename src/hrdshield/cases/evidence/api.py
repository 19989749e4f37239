"""JSON routes for evidence: upload, list with hashes, custody, download and the export package.

Files always leave as attachments under a neutral name, with a sandboxing policy, so a browser
never renders evidence in the service's origin.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as StarletteUploadFile

from hrdshield.cases.evidence import export, service
from hrdshield.cases.evidence.enums import CustodyAction, MediaType
from hrdshield.cases.evidence.models import CustodyEvent, Evidence
from hrdshield.security.rbac import Permission, Principal
from hrdshield.web.deps import DB_SESSION, require

router = APIRouter(prefix="/cases/{case_id}/evidence", tags=["evidence"])

FILE_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class EvidenceRead(BaseModel):
    """An item of evidence as case readers see it (the file itself is fetched separately)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    case_id: str
    filename: str | None
    content_type: MediaType
    size: int
    sha256: str
    width: int | None
    height: int | None
    uploaded_at: datetime
    uploaded_by_role: str | None
    deleted_at: datetime | None


class CustodyRead(BaseModel):
    """One link of an item's chain of custody."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    evidence_id: str
    action: CustodyAction
    actor_id: str | None
    actor_role: str | None
    at: datetime
    detail: dict[str, Any]


def file_response(evidence: Evidence, data: bytes, *, inline: bool = False) -> Response:
    """Return an item's bytes with its sniffed type, never rendered as a page of this site."""
    name = f"evidence-{evidence.id}.{evidence.content_type.extension}"
    disposition = "inline" if inline else "attachment"
    return Response(
        data,
        media_type=evidence.content_type.header_value,
        headers={
            **FILE_SECURITY_HEADERS,
            "Content-Disposition": f'{disposition}; filename="{name}"',
        },
    )


def package_response(case_id: str, package: bytes) -> Response:
    """Return an export package as a zip download."""
    return Response(
        package,
        media_type="application/zip",
        headers={
            **FILE_SECURITY_HEADERS,
            "Content-Disposition": f'attachment; filename="evidence-{case_id}.zip"',
        },
    )


def read_upload(upload: StarletteUploadFile, limit: int) -> bytes:
    """Read at most one byte past `limit`, so an oversized file is detected without reading it."""
    return upload.file.read(limit + 1)


@router.post("", response_model=EvidenceRead, status_code=201)
def upload_evidence(
    case_id: str,
    request: Request,
    file: UploadFile = File(...),
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_CREATE),
) -> Evidence:
    """Add a file to a case; its type is decided from its bytes and its hash recorded."""
    settings = request.app.state.settings
    return service.add_evidence(
        session=session,
        actor=principal,
        case_id=case_id,
        filename=file.filename,
        data=read_upload(file, settings.max_upload_bytes),
        declared_type=file.content_type,
        max_bytes=settings.max_upload_bytes,
        uploads_dir=settings.uploads_dir,
    )


@router.get("", response_model=list[EvidenceRead])
def list_evidence(
    case_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_READ),
) -> list[Evidence]:
    """List a case's evidence with the hash taken at intake."""
    return service.list_evidence(session=session, actor=principal, case_id=case_id)


@router.get("/export", response_class=Response)
def export_evidence(
    case_id: str,
    request: Request,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_READ),
) -> Response:
    """Download a zip of the case's evidence with manifest, hashes and chain of custody."""
    package = export.evidence_package(
        session=session,
        actor=principal,
        case_id=case_id,
        uploads_dir=request.app.state.settings.uploads_dir,
    )
    return package_response(case_id, package)


@router.get("/{evidence_id}/custody", response_model=list[CustodyRead])
def custody_log(
    case_id: str,
    evidence_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_READ),
) -> list[CustodyEvent]:
    """Return an item's chain of custody."""
    return service.custody_log(
        session=session, actor=principal, case_id=case_id, evidence_id=evidence_id
    )


@router.get("/{evidence_id}/file", response_class=Response)
def download_evidence(
    case_id: str,
    evidence_id: str,
    request: Request,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_READ),
) -> Response:
    """Download one file as it was received (recorded in its chain of custody)."""
    evidence, data = service.download(
        session=session,
        actor=principal,
        case_id=case_id,
        evidence_id=evidence_id,
        uploads_dir=request.app.state.settings.uploads_dir,
    )
    return file_response(evidence, data)
