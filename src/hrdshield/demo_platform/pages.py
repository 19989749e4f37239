"""The demo platform's event feed, so staff can watch what the simulated platform streams."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from hrdshield.demo_platform import service
from hrdshield.security.rbac import Permission, Principal
from hrdshield.web.deps import DB_SESSION, require
from hrdshield.web.templating import render

router = APIRouter(include_in_schema=False)
FEED_LENGTH = 100


@router.get("/staff/platform")
def feed(
    request: Request,
    session: Session = DB_SESSION,
    _principal: Principal = require(Permission.PLATFORM_FEED),
) -> Response:
    """Show the newest events of the demo platform and how many of each type."""
    events = service.recent_events(session=session, limit=FEED_LENGTH)
    counts = Counter(event.type.value for event in events)
    return render(
        request,
        "platform/feed.html",
        {
            "events": events,
            "counts": sorted(counts.items(), key=lambda item: -item[1]),
            "most": max(counts.values(), default=1),
        },
    )
