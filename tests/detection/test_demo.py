"""The demo platform streams into detection: its scripted attacks become alerts and cases."""

from __future__ import annotations

import threading

from sqlalchemy import select

from hrdshield import demo_data
from hrdshield.cases.enums import CaseSource
from hrdshield.cases.models import Case
from hrdshield.demo_platform import tasks as demo_tasks
from hrdshield.detection.enums import DetectorKind
from hrdshield.detection.ingest import InboxSink
from hrdshield.detection.models import Alert
from hrdshield.detection.tasks import build_consumer
from tests.conftest import TestDatabase


def test_scripted_attacks_on_demo_defenders_raise_alerts(database: TestDatabase) -> None:
    with database.session_factory() as session, session.begin():
        demo_data.seed_demo(session=session)
    demo_tasks.run_generator(
        database.session_factory,
        interval_seconds=0.001,
        stop_event=threading.Event(),
        attack_every=1,  # one scripted attack of each kind, in rotation
        sink=InboxSink(database.session_factory),
        max_batches=8,
    )
    report = build_consumer(database.session_factory, database.keyring).drain()
    assert report.events > 100
    with database.session_factory() as session:
        detectors = set(session.scalars(select(Alert.detector)))
        assert {DetectorKind.PILE_ON, DetectorKind.MASS_REPORTING} <= detectors
        sources = set(session.scalars(select(Case.source)))
        assert CaseSource.DETECTION in sources
