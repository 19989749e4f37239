"""Logging set-up. Our own loggers never receive personal data; uvicorn's access log (which
records client addresses) is switched off and replaced by hrdshield.access."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure_logging(level: str = "INFO") -> None:
    """Send HRD Shield's logs to standard error at `level`; silence address-logging loggers."""
    root = logging.getLogger("hrdshield")
    root.setLevel(level)
    if not any(getattr(handler, "_hrdshield", False) for handler in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        handler._hrdshield = True  # type: ignore[attr-defined]  # marks our handler for idempotence
        root.addHandler(handler)
    root.propagate = True
    access = logging.getLogger("uvicorn.access")
    access.disabled = True
    access.propagate = False
    # httpx logs every request's URL at INFO; a platform API's URL can carry a handle.
    logging.getLogger("httpx").setLevel(logging.WARNING)
