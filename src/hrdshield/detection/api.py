"""JSON routes of detection: platforms send events; staff read alerts and judge them."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdshield.bus.base import BusUnavailableError
from hrdshield.detection import ingest, platforms, service
from hrdshield.detection.enums import DetectorKind, IngestChannel
from hrdshield.detection.models import Alert, DeadLetter, Platform
from hrdshield.detection.schemas import (
    AlertDetail,
    AlertRead,
    DeadLetterRead,
    FeedbackRead,
    IngestReportRead,
    PlatformCreate,
    PlatformRead,
    PlatformToken,
    VerdictIn,
)
from hrdshield.security.rbac import Permission, Principal
from hrdshield.web.deps import DB_SESSION, require

router = APIRouter(tags=["detection"])
NDJSON = "application/x-ndjson"
BUS_RETRY_AFTER_SECONDS = 2


async def _ndjson_body(request: Request) -> bytes:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in (NDJSON, "application/jsonl", "application/json-lines"):
        raise HTTPException(
            status_code=415, detail=f"send events as {NDJSON}: one JSON object a line"
        )
    return await request.body()


@router.post(
    "/events",
    response_model=IngestReportRead,
    responses={503: {"description": "the event bus is not taking events; retry after a pause"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {NDJSON: {"schema": {"type": "string"}}},
            "description": "hrdshield.event/1 events, one JSON object a line (docs/detection.md)",
        }
    },
)
def post_events(
    request: Request,
    principal: Principal = require(Permission.EVENTS_INGEST),  # first: refuse before reading
    body: bytes = Depends(_ndjson_body),
    session: Session = DB_SESSION,
) -> ingest.IngestReport:
    """Take a batch of the platform's events; each bad line is refused with its reason.

    With a bus configured, the answer comes only once the bus has kept every event; when it
    cannot, the answer is 503 with Retry-After and nothing of the batch counts as accepted.
    """
    lines = ingest.split_lines(body)
    if len(lines) > ingest.MAX_BATCH_LINES:
        raise HTTPException(
            status_code=413, detail=f"send at most {ingest.MAX_BATCH_LINES} events a batch"
        )
    if not any(line.strip() for line in lines):
        raise HTTPException(status_code=422, detail="the body holds no events")
    try:
        return ingest.accept_lines(
            session=session,
            lines=lines,
            channel=IngestChannel.API,
            platform=principal.platform,
            bus=getattr(request.app.state, "bus", None),
        )
    except BusUnavailableError as error:
        raise HTTPException(
            status_code=503,
            detail="the event bus is not taking events just now; send the batch again shortly",
            headers={"Retry-After": str(BUS_RETRY_AFTER_SECONDS)},
        ) from error


@router.get("/alerts", response_model=list[AlertRead])
def list_alerts(
    *,
    detector: DetectorKind | None = None,
    defender_id: str | None = Query(None, max_length=32),
    unjudged: bool = False,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=100_000),
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.ALERT_READ),
) -> list[Alert]:
    """List alerts, newest first."""
    return service.list_alerts(
        session=session,
        detector=detector,
        defender_id=defender_id,
        unjudged=unjudged,
        limit=limit,
        offset=offset,
    )


def _detail(session: Session, alert: Alert) -> dict[str, Any]:
    evidence = service.evidence(session=session, alert_id=alert.id)
    return {
        **AlertRead.model_validate(alert).model_dump(),
        "explanation": alert.explanation,
        "evidence": [
            {
                "event_id": item.event_id,
                "event_type": item.event_type,
                "occurred_at": item.occurred_at,
                "event": json.loads(item.payload),
            }
            for item in evidence
        ],
    }


@router.get("/alerts/{alert_id}", response_model=AlertDetail)
def get_alert(
    alert_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.ALERT_READ),
) -> dict[str, Any]:
    """Return one alert with its explanation and the events it rests on."""
    return _detail(session, service.get(session=session, alert_id=alert_id))


@router.post("/alerts/{alert_id}/verdict", response_model=AlertRead)
def judge_alert(
    alert_id: str,
    body: VerdictIn,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.ALERT_WORK),
) -> Alert:
    """Mark an alert a true or a false positive (kept per detector to measure it)."""
    return service.judge(session=session, actor=principal, alert_id=alert_id, verdict=body.verdict)


@router.get("/detection/feedback", response_model=list[FeedbackRead])
def detector_feedback(
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.ALERT_READ),
) -> list[dict[str, Any]]:
    """Return reviewers' verdicts per detector, with the precision they imply."""
    return [
        {
            "detector": row.detector,
            "alerts": row.alerts,
            "true_positives": row.true_positives,
            "false_positives": row.false_positives,
            "precision": row.precision,
        }
        for row in service.feedback(session=session)
    ]


@router.get("/detection/dead-letters", response_model=list[DeadLetterRead])
def dead_letters(
    limit: int = Query(100, ge=1, le=500),
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.PLATFORM_MANAGE),
) -> list[DeadLetter]:
    """List refused and set-aside events, newest first (their contents stay encrypted)."""
    return list(
        session.scalars(select(DeadLetter).order_by(DeadLetter.received_at.desc()).limit(limit))
    )


@router.get("/platforms", response_model=list[PlatformRead])
def list_platforms(
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.PLATFORM_MANAGE),
) -> list[Platform]:
    """List the platforms that may send events."""
    return platforms.list_all(session=session)


@router.post("/platforms", response_model=PlatformToken, status_code=201)
def register_platform(
    body: PlatformCreate,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.PLATFORM_MANAGE),
) -> dict[str, Any]:
    """Register a platform and return its token, shown this once."""
    platform, token = platforms.register(session=session, actor=principal, name=body.name)
    return {**PlatformRead.model_validate(platform).model_dump(), "token": token}


@router.post("/platforms/{name}/revoke", response_model=PlatformRead)
def revoke_platform(
    name: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.PLATFORM_MANAGE),
) -> Platform:
    """Revoke a platform's token at once."""
    return platforms.revoke(session=session, actor=principal, name=name)
