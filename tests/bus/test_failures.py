"""Failures of real processes: a worker killed with SIGKILL, NATS restarted under load."""

from __future__ import annotations

import asyncio
import signal
import threading
from pathlib import Path

import nats
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hrdshield.app import create_app
from hrdshield.bus.jetstream import BusSettings, unseal
from hrdshield.bus.models import PartitionSnapshot
from hrdshield.config import Settings
from hrdshield.detection import platforms, schema
from hrdshield.detection.models import DeadLetter
from hrdshield.security.crypto import current_keyring
from hrdshield.security.rbac import Principal
from tests.bus.harness import alert_count, wait_for, worker_process
from tests.bus.nats_server import NatsServer
from tests.bus.test_worker import defender, pile_on, pile_on_alert_events, publish  # noqa: F401
from tests.conftest import TestDatabase
from tests.detection.streams import StreamBuilder

NDJSON = {"content-type": "application/x-ndjson"}


def _consumed(bus: BusSettings) -> int:
    """Return how many messages the partitions' durable consumers have had acknowledged."""

    async def count() -> int:
        client = await nats.connect(bus.url)
        js = client.jetstream()
        total = 0
        for number in range(bus.partitions):
            try:
                info = await js.consumer_info(bus.stream, bus.consumer(number))
            except nats.js.errors.NotFoundError:
                continue
            pending = (info.num_pending or 0) + (info.num_ack_pending or 0)
            delivered = info.delivered.stream_seq if info.delivered else 0
            total += 0 if pending else delivered
        await client.drain()
        return total

    return asyncio.run(count())


def _snapshot_seq(database: TestDatabase) -> int:
    with database.session_factory() as session:
        return int(session.scalar(select(func.max(PartitionSnapshot.stream_seq))) or 0)


def test_a_worker_killed_mid_stream_loses_nothing_and_its_successor_continues_the_pile_on(
    database: TestDatabase,
    bus_settings: BusSettings,
    defender: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    stream = StreamBuilder()
    first = worker_process(database, bus_settings, tmp_path, name="first")
    try:
        publish(database, bus_settings, pile_on(stream, range(3)))
        wait_for(lambda: _snapshot_seq(database) >= 3, what="a snapshot after the first part")
        publish(database, bus_settings, pile_on(stream, range(3, 5)))  # after the snapshot
        wait_for(lambda: _consumed(bus_settings) >= 5, seconds=30, what="the second part")
        first.send_signal(signal.SIGKILL)  # no snapshot, no hand-back, leases left to expire
        first.wait(10)
        assert alert_count(database) == 0  # five accounts: below the threshold of six
        publish(database, bus_settings, pile_on(stream, range(5, 9)))  # while nobody consumes
        second = worker_process(database, bus_settings, tmp_path, name="second")
        try:
            wait_for(lambda: alert_count(database) == 1, seconds=45, what="the pile-on alert")
            wait_for(lambda: _consumed(bus_settings) >= 9, seconds=30, what="every event")
            wait_for(lambda: pile_on_alert_events(database) == 9, what="all nine events")
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0, (tmp_path / "second.log").read_text()
    finally:
        if first.poll() is None:
            first.kill()
    log = (tmp_path / "second.log").read_text()
    assert "replayed 2 events after its snapshot" in log, log
    assert alert_count(database) == 1


def test_the_api_answers_503_while_nats_is_down_and_loses_nothing_it_acknowledged(
    database: TestDatabase,
    nats_server: NatsServer,
    bus_settings: BusSettings,
    settings: Settings,
) -> None:
    with database.session_factory() as session, session.begin():
        _, token = platforms.register(session=session, actor=Principal.system("t"), name="demo")
    configured = settings.model_copy(
        update={
            "bus_url": bus_settings.url,
            "bus_stream": bus_settings.stream,
            "bus_partitions": bus_settings.partitions,
        }
    )
    app = create_app(configured, engine=database.engine)
    app.state.bus.settings = bus_settings  # the short publish deadline of the test layout
    stream = StreamBuilder()
    acknowledged: set[str] = set()
    refused: list[int] = []
    stop = threading.Event()

    def load(client: TestClient) -> None:
        while not stop.is_set():
            stream.tick(seconds=1)
            batch = [stream.mention(f"user{len(stream.events)}", "someone") for _ in range(5)]
            body = b"\n".join(schema.encode(event) for event in batch)
            answer = client.post(
                "/api/v1/events",
                content=body,
                headers={**NDJSON, "authorization": f"Bearer {token}"},
            )
            if answer.status_code == 200:
                acknowledged.update(event.id for event in batch)
            else:
                assert answer.status_code == 503, answer.text
                assert answer.headers["retry-after"] == "2"
                refused.append(len(batch))

    with TestClient(app, base_url="http://testserver") as client:
        sender = threading.Thread(target=load, args=(client,))
        sender.start()
        wait_for(lambda: len(acknowledged) >= 50, what="events before the restart")
        nats_server.stop()
        wait_for(lambda: len(refused) >= 2, what="back-pressure while NATS is down")
        nats_server.start()
        before = len(acknowledged)
        wait_for(lambda: len(acknowledged) >= before + 50, seconds=30, what="recovery")
        stop.set()
        sender.join(30)
    stored = asyncio.run(_event_ids(bus_settings))
    assert acknowledged <= stored  # every acknowledged event is in the stream
    assert len(stored) == len(set(stored))
    with database.session_factory() as session:  # refused batches left nothing behind
        assert session.scalar(select(func.count()).select_from(DeadLetter)) == 0


async def _event_ids(bus: BusSettings) -> set[str]:
    """Return the ids of the events in the stream's home copies (read back and unsealed)."""
    client = await nats.connect(bus.url)
    js = client.jetstream()
    reader = await js.pull_subscribe(f"{bus.subject_prefix}.*", stream=bus.stream)
    ids: set[str] = set()
    while True:
        try:
            messages = await reader.fetch(500, timeout=1)
        except nats.errors.TimeoutError:
            break
        for message in messages:
            ids.add(unseal(current_keyring(), message.data).id)
            await message.ack()
    await client.drain()
    return ids
