"""Background work of retention: warn defenders and expire closed cases, every few minutes.

Each round opens its own sessions and is safe to run twice or on two servers at once; a failed
round is logged by its error type only (never a case's content) and tried again next time.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from hrdshield.cases import retention

log = logging.getLogger("hrdshield.cases.retention")


def run_retention_loop(
    session_factory: sessionmaker[Session],
    *,
    policy: retention.RetentionPolicy,
    uploads_dir: Path,
    interval_seconds: float,
    stop_event: threading.Event,
) -> None:
    """Run retention rounds until `stop_event` is set; a failed round is tried again."""
    while not stop_event.is_set():
        try:
            report = retention.run(
                session_factory=session_factory, policy=policy, uploads_dir=uploads_dir
            )
            if report.warned or report.expired or report.failed or report.scheduled:
                log.info(
                    "retention: %d scheduled, %d warned, %d expired, %d failed, %d file(s) left",
                    len(report.scheduled),
                    len(report.warned),
                    len(report.expired),
                    len(report.failed),
                    report.files_left,
                )
        except Exception as error:  # noqa: BLE001  (the loop must outlive one bad round)
            log.error("retention round failed: %s", type(error).__name__)  # noqa: TRY400
        stop_event.wait(interval_seconds)
