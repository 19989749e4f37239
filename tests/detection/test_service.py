"""Alerts into incidents into cases, through the real consumer and database."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hrdshield.cases.enums import CaseCategory, CaseEventKind, CaseSource, Severity
from hrdshield.cases.models import Case, CaseEvent
from hrdshield.defenders.enums import ContactChannel
from hrdshield.detection import ingest, schema, service
from hrdshield.detection.enums import (
    AlertSeverity,
    AlertVerdict,
    DetectorKind,
    EventType,
    IngestChannel,
)
from hrdshield.detection.models import Alert, AlertEvent, DeadLetter, Incident
from hrdshield.detection.pipeline import AlertDraft, Scope
from hrdshield.detection.tasks import Consumer, build_consumer
from hrdshield.exchange.service import import_bundle
from hrdshield.notify import templates
from hrdshield.notify.enums import TemplateKey
from hrdshield.notify.models import Notification
from hrdshield.security import audit
from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Principal, Role
from tests import factories
from tests.conftest import TestDatabase
from tests.detection.streams import StreamBuilder
from tests.exchange.bundles import bundle, indicator

HANDLE = "@demo_hrd_amara"


@pytest.fixture
def defender_id(database: TestDatabase) -> str:
    with database.session_factory() as session, session.begin():
        return factories.defender(session, handles=[HANDLE], languages=["es"]).id


@pytest.fixture
def consumer(database: TestDatabase, defender_id: str) -> Consumer:
    return build_consumer(database.session_factory, database.keyring)


def _send(database: TestDatabase, stream: StreamBuilder) -> None:
    lines = [json.dumps(schema.to_dict(event)).encode() for event in stream.events]
    with database.session_factory() as session, session.begin():
        ingest.accept_lines(session=session, lines=lines, channel=IngestChannel.API)
    stream.events.clear()


def _brigade(stream: StreamBuilder, accounts: int, prefix: str = "brigade") -> None:
    for number in range(accounts):
        stream.tick(seconds=15)
        stream.reply(f"{prefix}{number}", HANDLE.lstrip("@"))


def _count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_pile_on_opens_a_case_and_tells_the_defender_in_their_language(
    database: TestDatabase, consumer: Consumer, defender_id: str
) -> None:
    stream = StreamBuilder()
    _brigade(stream, 14)
    _send(database, stream)
    report = consumer.drain()
    assert (report.events, report.alerts, report.incidents) == (14, 1, 1)
    with database.session_factory() as session:
        alert = session.scalars(select(Alert)).one()
        assert alert.detector is DetectorKind.PILE_ON
        assert alert.defender_id == defender_id
        assert alert.event_count == 14
        assert _count(session, AlertEvent) == 14
        incident = session.get(Incident, alert.incident_id)
        assert incident is not None
        case = session.get(Case, incident.case_id)
        assert case is not None
        assert case.source is CaseSource.DETECTION
        assert case.category is CaseCategory.HARASSMENT
        assert case.defender_id == defender_id
        assert case.language == "es"
        notification = session.scalars(select(Notification)).one()
        assert notification.template is TemplateKey.PROACTIVE_ALERT
        assert notification.language == "es"
        message = templates.render(
            notification.template, notification.language, json.loads(notification.context)
        )
        assert "oleada repentina de respuestas" in message.body  # what happened, in Spanish
        assert "/guides/documenting-attacks?lang=es" in message.body  # and what to do now
        assert "brigade" not in message.body  # never an attacker or their words
        actions = set(session.scalars(select(AuditEntry.action)))
        assert {"alert.create", "incident.open", "case.create"} <= actions
        assert audit.verify(session, database.keyring).ok


def test_redelivered_and_continuing_events_extend_the_same_alert(
    database: TestDatabase, consumer: Consumer
) -> None:
    stream = StreamBuilder()
    _brigade(stream, 13)
    batch = list(stream.events)
    _send(database, stream)
    consumer.drain()
    stream.events.extend(batch)  # the platform retries the whole batch
    _send(database, stream)
    assert consumer.drain().events == 0  # duplicates never reach the inbox again
    _brigade(stream, 4, prefix="late")
    _send(database, stream)
    consumer.drain()
    with database.session_factory() as session:
        alert = session.scalars(select(Alert)).one()
        assert alert.event_count == 17
        assert _count(session, Incident) == 1
        assert _count(session, Case) == 1
        assert _count(session, Notification) == 1


def test_a_second_kind_of_attack_joins_the_incident_and_raises_the_case(
    database: TestDatabase, consumer: Consumer
) -> None:
    stream = StreamBuilder()
    _brigade(stream, 13)
    _send(database, stream)
    consumer.drain()
    for number in range(9):
        stream.tick(minutes=2)
        stream.report(f"reporter{number}", HANDLE.lstrip("@"))
    stream.tick(minutes=1)
    stream.removal(HANDLE.lstrip("@"))
    _send(database, stream)
    consumer.drain()
    with database.session_factory() as session:
        alerts = session.scalars(select(Alert).order_by(Alert.created_at)).all()
        assert [alert.detector for alert in alerts] == [
            DetectorKind.PILE_ON,
            DetectorKind.MASS_REPORTING,
        ]
        assert alerts[1].severity is AlertSeverity.CRITICAL  # a takedown during the spike
        assert alerts[0].incident_id == alerts[1].incident_id
        case = session.scalars(select(Case)).one()
        assert case.severity is Severity.CRITICAL
        kinds = [event.kind for event in session.scalars(select(CaseEvent).order_by(CaseEvent.at))]
        assert CaseEventKind.ALERT in kinds
        assert CaseEventKind.SEVERITY_CHANGED in kinds
        templates = sorted(n.idempotency_key for n in session.scalars(select(Notification)))
        assert templates == [f"case-{case.id}-proactive", f"case-{case.id}-proactive-critical"]


def test_no_proactive_message_without_consent_or_contact(
    database: TestDatabase, consumer: Consumer
) -> None:
    with database.session_factory() as session, session.begin():
        factories.defender(
            session,
            handles=["@quiet_defender"],
            contact_channel=ContactChannel.NONE.value,
            contact_address=None,
        )
    stream = StreamBuilder()
    for number in range(14):
        stream.tick(seconds=15)
        stream.reply(f"brigade{number}", "quiet_defender")
    _send(database, stream)
    assert consumer.drain().incidents == 1
    with database.session_factory() as session:
        assert _count(session, Notification) == 0


def test_poison_events_become_dead_letters_and_the_rest_go_on(
    database: TestDatabase, consumer: Consumer
) -> None:
    class Exploding:
        kind = DetectorKind.SHUTDOWN
        event_types = frozenset({EventType.TRAFFIC_COUNT})
        scope = Scope.EVERYONE

        def process(self, batch, context):  # type: ignore[no-untyped-def]
            if any(item.event.count == 666 for item in batch):
                raise RuntimeError("boom")
            return []

        def snapshot(self):  # type: ignore[no-untyped-def]
            return {}

        def restore(self, state):  # type: ignore[no-untyped-def]
            return None

    consumer.pipeline.detectors = [*consumer.pipeline.detectors, Exploding()]
    stream = StreamBuilder()
    stream.traffic("KE", 100)
    stream.traffic("KE", 666)
    _brigade(stream, 13)
    _send(database, stream)
    report = consumer.drain()
    assert report.poisoned == 1
    assert report.alerts == 1
    with database.session_factory() as session:
        letter = session.scalars(select(DeadLetter)).one()
        assert letter.stage == "processing"
        assert "shutdown failed" in letter.reason
        assert ingest.backlog(session=session) == 0


def test_verdicts_are_recorded_and_reported_per_detector(
    database: TestDatabase, consumer: Consumer
) -> None:
    stream = StreamBuilder()
    _brigade(stream, 13)
    _send(database, stream)
    consumer.drain()
    with database.session_factory() as session, session.begin():
        reviewer = factories.principal(factories.user(session, Role.REVIEWER))
        alert = session.scalars(select(Alert)).one()
        service.judge(
            session=session, actor=reviewer, alert_id=alert.id, verdict=AlertVerdict.TRUE_POSITIVE
        )
    with database.session_factory() as session:
        by_kind = {row.detector: row for row in service.feedback(session=session)}
        assert by_kind[DetectorKind.PILE_ON].true_positives == 1
        assert by_kind[DetectorKind.PILE_ON].precision == 1.0
        assert by_kind[DetectorKind.DOXXING].precision is None
        assert "alert.verdict" in set(session.scalars(select(AuditEntry.action)))


def test_only_one_consumer_holds_the_inbox(database: TestDatabase, defender_id: str) -> None:
    first = build_consumer(database.session_factory, database.keyring)
    second = build_consumer(database.session_factory, database.keyring)
    second.holder = "another-process"
    stream = StreamBuilder()
    _brigade(stream, 3)
    _send(database, stream)
    assert first.run_once().events == 3
    _brigade(stream, 3, prefix="more")
    _send(database, stream)
    assert second.run_once().events == 0  # the lease is held by the first
    first.release()
    assert second.run_once().events == 3


def test_alerts_of_a_round_whose_commit_failed_are_stored_with_the_next(
    database: TestDatabase, consumer: Consumer, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = StreamBuilder()
    _brigade(stream, 12)
    _send(database, stream)
    real_store = service.store

    def store_failing_once(**kwargs: Any) -> Any:
        monkeypatch.setattr(service, "store", real_store)
        raise OperationalError("INSERT", {}, Exception("the database went away"))

    monkeypatch.setattr(service, "store", store_failing_once)
    with pytest.raises(OperationalError):
        consumer.run_once()
    report = consumer.run_once()  # the same events again: the detectors have counted them
    assert (report.events, report.alerts) == (12, 1)
    with database.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 1


def test_an_alert_needs_evidence() -> None:
    with pytest.raises(ValueError, match="event"):
        AlertDraft(
            detector=DetectorKind.PILE_ON,
            rule="r",
            dedup_key="k",
            severity=AlertSeverity.LOW,
            score=0.1,
            summary="s",
            explanation={},
        )


def test_an_imported_indicator_is_found_in_a_message_to_the_defender(
    database: TestDatabase, consumer: Consumer
) -> None:
    feed = bundle(indicator(1, "[domain-name:value = 'update-notice.example']"))
    with database.session_factory() as session, session.begin():
        import_bundle(
            session=session, actor=Principal.system("tests"), data=json.dumps(feed).encode()
        )
    stream = StreamBuilder()
    stream.emit(
        "direct_message",
        stream.account("stranger"),
        targets=[stream.account(HANDLE.lstrip("@"))],
        content={"text": "Your account is locked: hxxps://update-notice[.]example/x", "lang": "en"},
    )
    _send(database, stream)
    assert consumer.drain().alerts == 1
    with database.session_factory() as session:
        alert = session.scalars(select(Alert)).one()
        assert alert.detector is DetectorKind.MALICIOUS_LINK
        case = session.scalars(select(Case)).one()
        assert case.category is CaseCategory.PHISHING_SPYWARE
