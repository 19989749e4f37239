"""The ASGI application: one app for the JSON API under /api/v1 and the server-rendered pages."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from hrdshield import migrate
from hrdshield.accounts import api as accounts_api
from hrdshield.accounts import pages as accounts_pages
from hrdshield.accounts.service import ClientThrottle, LoginPolicy
from hrdshield.bus.setup import open_bus
from hrdshield.cases import api as cases_api
from hrdshield.cases import oncall_api, oncall_pages, retention_api
from hrdshield.cases import pages as cases_pages
from hrdshield.cases import report_api as cases_report_api
from hrdshield.cases import report_pages as cases_report_pages
from hrdshield.cases.evidence import api as evidence_api
from hrdshield.cases.evidence import pages as evidence_pages
from hrdshield.cases.retention import RetentionPolicy
from hrdshield.cases.retention_tasks import run_retention_loop
from hrdshield.cases.sla import SlaPolicy
from hrdshield.cases.tasks import run_sla_ladder
from hrdshield.config import ConfigError, Settings
from hrdshield.db import make_engine, make_session_factory
from hrdshield.defenders import api as defenders_api
from hrdshield.defenders import pages as defenders_pages
from hrdshield.demo_platform import pages as platform_pages
from hrdshield.detection import api as detection_api
from hrdshield.detection import pages as detection_pages
from hrdshield.detection.detectors import DEFAULT_THRESHOLDS
from hrdshield.detection.tasks import build_consumer, run_detection_loop
from hrdshield.detection.thresholds import ThresholdBook, ThresholdError
from hrdshield.detection.thresholds import load as load_thresholds
from hrdshield.exchange import api as exchange_api
from hrdshield.exchange import pages as exchange_pages
from hrdshield.guides import pages as guides_pages
from hrdshield.guides.loader import default_library
from hrdshield.logging_setup import configure_logging
from hrdshield.notify.tasks import channels_from_settings, run_delivery_loop
from hrdshield.protection import api as protection_api
from hrdshield.protection import pages as protection_pages
from hrdshield.protection import service as protection_service
from hrdshield.protection.adapters import adapters_from_settings
from hrdshield.protection.tasks import run_command_loop
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
from hrdshield.web.middleware import WebEdgeMiddleware, keep_uploads_in_memory
from hrdshield.web.templating import TEMPLATES_DIR

log = logging.getLogger("hrdshield")
STATIC_DIR = TEMPLATES_DIR.parent / "static"


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    background: bool = True,
    processes: int = 1,
) -> FastAPI:
    """Build the application for `settings`; `engine` lets tests pass their own database.

    With `background` off, the app runs only its key refresher: the process that started it
    runs the shared background work. `processes` is how many processes serve the same clients;
    they share each per-client limit, so that together they allow no more than it.
    """
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

    sla_policy = sla_policy_of(settings)
    retention_policy = retention_policy_of(settings)
    thresholds = thresholds_of(settings)  # a bad thresholds file stops start-up here

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not migrate.is_current(engine):
            log.warning("database schema is not current; run `hrdshield migrate`")
        keyring.load()
        install_keyring(keyring)
        stop = threading.Event()
        threads = start_background(
            settings,
            session_factory=session_factory,
            keyring=keyring,
            stop_event=stop,
            loops=background,
        )
        yield
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        if app.state.bus is not None:
            app.state.bus.close()

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
    app.state.bus = open_bus(settings, keyring, name="hrdshield-api")  # None: the inbox
    app.state.login_policy = LoginPolicy(
        max_failures=settings.login_max_failures,
        lockout_minutes=settings.login_lockout_minutes,
        session_hours=settings.session_hours,
    )
    app.state.serving_processes = processes
    app.state.client_throttle = ClientThrottle(settings.login_client_limit, processes=processes)
    app.state.sla_policy = sla_policy
    app.state.retention_policy = retention_policy
    app.state.thresholds = thresholds
    app.state.platform_adapters = adapters_from_settings(settings, session_factory=session_factory)
    protection_service.use_platform(settings.platform_adapter)
    app.state.guides = default_library()  # read and rendered once, at start-up
    app.add_middleware(WebEdgeMiddleware, settings=settings, secret=secret)
    keep_uploads_in_memory(settings)
    errors.install(app)

    api = APIRouter(prefix=API_PREFIX)
    for router in (
        accounts_api.router,
        defenders_api.router,
        cases_api.router,
        evidence_api.router,
        cases_report_api.router,
        retention_api.router,
        exchange_api.router,
        oncall_api.router,
        detection_api.router,
        protection_api.router,
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
        exchange_pages.router,
        oncall_pages.router,
        detection_pages.router,
        protection_pages.router,
        guides_pages.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def start_background(
    settings: Settings,
    *,
    session_factory: sessionmaker[Session],
    keyring: Keyring,
    stop_event: threading.Event,
    loops: bool = True,
) -> list[threading.Thread]:
    """Start this process's key refresher and, with `loops`, the shared background work.

    The shared work (SLA ladder, retention, detection, platform commands, notifier, demo
    generator) runs in one process per server: the only one, or the supervisor of several (see
    `serving`). Every process refreshes its own keys.
    """
    protection_service.use_platform(settings.platform_adapter)
    threads = [_start(run_key_refresher, "key-refresher", keyring=keyring, stop_event=stop_event)]
    if loops and settings.background_tasks:
        threads.append(
            _start(
                run_sla_ladder,
                "sla-ladder",
                session_factory=session_factory,
                policy=sla_policy_of(settings),
                interval_seconds=60.0,
                stop_event=stop_event,
            )
        )
        threads.append(
            _start(
                run_retention_loop,
                "retention",
                session_factory=session_factory,
                policy=retention_policy_of(settings),
                uploads_dir=settings.uploads_dir,
                interval_seconds=300.0,
                stop_event=stop_event,
            )
        )
    if loops and settings.background_tasks and settings.bus_url is None:
        # With a bus, `hrdshield worker` processes run detection instead.
        threads.append(
            _start(
                run_detection_loop,
                "detection",
                consumer=build_consumer(
                    session_factory,
                    keyring,
                    thresholds=thresholds_of(settings),
                    policy=sla_policy_of(settings),
                    abuse_model=settings.abuse_model,
                    public_url=settings.public_url,
                ),
                interval_seconds=settings.detection_interval_seconds,
                retention_hours=settings.detection_window_hours,
                stop_event=stop_event,
            )
        )
    if loops and settings.background_tasks:
        threads.append(
            _start(
                run_command_loop,
                "platform-commands",
                session_factory=session_factory,
                adapters=adapters_from_settings(settings, session_factory=session_factory),
                interval_seconds=1.0,
                stop_event=stop_event,
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
                stop_event=stop_event,
            )
        )
    if loops and settings.demo:
        from hrdshield.demo_platform.tasks import run_generator  # noqa: PLC0415  (demo only)
        from hrdshield.detection.ingest import InboxSink  # noqa: PLC0415

        threads.append(
            _start(
                run_generator,
                "demo-platform",
                session_factory=session_factory,
                interval_seconds=settings.demo_interval_seconds,
                stop_event=stop_event,
                # The demo platform streams into detection, through the bus when there is one.
                sink=InboxSink(session_factory, bus=open_bus(settings, keyring, name="demo")),
            )
        )
    log.info(
        "background work in process %d: %s",
        os.getpid(),
        ", ".join(thread.name for thread in threads),
    )
    return threads


def sla_policy_of(settings: Settings) -> SlaPolicy:
    """Return the first-response targets configured in `settings`."""
    return SlaPolicy(
        critical=settings.sla_critical_minutes,
        high=settings.sla_high_minutes,
        medium=settings.sla_medium_minutes,
        low=settings.sla_low_minutes,
    )


def thresholds_of(settings: Settings) -> ThresholdBook:
    """Return the detector thresholds of the operator's file (defaults when there is none)."""
    try:
        return load_thresholds(settings.detection_config, DEFAULT_THRESHOLDS)
    except ThresholdError as error:
        raise ConfigError(f"HRDSHIELD_DETECTION_CONFIG: {error}") from error


def retention_policy_of(settings: Settings) -> RetentionPolicy:
    """Return the retention periods configured in `settings`."""
    return RetentionPolicy(
        retention_days=settings.retention_days, warning_days=settings.retention_warning_days
    )


def _start(target: Any, name: str, **kwargs: Any) -> threading.Thread:
    thread = threading.Thread(target=target, kwargs=kwargs, name=name, daemon=True)
    thread.start()
    return thread
