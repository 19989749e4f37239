"""Running scale-out workers in tests: in this process (a thread) or as real processes."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from hrdshield.bus.jetstream import BusSettings
from hrdshield.bus.worker import PipelineFactory, Worker, WorkerSettings
from hrdshield.detection.models import Alert, DeadLetter
from hrdshield.detection.tasks import pipeline_factory
from tests.conftest import MASTER_KEY, TestDatabase

FAST = WorkerSettings(
    batch=200,
    lease_seconds=2.0,
    snapshot_seconds=1.0,
    ack_wait_seconds=3.0,
    max_attempts=3,
    fetch_wait_seconds=0.2,
)


def wait_for(check: Callable[[], bool], *, seconds: float = 30.0, what: str = "condition") -> None:
    """Poll `check` until it holds; fail the test after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def alerts(database: TestDatabase) -> list[Alert]:
    """Return every stored alert."""
    with database.session_factory() as session:
        return list(session.scalars(select(Alert)))


def dead_letters(database: TestDatabase) -> list[DeadLetter]:
    """Return every dead letter."""
    with database.session_factory() as session:
        return list(session.scalars(select(DeadLetter)))


def alert_count(database: TestDatabase) -> int:
    """Return how many alerts are stored."""
    with database.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(Alert)) or 0)


class WorkerThread:
    """A `Worker` on its own event loop in a thread, stopped as SIGTERM would stop it."""

    def __init__(
        self,
        database: TestDatabase,
        bus: BusSettings,
        *,
        factory: PipelineFactory | None = None,
        settings: WorkerSettings = FAST,
        holder: str | None = None,
    ) -> None:
        self.worker = Worker(
            bus=bus,
            session_factory=database.session_factory,
            keyring=database.keyring,
            pipeline_factory=factory
            or pipeline_factory(database.session_factory, database.keyring),
            settings=settings,
            holder=holder,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._main, name="test-worker", daemon=True)
        self.error: BaseException | None = None

    def __enter__(self) -> WorkerThread:
        self._thread.start()
        assert self._started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _main(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self._started.set()
            await self.worker.run(self._stop)

        try:
            asyncio.run(main())
        except BaseException as error:  # noqa: BLE001  (reported by the test)
            self.error = error
            self._started.set()

    def owned(self) -> set[int]:
        """Return the partitions this worker runs now."""
        return set(self.worker.partitions)

    def stop(self) -> None:
        """Stop the worker gracefully and wait for it."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
        assert not self._thread.is_alive(), "the worker did not stop"
        if self.error is not None:
            raise self.error


def bus_environment(database: TestDatabase, bus: BusSettings, tmp_path: Path) -> dict[str, str]:
    """Return the settings of a command on the test's database and stream."""
    return {
        "HRDSHIELD_DATABASE_URL": database.url,
        "HRDSHIELD_DATA_DIR": str(tmp_path / "data"),
        "HRDSHIELD_MASTER_KEY": base64.b64encode(MASTER_KEY).decode(),
        "HRDSHIELD_BUS_URL": bus.url,
        "HRDSHIELD_BUS_STREAM": bus.stream,
        "HRDSHIELD_BUS_PARTITIONS": str(bus.partitions),
    }


def worker_process(
    database: TestDatabase, bus: BusSettings, tmp_path: Path, *, name: str
) -> subprocess.Popen[bytes]:
    """Start `hrdshield worker` as a real process on the test's database and stream."""
    environment = {
        **os.environ,
        **bus_environment(database, bus, tmp_path),
        "HRDSHIELD_WORKER_LEASE_SECONDS": "2",
        "HRDSHIELD_WORKER_ACK_WAIT_SECONDS": "3",
        "HRDSHIELD_WORKER_SNAPSHOT_SECONDS": "1",
    }
    with (tmp_path / f"{name}.log").open("wb") as log:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-m", "hrdshield", "worker", "--name", name],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
