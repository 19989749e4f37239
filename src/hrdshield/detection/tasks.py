"""Background work of detection: the inbox consumer that runs the pipeline, and pruning.

One consumer at a time holds the ``inbox`` lease, so detector state (windows, baselines) lives
in exactly one process. Each round takes the oldest unprocessed events, runs the pipeline, and
in ONE transaction stores the alerts (with their incidents, cases and notifications), sets
aside poison events as dead letters and marks the events processed: a crash before the commit
leaves the events unprocessed, and the detectors, being idempotent, give the same alerts again.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from hrdshield.cases.sla import SlaPolicy
from hrdshield.db import READ_ONLY
from hrdshield.detection import index as defender_index
from hrdshield.detection import ingest, leases, service
from hrdshield.detection.detectors import default_detectors
from hrdshield.detection.detectors.targeted_abuse import shipped_scorer
from hrdshield.detection.pipeline import AlertDraft, Pipeline, Share
from hrdshield.detection.thresholds import ThresholdBook
from hrdshield.exchange.matcher import IndicatorMatcher, load_matcher
from hrdshield.security.crypto import Keyring

log = logging.getLogger("hrdshield.detection")
INBOX_LEASE = "inbox"
LEASE_SECONDS = 30.0
DEFAULT_BATCH = 1000
PRUNE_EVERY_ROUNDS = 600


@dataclass
class RoundReport:
    """What one consumer round did."""

    events: int = 0
    alerts: int = 0
    incidents: int = 0
    poisoned: int = 0


@dataclass
class Consumer:
    """The inbox consumer: a pipeline, the database it reads from, and who it is."""

    session_factory: sessionmaker[Session]
    pipeline: Pipeline
    setup: service.AlertSetup = field(default_factory=service.AlertSetup)
    holder: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    batch: int = DEFAULT_BATCH
    # Alerts of a round whose commit failed: its events come back, but the detectors have
    # already counted them and would not raise the alerts again, so they are kept for the next.
    unstored: list[AlertDraft] = field(default_factory=list)

    def run_once(self) -> RoundReport:
        """Process one batch of pending events, if this process holds the inbox lease."""
        with self.session_factory() as session, session.begin():
            if not leases.acquire(
                session=session, name=INBOX_LEASE, holder=self.holder, seconds=LEASE_SECONDS
            ):
                return RoundReport()
            pending = ingest.pending(session=session, limit=self.batch)
            if not pending:
                return RoundReport()
            result = self.pipeline.process([event for _, event, _ in pending])
            self.unstored.extend(result.alerts)
            stored = service.store(session=session, drafts=self.unstored, setup=self.setup)
            channel_of = {event.id: channel for _, event, channel in pending}
            for poison in result.poisoned:
                ingest.set_aside(
                    session=session,
                    event=poison.event,
                    channel=channel_of[poison.event.id],
                    reason=poison.describe(),
                )
            ingest.mark_processed(session=session, seqs=[seq for seq, _, _ in pending])
        self.unstored = []
        return RoundReport(
            events=len(pending),
            alerts=len(stored),
            incidents=sum(item.incident_opened for item in stored),
            poisoned=len(result.poisoned),
        )

    def drain(self, max_rounds: int = 1_000_000) -> RoundReport:
        """Process until nothing is pending (for commands and tests); return the totals."""
        total = RoundReport()
        for _ in range(max_rounds):
            report = self.run_once()
            if not report.events:
                break
            total.events += report.events
            total.alerts += report.alerts
            total.incidents += report.incidents
            total.poisoned += report.poisoned
        return total

    def release(self) -> None:
        """Give up the inbox lease (on shutdown), so a successor starts at once."""
        with self.session_factory() as session, session.begin():
            leases.release(session=session, name=INBOX_LEASE, holder=self.holder)


def index_loader(
    session_factory: sessionmaker[Session], keyring: Keyring
) -> Callable[[], defender_index.DefenderIndex]:
    """Return a function reading a fresh defender index on a read-only connection."""

    def load() -> defender_index.DefenderIndex:
        engine = session_factory.kw["bind"]
        with Session(bind=engine.execution_options(**{READ_ONLY: True})) as session:
            return defender_index.load(session, keyring.blind_index)

    return load


@dataclass
class RefreshingMatcher:
    """Hold the indicator matcher and rebuild it from the database now and then (imports)."""

    session_factory: sessionmaker[Session]
    refresh_seconds: float = 60.0
    _matcher: IndicatorMatcher | None = None
    _loaded_at: float = 0.0

    def __call__(self) -> IndicatorMatcher:
        """Return the matcher, rebuilding it when it is older than the refresh interval."""
        if self._matcher is None or time.monotonic() - self._loaded_at > self.refresh_seconds:
            engine = self.session_factory.kw["bind"]
            with Session(bind=engine.execution_options(**{READ_ONLY: True})) as session:
                self._matcher = load_matcher(session=session)
            self._loaded_at = time.monotonic()
        return self._matcher


def pipeline_factory(
    session_factory: sessionmaker[Session],
    keyring: Keyring,
    *,
    thresholds: ThresholdBook | None = None,
    abuse_model: Path | None = None,
) -> Callable[[Share | None], Pipeline]:
    """Return a builder of pipelines over the live defender index (one per partition).

    The pipelines share the index, the indicator matcher and the abuse model, which are read or
    loaded once per process; each has its own detectors, so each holds its own state.
    """
    refreshing = defender_index.RefreshingIndex(index_loader(session_factory, keyring))
    matcher = RefreshingMatcher(session_factory)
    scorer = shipped_scorer(abuse_model)
    book = thresholds or ThresholdBook()

    def build(share: Share | None = None) -> Pipeline:
        return Pipeline(
            detectors=default_detectors(indicators=matcher, abuse=scorer),
            index=refreshing.current,
            thresholds=book,
            share=share,
        )

    return build


def build_consumer(
    session_factory: sessionmaker[Session],
    keyring: Keyring,
    *,
    thresholds: ThresholdBook | None = None,
    policy: SlaPolicy | None = None,
    abuse_model: Path | None = None,
    public_url: str = "http://127.0.0.1:8000",
) -> Consumer:
    """Return a consumer running the default detectors over the live defender index."""
    build = pipeline_factory(
        session_factory, keyring, thresholds=thresholds, abuse_model=abuse_model
    )
    setup = service.AlertSetup(policy=policy or SlaPolicy(), public_url=public_url)
    return Consumer(session_factory=session_factory, pipeline=build(None), setup=setup)


def run_detection_loop(
    consumer: Consumer,
    *,
    interval_seconds: float,
    stop_event: threading.Event,
    retention_hours: float = 48.0,
) -> None:
    """Run the consumer until `stop_event` is set; prune processed events now and then."""
    rounds = 0
    try:
        while not stop_event.is_set():
            try:
                report = consumer.run_once()
                rounds += 1
                if rounds % PRUNE_EVERY_ROUNDS == 1:
                    with consumer.session_factory() as session, session.begin():
                        ingest.prune(session=session, older_than_hours=retention_hours)
            except Exception as error:  # noqa: BLE001  (the loop must outlive one bad round)
                log.error("detection round failed: %s", type(error).__name__)  # noqa: TRY400
                stop_event.wait(interval_seconds * 5)
                continue
            if report.alerts:
                log.info(
                    "detection: %d alert(s), %d new incident(s)", report.alerts, report.incidents
                )
            if report.events < consumer.batch:  # a full batch means more is waiting
                stop_event.wait(interval_seconds)
    finally:
        try:
            consumer.release()
        except Exception as error:  # noqa: BLE001
            log.warning("could not release the inbox lease: %s", type(error).__name__)
