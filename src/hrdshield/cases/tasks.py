"""Background work of the cases domain: the SLA escalation ladder, run every minute."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from hrdshield.cases import sla

log = logging.getLogger("hrdshield.cases")


def run_sla_ladder(
    session_factory: sessionmaker[Session],
    *,
    policy: sla.SlaPolicy,
    interval_seconds: float,
    stop_event: threading.Event,
) -> None:
    """Climb the escalation ladder until `stop_event` is set; a failed round is tried again."""
    while not stop_event.is_set():
        try:
            with session_factory() as session, session.begin():
                steps = sla.tick(session=session, policy=policy)
            if steps:
                log.info("sla ladder: %d escalation(s)", len(steps))
        except Exception as error:  # noqa: BLE001  (the loop must outlive one bad round)
            log.error("sla ladder round failed: %s", type(error).__name__)  # noqa: TRY400
        stop_event.wait(interval_seconds)
