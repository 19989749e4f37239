"""JSON routes for indicator feeds: list indicators and sources, import a STIX bundle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from hrdshield.config import Settings
from hrdshield.errors import ValidationProblem
from hrdshield.exchange import service, stix
from hrdshield.exchange.enums import IndicatorType
from hrdshield.exchange.models import Indicator
from hrdshield.exchange.schemas import ImportRead, IndicatorPage, IndicatorSourceRead
from hrdshield.security.rbac import Permission, Principal
from hrdshield.web.deps import DB_SESSION, require

router = APIRouter(tags=["indicators"])

JSON_TYPES = ("application/json", "application/stix+json")
_BUNDLE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object", "description": "a STIX bundle"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "source": {"type": "string", "maxLength": service.MAX_SOURCE_NAME},
                    },
                }
            },
        },
    }
}


def bundle_limit(settings: Settings) -> int:
    """Return the largest bundle accepted over the web."""
    return min(stix.MAX_BUNDLE_BYTES, settings.max_request_bytes)


@dataclass(frozen=True)
class BundleUpload:
    """A bundle's bytes as sent, and the source name sent with an upload form."""

    data: bytes
    source: str | None


async def read_upload(upload: Any, limit: int) -> bytes:
    """Return a form's uploaded file (at most one byte past `limit`), or refuse the form."""
    if not isinstance(upload, UploadFile):
        raise ValidationProblem('attach the bundle file as the form field "file"')
    return await upload.read(limit + 1)


async def bundle_upload(request: Request) -> BundleUpload:
    """Read the bundle from a JSON body or from a multipart upload (``file``, ``source``)."""
    limit = bundle_limit(request.app.state.settings)
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form()
        try:
            source = form.get("source")
            return BundleUpload(
                await read_upload(form.get("file"), limit),
                source if isinstance(source, str) and source.strip() else None,
            )
        finally:
            await form.close()  # the uploaded file's spool, since no File() parameter owns it
    if content_type in JSON_TYPES:
        return BundleUpload(await request.body(), None)
    raise HTTPException(
        status_code=415,
        detail="send the bundle as application/json or as a multipart/form-data upload",
    )


def source_read(summary: service.SourceSummary) -> dict[str, Any]:
    """Return the API view of a source."""
    source = summary.source
    return {
        "id": source.id,
        "name": source.name,
        "created_at": source.created_at,
        "imports": source.imports,
        "last_import_at": source.last_import_at,
        "last_bundle_id": source.last_bundle_id,
        "last_sha256": source.last_sha256,
        "indicators": summary.indicators,
        "active": summary.active,
        "values_by_type": summary.values_by_type,
        "last_report": source.last_report or None,
    }


@router.get("/indicators", response_model=IndicatorPage)
def list_indicators(
    offset: int = Query(0, ge=0, le=1_000_000),
    limit: int = Query(50, ge=1, le=200),
    indicator_type: IndicatorType | None = Query(None, alias="type"),
    source_id: str | None = Query(None, min_length=1, max_length=32),
    session: Session = DB_SESSION,
    _principal: Principal = require(Permission.INDICATOR_READ),
) -> dict[str, Any]:
    """List indicators, newest first, by type (``domain-name``, ``url``, ...) or source."""
    rows: list[Indicator]
    rows, total = service.list_indicators(
        session=session,
        offset=offset,
        limit=limit,
        indicator_type=indicator_type,
        source_id=source_id,
    )
    return {"items": rows, "total": total, "offset": offset, "limit": limit}


@router.post("/indicators/import", response_model=ImportRead, openapi_extra=_BUNDLE_BODY)
def import_indicators(
    request: Request,
    source: str | None = Query(None, max_length=service.MAX_SOURCE_NAME),
    session: Session = DB_SESSION,
    # The role is checked before the body is read: declared first, resolved first.
    principal: Principal = require(Permission.INDICATOR_IMPORT),
    upload: BundleUpload = Depends(bundle_upload),
) -> dict[str, Any]:
    """Import a STIX 2.1 bundle (JSON body, or upload ``file``); return the counts."""
    report = service.import_bundle(
        session=session,
        actor=principal,
        data=upload.data,
        source_name=upload.source or source,
        max_bytes=bundle_limit(request.app.state.settings),
    )
    return report.as_dict()


@router.get("/indicator-sources", response_model=list[IndicatorSourceRead])
def list_sources(
    session: Session = DB_SESSION,
    _principal: Principal = require(Permission.INDICATOR_READ),
) -> list[dict[str, Any]]:
    """List the indicator feeds with their counts and last import."""
    return [source_read(summary) for summary in service.list_sources(session=session)]
