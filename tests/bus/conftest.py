"""Fixtures of the bus tests: a private JetStream server and bus settings pointing at it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from hrdshield.bus.jetstream import BusSettings
from tests.bus.nats_server import NATS_SERVER, NatsServer


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """Start a nats-server with JetStream for this test; stop it afterwards."""
    if not Path(NATS_SERVER).exists():
        pytest.fail("nats-server is not installed (.ci/run installs it)", pytrace=False)
    server = NatsServer(tmp_path / "jetstream")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def bus_settings(nats_server: NatsServer) -> BusSettings:
    """Return a small stream layout on the test's server (4 partitions, short deadlines)."""
    return BusSettings(
        url=nats_server.url,
        stream=f"T{secrets.token_hex(4).upper()}",
        partitions=4,
        timeout_seconds=2.0,
    )
