"""Liveness and readiness probes for orchestrators; they reveal nothing about the data."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from hrdshield import migrate

router = APIRouter(include_in_schema=False)
log = logging.getLogger("hrdshield.health")


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Answer that the process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Answer whether the database is reachable and at the newest migration."""
    engine: Engine = request.app.state.engine
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current = migrate.is_current(engine)
    except SQLAlchemyError:
        log.warning("readiness check: database unreachable")
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    if not current:
        return JSONResponse({"status": "unavailable", "database": "not migrated"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})
