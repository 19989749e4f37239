"""`hrdshield serve`: one process, or a supervisor with several serving processes.

One Python process answers with one CPU at a time, so a server with several CPUs runs several
processes on one listening socket (uvicorn's supervisor starts, watches and restarts them). The
supervisor itself serves no request: it prepares what must exist once (data keys, the CSRF secret
file) before any worker starts, and runs the background work that must run once per server (SLA
ladder, retention, notifier, demo generator); each worker runs only its own key refresher.

Workers die with their supervisor, however it ends (on Linux the kernel kills them when it goes):
a supervisor killed with SIGKILL must not leave workers answering, as a crash test relies on.
"""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import sys
import threading
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker
from uvicorn.supervisors import Multiprocess

from hrdshield.app import create_app, start_background
from hrdshield.config import Settings
from hrdshield.logging_setup import configure_logging
from hrdshield.security.crypto import Keyring, load_or_create_secret

_PR_SET_PDEATHSIG = 1  # prctl(2): the signal this process gets when its parent ends
_ORPHAN_CHECK_SECONDS = 1.0
# A worker that does not answer the supervisor's ping in time is killed and replaced. Starting
# one (imports, keys) takes seconds on a busy machine; a shorter wait would kill healthy ones.
_WORKER_HEALTHCHECK_SECONDS = 60


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Return the server options every serving process uses."""
    # access_log off: uvicorn's access log records client addresses, which we never keep.
    return {
        "access_log": False,
        "proxy_headers": False,
        "log_level": settings.log_level.lower(),
        "server_header": False,
    }


def serve_several(
    settings: Settings,
    *,
    host: str,
    port: int,
    session_factory: sessionmaker[Session],
    keyring: Keyring,
) -> None:
    """Serve with `settings.serving_processes` workers; return when they have all stopped.

    `keyring` must be loaded (that creates missing data keys, once, here) and installed.
    """
    configure_logging(settings.log_level)
    load_or_create_secret(  # created before the workers, which then all read the same one
        settings.secret_key.get_secret_value() if settings.secret_key else None,
        settings.keys_dir,
        "secret.key",
    )
    processes = settings.serving_processes
    config = uvicorn.Config(
        functools.partial(worker_app, settings, processes, os.getpid()),
        factory=True,
        host=host,
        port=port,
        workers=processes,
        timeout_worker_healthcheck=_WORKER_HEALTHCHECK_SECONDS,
        **uvicorn_options(settings),
    )
    listening = config.bind_socket()
    stop = threading.Event()
    supervisor = Multiprocess(config, sockets=[listening])  # handles SIGTERM and SIGINT from here
    threads = start_background(
        settings, session_factory=session_factory, keyring=keyring, stop_event=stop
    )
    try:
        supervisor.run()
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        listening.close()


def worker_app(settings: Settings, processes: int, supervisor_pid: int) -> FastAPI:
    """Build the app of one worker process: no shared background work, limits shared."""
    _die_with(supervisor_pid)
    return create_app(settings, background=False, processes=processes)


def _die_with(supervisor_pid: int) -> None:
    """Make this process end as soon as its supervisor does."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    threading.Thread(
        target=_watch_supervisor, args=(supervisor_pid,), name="supervisor-watch", daemon=True
    ).start()


def _watch_supervisor(supervisor_pid: int) -> None:
    # Elsewhere than Linux (and if the supervisor died before prctl took effect): a worker whose
    # parent is gone has been adopted, so its parent id changes.
    while os.getppid() == supervisor_pid:
        threading.Event().wait(_ORPHAN_CHECK_SECONDS)
    os.kill(os.getpid(), signal.SIGKILL)
