"""The ASGI application: one app for the JSON API under /api/v1 and the server-rendered pages."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from hrdshield import migrate
from hrdshield.accounts import api as accounts_api
from hrdshield.accounts import pages as accounts_pages
from hrdshield.accounts.service import ClientThrottle, LoginPolicy
from hrdshield.cases import api as cases_api
from hrdshield.cases import pages as cases_pages
from hrdshield.cases import report_api as cases_report_api
from hrdshield.cases import report_pages as cases_report_pages
from hrdshield.cases import retention_api
from hrdshield.cases.evidence import api as evidence_api
from hrdshield.cases.evidence import pages as evidence_pages
from hrdshield.cases.retention import RetentionPolicy
from hrdshield.cases.retention_tasks import run_retention_loop
from hrdshield.cases.sla import SlaPolicy
from hrdshield.cases.tasks import run_sla_ladder
from hrdshield.config import Settings
from hrdshield.db import make_engine, make_session_factory
from hrdshield.defenders import api as defenders_api
from hrdshield.defenders import pages as defenders_pages
from hrdshield.demo_platform import pages as platform_pages
from hrdshield.guides import pages as guides_pages
from hrdshield.guides.loader import default_library
from hrdshield.logging_setup import configure_logging
from hrdshield.notify.tasks import channels_from_settings, run_delivery_loop
from hrdshield.security import pages as security_pages
from hrdshield.security.crypto import (
    Keyring,
    install_keyring,
    load_master_key,
    load_or_create_secret,
    run_key_refresher,
)
from hrdshield.web import API_PREFIX, errors, health, pages
from hrdshield.web.deps import csrf_protect, reject_nul_bytes, request_context
from hrdshield.web.middleware import WebEdgeMiddleware
from hrdshield.web.templating import TEMPLATES_DIR

log = logging.getLogger("hrdshield")
STATIC_DIR = TEMPLATES_DIR.parent / "static"


def create_app(settings: Settings, *, engine: Engine | None = None) -> FastAPI:
    """Build the application for `settings`; `engine` lets tests pass their own database."""
    configure_logging(settings.log_level)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = engine or make_engine(settings.sqlalchemy_url)
    session_factory = make_session_factory(engine)
    keyring = Keyring(
        master_key=load_master_key(
            settings.master_key.get_secret_value() if settings.master_key else None,
            settings.keys_dir,
        ),
        session_factory=session_factory,
    )
    secret = load_or_create_secret(
        settings.secret_key.get_secret_value() if settings.secret_key else None,
        settings.keys_dir,
        "secret.key",
    )

    sla_policy = SlaPolicy(
        critical=settings.sla_critical_minutes,
        high=settings.sla_high_minutes,
        medium=settings.sla_medium_minutes,
        low=settings.sla_low_minutes,
    )

    retention_policy = RetentionPolicy(
        retention_days=settings.retention_days, warning_days=settings.retention_warning_days
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not migrate.is_current(engine):
            log.warning("database schema is not current; run `hrdshield migrate`")
        keyring.load()
        install_keyring(keyring)
        stop = threading.Event()
        threads = [_start(run_key_refresher, "key-refresher", keyring=keyring, stop_event=stop)]
        if settings.background_tasks:
            threads.append(
                _start(
                    run_sla_ladder,
                    "sla-ladder",
                    session_factory=session_factory,
                    policy=sla_policy,
                    interval_seconds=60.0,
                    stop_event=stop,
                )
            )
            threads.append(
                _start(
                    run_retention_loop,
                    "retention",
                    session_factory=session_factory,
                    policy=retention_policy,
                    uploads_dir=settings.uploads_dir,
                    interval_seconds=300.0,
                    stop_event=stop,
                )
            )
            threads.append(
                _start(
                    run_delivery_loop,
                    "notifier",
                    session_factory=session_factory,
                    channels=channels_from_settings(settings, session_factory=session_factory),
                    interval_seconds=settings.notify_interval_seconds,
                    max_attempts=settings.notify_max_attempts,
                    stop_event=stop,
                )
            )
        if settings.demo:
            threads.append(_start_demo(settings, session_factory, stop))
        yield
        stop.set()
        for thread in threads:
            thread.join(timeout=10)

    app = FastAPI(
        title="HRD Shield",
        version="0.1.0",
        description="Protection of human rights defenders online.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # Swagger UI would load third-party scripts; the JSON document is served
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(reject_nul_bytes), Depends(request_context), Depends(csrf_protect)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.keyring = keyring
    app.state.login_policy = LoginPolicy(
        max_failures=settings.login_max_failures,
        lockout_minutes=settings.login_lockout_minutes,
        session_hours=settings.session_hours,
    )
    app.state.client_throttle = ClientThrottle(settings.login_client_limit)
    app.state.sla_policy = sla_policy
    app.state.retention_policy = retention_policy
    app.state.guides = default_library()  # read and rendered once, at start-up
    app.add_middleware(WebEdgeMiddleware, settings=settings, secret=secret)
    errors.install(app)

    api = APIRouter(prefix=API_PREFIX)
    for router in (
        accounts_api.router,
        defenders_api.router,
        cases_api.router,
        evidence_api.router,
        cases_report_api.router,
        retention_api.router,
    ):
        api.include_router(router)
    app.include_router(api)
    for router in (
        health.router,
        pages.router,
        accounts_pages.router,
        defenders_pages.router,
        platform_pages.router,
        security_pages.router,
        cases_pages.router,
        evidence_pages.router,
        cases_report_pages.router,
        guides_pages.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _start(target: Any, name: str, **kwargs: Any) -> threading.Thread:
    thread = threading.Thread(target=target, kwargs=kwargs, name=name, daemon=True)
    thread.start()
    return thread


def _start_demo(
    settings: Settings, session_factory: Any, stop: threading.Event
) -> threading.Thread:
    from hrdshield.demo_platform.tasks import run_generator  # noqa: PLC0415  (demo only)

    return _start(
        run_generator,
        "demo-platform",
        session_factory=session_factory,
        interval_seconds=settings.demo_interval_seconds,
        stop_event=stop,
    )
