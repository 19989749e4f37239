"""Workers on a real JetStream server and a real database: alerts, redelivery, poison, owners."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import nats
import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from hrdshield import clock
from hrdshield.bus.jetstream import BusSettings, JetStreamBus, seal
from hrdshield.bus.partitions import PartitionShare, partitions_of
from hrdshield.bus.worker import WorkerSettings
from hrdshield.detection import service
from hrdshield.detection.enums import DetectorKind, IngestChannel
from hrdshield.detection.models import Lease
from hrdshield.detection.pipeline import BatchResult, Pipeline, Routed
from hrdshield.detection.schema import Event
from hrdshield.detection.tasks import pipeline_factory
from tests import factories
from tests.bus.harness import FAST, WorkerThread, alert_count, alerts, dead_letters, wait_for
from tests.conftest import TestDatabase
from tests.detection.streams import StreamBuilder

DEFENDER = "demo_hrd_amara"


@pytest.fixture
def defender(database: TestDatabase) -> str:
    """Enrol a high-risk defender (a pile-on of six accounts alerts) and return their id."""
    with database.session_factory() as session, session.begin():
        return factories.defender(session, handles=[f"@{DEFENDER}"]).id


def pile_on(stream: StreamBuilder, accounts: range, target: str = DEFENDER) -> list[Event]:
    """Add replies to `target` from one new account each, 20 seconds apart."""
    start = len(stream.events)
    for number in accounts:
        stream.tick(seconds=20)
        stream.reply(f"brigade{number}", target, "you again")
    return stream.events[start:]


def publish(database: TestDatabase, bus: BusSettings, events: Sequence[Event]) -> tuple[int, int]:
    """Publish `events` as the API would; return (accepted, duplicates)."""
    publisher = JetStreamBus(bus, database.keyring)
    try:
        with database.session_factory() as session:
            report = publisher.accept(session=session, events=events, channel=IngestChannel.API)
    finally:
        publisher.close()
    return report.accepted, report.duplicates


def pile_on_alert_events(database: TestDatabase) -> int:
    """Return the event count of the one pile-on alert (failing if there is not exactly one)."""
    found = [alert for alert in alerts(database) if alert.detector is DetectorKind.PILE_ON]
    assert len(found) == 1, [alert.dedup_key for alert in found]
    return found[0].event_count


def test_a_pile_on_on_the_bus_becomes_one_alert_and_a_retried_batch_is_a_duplicate(
    database: TestDatabase, bus_settings: BusSettings, defender: str
) -> None:
    stream = StreamBuilder()
    events = pile_on(stream, range(12))
    assert publish(database, bus_settings, events) == (12, 0)
    with WorkerThread(database, bus_settings) as worker:
        wait_for(lambda: alert_count(database) == 1, what="the pile-on alert")
        wait_for(lambda: worker.worker.stats.events == 12, what="every event processed")
        assert publish(database, bus_settings, events) == (0, 12)  # the platform retried
    assert pile_on_alert_events(database) == 12
    (alert,) = alerts(database)
    assert alert.defender_id == defender
    assert alert.incident_id is not None  # grouped into an incident with its case


def test_events_redelivered_after_the_duplicate_window_make_no_second_alert(
    database: TestDatabase, bus_settings: BusSettings, defender: str
) -> None:
    stream = StreamBuilder()
    events = pile_on(stream, range(10))
    publish(database, bus_settings, events)
    with WorkerThread(database, bus_settings) as worker:
        wait_for(lambda: worker.worker.stats.events == 10, what="the first delivery")
        # The same events again under new message ids: JetStream cannot tell them apart.
        asyncio.run(_republish(database, bus_settings, events))
        wait_for(lambda: worker.worker.stats.events == 20, what="the second delivery")
    assert pile_on_alert_events(database) == 10
    assert alert_count(database) == 1


async def _republish(database: TestDatabase, bus: BusSettings, events: Sequence[Event]) -> None:
    client = await nats.connect(bus.url)
    js = client.jetstream()
    for event in events:
        for partition in partitions_of(event, bus.partitions):
            await js.publish(bus.subject(partition), seal(database.keyring, event))
    await client.drain()


class RoutingBug(Pipeline):
    """A pipeline that fails on a whole batch holding one event, as a routing bug would."""

    poison = "ev-3"

    def process(self, events: Sequence[Event]) -> BatchResult:
        if any(event.id == self.poison for event in events):
            raise RuntimeError("a bug")
        return super().process(events)


def test_a_poison_event_is_set_aside_after_bounded_deliveries_and_the_partition_goes_on(
    database: TestDatabase, bus_settings: BusSettings, defender: str
) -> None:
    real = pipeline_factory(database.session_factory, database.keyring)

    def factory(share: PartitionShare | None) -> Pipeline:
        pipeline = real(share)
        return RoutingBug(
            detectors=pipeline.detectors,
            index=pipeline.index,
            thresholds=pipeline.thresholds,
            share=share,
        )

    stream = StreamBuilder()
    events = pile_on(stream, range(12))
    assert events[3].id == RoutingBug.poison
    publish(database, bus_settings, events)
    with WorkerThread(database, bus_settings, factory=factory) as worker:
        wait_for(lambda: len(dead_letters(database)) == 1, what="the dead letter")
        wait_for(lambda: alert_count(database) == 1, what="the alert of the other events")
        later = pile_on(stream, range(12, 14))  # the partition is not blocked
        publish(database, bus_settings, later)
        wait_for(lambda: worker.worker.stats.events == 13, what="the later events")
    (letter,) = dead_letters(database)
    assert letter.event_id == RoutingBug.poison
    assert letter.reason == f"set aside after {FAST.max_attempts} failed deliveries"
    assert letter.channel is IngestChannel.BUS
    assert pile_on_alert_events(database) == 13


def test_a_detector_failing_on_an_event_sets_it_aside_at_once(
    database: TestDatabase, bus_settings: BusSettings, defender: str
) -> None:
    real = pipeline_factory(database.session_factory, database.keyring)

    def factory(share: PartitionShare | None) -> Pipeline:
        pipeline = real(share)
        for detector in pipeline.detectors:
            if detector.kind is DetectorKind.PILE_ON:
                detector.process = _failing_on("ev-2", detector.process)  # type: ignore[method-assign]
        return pipeline

    stream = StreamBuilder()
    publish(database, bus_settings, pile_on(stream, range(12)))
    with WorkerThread(database, bus_settings, factory=factory) as worker:
        wait_for(lambda: worker.worker.stats.events == 12, what="every event")
        wait_for(lambda: len(dead_letters(database)) == 1, what="the dead letter")
    (letter,) = dead_letters(database)
    assert (letter.event_id, letter.stage) == ("ev-2", "processing")
    assert letter.reason.startswith("pile_on failed")
    assert worker.worker.stats.failed_batches == 0
    assert pile_on_alert_events(database) == 11


def _failing_on(poison: str, process: Callable[..., Any]) -> Callable[..., Any]:
    def process_or_fail(batch: Sequence[Routed], context: Any) -> Any:
        if any(item.event.id == poison for item in batch):
            raise RuntimeError("a bug")
        return process(batch, context)

    return process_or_fail


def test_partitions_are_shared_out_and_taken_over_when_a_worker_leaves(
    database: TestDatabase, bus_settings: BusSettings
) -> None:
    first = WorkerThread(database, bus_settings, holder="first")
    with first:
        wait_for(lambda: first.owned() == {0, 1, 2, 3}, what="the first worker to own all")
        with WorkerThread(database, bus_settings, holder="second") as second:
            wait_for(
                lambda: len(first.owned()) == 2 and len(second.owned()) == 2,
                what="an even share",
            )
            assert first.owned().isdisjoint(second.owned())
        wait_for(lambda: first.owned() == {0, 1, 2, 3}, what="the first to take all back")


def test_detector_state_carries_over_to_the_next_owner(
    database: TestDatabase, bus_settings: BusSettings, defender: str
) -> None:
    stream = StreamBuilder()
    publish(database, bus_settings, pile_on(stream, range(4)))  # below the threshold of six
    with WorkerThread(database, bus_settings, holder="first") as first:
        wait_for(lambda: first.worker.stats.events == 4, what="the first part")
    assert alert_count(database) == 0
    slow = WorkerSettings(**{**FAST.__dict__, "snapshot_seconds": 3600.0})
    with WorkerThread(database, bus_settings, holder="second", settings=slow) as second:
        wait_for(lambda: len(second.owned()) == 4, what="the takeover")
        publish(database, bus_settings, pile_on(stream, range(4, 8)))
        wait_for(lambda: alert_count(database) == 1, what="the pile-on across owners")
        assert second.worker.stats.replayed == 0  # the first saved its state when it stopped
    assert pile_on_alert_events(database) == 8


def test_alerts_of_a_batch_whose_commit_failed_are_stored_when_it_comes_back(
    database: TestDatabase,
    bus_settings: BusSettings,
    defender: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_store = service.store

    def store_failing_once(**kwargs: Any) -> Any:
        monkeypatch.setattr(service, "store", real_store)
        raise OperationalError("INSERT", {}, Exception("the database went away"))

    monkeypatch.setattr(service, "store", store_failing_once)
    stream = StreamBuilder()
    publish(database, bus_settings, pile_on(stream, range(12)))
    with WorkerThread(database, bus_settings) as worker:
        wait_for(lambda: alert_count(database) == 1, what="the alert, stored on redelivery")
        wait_for(lambda: worker.worker.stats.events == 12, what="the redelivered batch")
        assert worker.worker.stats.failed_batches == 1
    assert pile_on_alert_events(database) == 12
    assert dead_letters(database) == []


def test_a_worker_whose_leases_were_taken_commits_nothing_until_they_come_back(
    database: TestDatabase, bus_settings: BusSettings, defender: str
) -> None:
    def lease_to(holder: str, minutes: float) -> None:
        with database.session_factory() as session, session.begin():
            session.execute(
                update(Lease)
                .where(Lease.name.startswith("partition:"))
                .values(holder=holder, expires_at=clock.now() + timedelta(minutes=minutes))
            )

    with WorkerThread(database, bus_settings, holder="slow") as worker:
        wait_for(lambda: len(worker.owned()) == 4, what="the worker to own every partition")
        lease_to("intruder", 10)  # as if the worker had stalled past its leases
        publish(database, bus_settings, pile_on(stream := StreamBuilder(), range(12)))
        wait_for(lambda: worker.owned() == set(), what="the worker to let the partitions go")
        assert alert_count(database) == 0
        lease_to("intruder", -1)  # the intruder is gone: its leases ran out
        wait_for(lambda: alert_count(database) == 1, what="the alert after the takeover")
    assert pile_on_alert_events(database) == len(stream.events)
