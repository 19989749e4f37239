"""Reviewers' pages of detection: alerts, one alert with its evidence, a defender's campaign.

Evidence texts are what attackers wrote; they are folded away until a reviewer opens them, to
spare reviewers needless exposure (recommendation 6), and nothing here links to the platform.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from hrdshield.defenders.models import Defender
from hrdshield.detection import campaign, ingest, service
from hrdshield.detection.enums import AlertVerdict, DetectorKind
from hrdshield.detection.models import Alert, Incident
from hrdshield.errors import NotFound, ValidationProblem
from hrdshield.security.rbac import Permission, Principal
from hrdshield.web.charts import bar_chart
from hrdshield.web.deps import DB_SESSION, require
from hrdshield.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@router.get("/staff/alerts")
def alerts_page(
    request: Request,
    *,
    detector: str = Query("", max_length=32),
    unjudged: bool = False,
    page: int = Query(1, ge=1, le=1000),
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.ALERT_READ),
) -> Response:
    """List alerts, newest first, by detector or only those not judged yet."""
    chosen = next((kind for kind in DetectorKind if kind.value == detector), None)
    rows = service.list_alerts(
        session=session,
        detector=chosen,
        unjudged=unjudged,
        limit=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )
    return render(
        request,
        "detection/alerts.html",
        {
            "alerts": [(alert, _defender(session, alert)) for alert in rows[:PAGE_SIZE]],
            "detectors": list(DetectorKind),
            "chosen": chosen,
            "unjudged": unjudged,
            "page": page,
            "more": len(rows) > PAGE_SIZE,
        },
    )


def _defender(session: Session, alert: Alert) -> Defender | None:
    return session.get(Defender, alert.defender_id) if alert.defender_id else None


@router.get("/staff/alerts/{alert_id}")
def alert_page(
    request: Request,
    alert_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.ALERT_READ),
) -> Response:
    """Show one alert: why it fired, the events it rests on, and the verdict form."""
    alert = service.get(session=session, alert_id=alert_id)
    incident = session.get(Incident, alert.incident_id) if alert.incident_id else None
    return render(
        request,
        "detection/alert.html",
        {
            "alert": alert,
            "defender": _defender(session, alert),
            "case_id": incident.case_id if incident else None,
            "explanation": _facts(json.loads(alert.explanation)),
            "evidence": [
                (row, json.loads(row.payload))
                for row in service.evidence(session=session, alert_id=alert.id)
            ],
        },
    )


def _facts(explanation: dict[str, Any]) -> list[tuple[str, str]]:
    """Flatten an explanation into (name, value) lines for a definition list."""
    facts: list[tuple[str, str]] = []
    for key, value in explanation.items():
        if isinstance(value, dict):
            facts.extend((f"{key}.{inner}", _text(item)) for inner, item in value.items())
        else:
            facts.append((key, _text(value)))
    return facts


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


@router.post("/staff/alerts/{alert_id}/verdict")
def verdict_form(
    alert_id: str,
    verdict: str = Form(..., max_length=32),
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.ALERT_WORK),
) -> Response:
    """Record a reviewer's verdict and return to the alert."""
    try:
        chosen = AlertVerdict(verdict)
    except ValueError:
        raise ValidationProblem("choose true positive or false positive") from None
    service.judge(session=session, actor=principal, alert_id=alert_id, verdict=chosen)
    return RedirectResponse(f"/staff/alerts/{alert_id}", status_code=303)


@router.get("/staff/defenders/{defender_id}/campaign")
def campaign_page(
    request: Request,
    defender_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.ALERT_READ),
) -> Response:
    """Show everything aimed at one defender: timeline, attacking accounts, clusters, texts."""
    defender = session.get(Defender, defender_id)
    if defender is None:
        raise NotFound("defender not found")
    seen = campaign.build(session=session, defender_id=defender_id)
    return render(
        request,
        "detection/campaign.html",
        {
            "defender": defender,
            "campaign": seen,
            "chart": bar_chart(seen.timeline),
            "bucket_hours": int(seen.bucket.total_seconds() // 3600),
        },
    )


@router.get("/staff/detection")
def overview_page(
    request: Request,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.ALERT_READ),
) -> Response:
    """Show how the detectors do: alerts and reviewers' verdicts per detector, the backlog."""
    rows = service.feedback(session=session)
    return render(
        request,
        "detection/overview.html",
        {
            "feedback": rows,
            "chart": bar_chart([(row.detector.value, row.alerts) for row in rows]),
            "backlog": ingest.backlog(session=session),
            "dead_letters": ingest.dead_letter_count(session=session),
        },
    )
