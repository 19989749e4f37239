"""Publishing to JetStream: counts, sealing, configuration, and the commands that publish."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
from pathlib import Path

import nats
import pytest
from click.testing import CliRunner

from hrdshield import cli
from hrdshield.bus.base import BusUnavailableError
from hrdshield.bus.jetstream import BusSettings, ensure_stream
from hrdshield.config import ConfigError, load_settings
from hrdshield.detection import schema
from tests.bus.harness import bus_environment
from tests.bus.nats_server import NatsServer
from tests.bus.test_worker import pile_on, publish
from tests.conftest import MASTER_KEY, TestDatabase
from tests.detection.streams import StreamBuilder

CANARY = "canary-7d1f0b2e-bus"


def test_stream_files_hold_no_event_text_in_clear(
    database: TestDatabase, nats_server: NatsServer, bus_settings: BusSettings
) -> None:
    stream = StreamBuilder()
    for number in range(5):
        stream.reply(f"someone{number}", "demo_hrd_amara", f"{CANARY} we know where you live")
    assert publish(database, bus_settings, stream.events) == (5, 0)
    nats_server.stop()  # flush the store to disk
    stored = b"".join(path.read_bytes() for path in nats_server.store.rglob("*") if path.is_file())
    assert len(stored) > 1000
    assert CANARY.encode() not in stored
    assert b"demo_hrd_amara" not in stored
    nats_server.start()


def test_a_batch_with_repeated_ids_counts_them_as_duplicates(
    database: TestDatabase, bus_settings: BusSettings
) -> None:
    stream = StreamBuilder()
    events = pile_on(stream, range(3))
    assert publish(database, bus_settings, [*events, events[0]]) == (3, 1)
    assert publish(database, bus_settings, []) == (0, 0)


def test_the_bus_address_must_be_nats() -> None:
    with pytest.raises(ConfigError, match=r"HRDSHIELD_BUS_URL: .*must start with nats:"):
        load_settings(environ={"HRDSHIELD_BUS_URL": "http://127.0.0.1:4222"})
    assert load_settings(environ={"HRDSHIELD_BUS_URL": ""}).bus_url is None


def test_ingest_publishes_to_the_bus_and_refuses_cleanly_when_it_is_down(
    database: TestDatabase, nats_server: NatsServer, bus_settings: BusSettings, tmp_path: Path
) -> None:
    stream = StreamBuilder()
    pile_on(stream, range(7))
    source = tmp_path / "events.ndjson"
    source.write_text(
        "\n".join(json.dumps(schema.to_dict(event)) for event in stream.events) + "\n"
    )
    environment = bus_environment(database, bus_settings, tmp_path)
    result = CliRunner().invoke(cli.main, ["ingest", str(source)], env=environment)
    assert result.exit_code == 0, result.output
    assert "accepted 7, duplicates 0, rejected 0" in result.output
    assert "hrdshield worker" in result.output
    again = CliRunner().invoke(cli.main, ["ingest", str(source)], env=environment)
    assert "accepted 0, duplicates 7, rejected 0" in again.output
    nats_server.stop()
    down = CliRunner().invoke(
        cli.main, ["ingest", str(source)], env={**environment, "HRDSHIELD_LOG_LEVEL": "ERROR"}
    )
    assert down.exit_code == 1
    assert "the event bus stopped taking events after 0 accepted" in down.output
    nats_server.start()


def test_the_worker_command_needs_a_bus(database: TestDatabase, tmp_path: Path) -> None:
    environment = {
        "HRDSHIELD_DATABASE_URL": database.url,
        "HRDSHIELD_DATA_DIR": str(tmp_path / "data"),
        "HRDSHIELD_MASTER_KEY": base64.b64encode(MASTER_KEY).decode(),
    }
    result = CliRunner().invoke(cli.main, ["worker"], env=environment)
    assert result.exit_code == 2
    assert "set HRDSHIELD_BUS_URL" in result.output


def test_a_full_stream_refuses_new_events_and_keeps_the_old(
    database: TestDatabase, bus_settings: BusSettings
) -> None:
    small = dataclasses.replace(bus_settings, max_bytes=4096)
    stream = StreamBuilder()
    first = pile_on(stream, range(2))
    assert publish(database, small, first) == (2, 0)
    with pytest.raises(BusUnavailableError):
        publish(database, small, pile_on(stream, range(2, 40)))
    assert asyncio.run(_stream_messages(small)) >= 2  # nothing old was dropped for the new


def test_starting_up_keeps_the_limits_an_operator_set_on_the_stream(
    database: TestDatabase, bus_settings: BusSettings
) -> None:
    publish(database, bus_settings, pile_on(StreamBuilder(), range(1)))

    async def set_and_reapply() -> int:
        client = await nats.connect(bus_settings.url)
        js = client.jetstream()
        info = await js.stream_info(bus_settings.stream)
        await js.update_stream(info.config.evolve(max_msgs=12345))
        await ensure_stream(js, dataclasses.replace(bus_settings, max_age_hours=24))
        after = await js.stream_info(bus_settings.stream)
        await client.drain()
        assert after.config.max_age == 24 * 3600
        return int(after.config.max_msgs or 0)

    assert asyncio.run(set_and_reapply()) == 12345


async def _stream_messages(bus: BusSettings) -> int:
    client = await nats.connect(bus.url)
    info = await client.jetstream().stream_info(bus.stream)
    await client.drain()
    return int(info.state.messages)


def test_a_worker_that_cannot_set_its_stream_up_says_why(
    database: TestDatabase, bus_settings: BusSettings, tmp_path: Path
) -> None:
    async def squat() -> None:  # another stream already holds these subjects
        client = await nats.connect(bus_settings.url)
        await client.jetstream().add_stream(
            name="OTHER", subjects=[f"{bus_settings.subject_prefix}.*"]
        )
        await client.drain()

    asyncio.run(squat())
    result = CliRunner().invoke(
        cli.main, ["worker"], env=bus_environment(database, bus_settings, tmp_path)
    )
    assert result.exit_code == 1
    assert "the event bus could not be used: " in result.output
    assert "overlap" in result.output
