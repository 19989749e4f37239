"""NATS JetStream as the bus: a persistent stream of events, one subject per partition.

Publishing waits for JetStream's acknowledgement of every copy before the caller answers, so an
event the platform was told is accepted is on disk in the stream (and on its replicas). Each
copy carries a ``Nats-Msg-Id``, so a batch retried within the stream's duplicate window is
stored once and counted as duplicates; later redeliveries are absorbed by the detectors, which
are idempotent. Payloads are sealed with the field key, like the inbox's, so the stream's files
hold no event text in clear.

nats-py is asynchronous; the server's routes and commands are not, so the connection lives on an
event loop in a thread of its own and callers wait on it with a deadline.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, PubAck, RetentionPolicy, StorageType, StreamConfig
from sqlalchemy.orm import Session

from hrdshield.bus.base import BusUnavailableError
from hrdshield.bus.partitions import DEFAULT_PARTITIONS, partitions_of
from hrdshield.detection import schema
from hrdshield.detection.enums import IngestChannel
from hrdshield.detection.ingest import IngestReport, distinct
from hrdshield.detection.schema import Event
from hrdshield.security.crypto import Keyring, decrypt_blob, encrypt_blob

log = logging.getLogger("hrdshield.bus")
T = TypeVar("T")
SEAL_CONTEXT = "bus.event"
MAX_IN_FLIGHT = 1000  # publishes awaiting their acknowledgement at once
BUS_ERRORS: tuple[type[BaseException], ...] = (
    nats.errors.Error,
    asyncio.TimeoutError,
    concurrent.futures.TimeoutError,
    OSError,
)


@dataclass(frozen=True)
class BusSettings:
    """Where the stream is and how it is laid out; every publisher and worker must agree."""

    url: str
    stream: str = "HRDSHIELD_EVENTS"
    partitions: int = DEFAULT_PARTITIONS
    replicas: int = 1  # 3 on a JetStream cluster
    max_age_hours: float = 72.0  # how long events stay for replay after a worker's snapshot
    max_bytes: int | None = None  # when full, publishers get back-pressure; None: keep as set
    duplicate_window_seconds: float = 600.0
    timeout_seconds: float = 5.0  # how long a publisher waits for acknowledgements

    @property
    def subject_prefix(self) -> str:
        """Return the subjects' prefix: named after the stream, so two streams never overlap."""
        return f"hrdshield.{self.stream}"

    def subject(self, partition: int) -> str:
        """Return the subject of `partition`."""
        return f"{self.subject_prefix}.{partition}"

    def consumer(self, partition: int) -> str:
        """Return the durable consumer of `partition`, shared by its successive owners."""
        return f"{self.stream}-p{partition}"


def stream_config(settings: BusSettings, current: StreamConfig | None = None) -> StreamConfig:
    """Return the stream's configuration: on disk, kept by age, refusing when full.

    Starting from the `current` configuration keeps what an operator set by hand (limits,
    placement, compression) and changes only what these settings decide.
    """
    ours: dict[str, Any] = {
        "name": settings.stream,
        "subjects": [f"{settings.subject_prefix}.*"],
        "retention": RetentionPolicy.LIMITS,  # kept after acknowledgement, for replay
        "storage": StorageType.FILE,
        "num_replicas": settings.replicas,
        "max_age": settings.max_age_hours * 3600,
        "duplicate_window": settings.duplicate_window_seconds,
        "discard": DiscardPolicy.NEW,  # when full, refuse (back-pressure), never drop old events
    }
    if settings.max_bytes is not None:
        ours["max_bytes"] = settings.max_bytes
    return (current or StreamConfig()).evolve(**ours)


async def ensure_stream(js: JetStreamContext, settings: BusSettings) -> None:
    """Create the stream, or bring an existing one to these settings (keeping the rest)."""
    try:
        info = await js.stream_info(settings.stream)
    except nats.js.errors.NotFoundError:
        await js.add_stream(stream_config(settings))
        return
    wanted = stream_config(settings, info.config)
    if wanted != info.config:
        await js.update_stream(wanted)


def seal(keyring: Keyring, event: Event) -> bytes:
    """Return `event` as a sealed message payload."""
    return encrypt_blob(keyring, schema.encode(event), SEAL_CONTEXT)


def unseal(keyring: Keyring, payload: bytes) -> Event:
    """Return the event of a sealed payload (DecryptionError or InvalidEventError if bad)."""
    return schema.decode(decrypt_blob(keyring, payload, SEAL_CONTEXT))


async def connect(settings: BusSettings, *, name: str) -> Client:
    """Connect to NATS, reconnecting for ever; connection trouble is logged without the address."""

    connected = [True]  # while reconnecting, each failed attempt is not worth a line
    made: list[Client] = []

    async def on_error(error: Exception) -> None:
        if connected[0]:
            log.warning("bus connection: %s", type(error).__name__)

    async def on_disconnect() -> None:
        closing = bool(made) and (made[0].is_draining or made[0].is_closed)
        if connected[0] and not closing:
            log.warning("bus connection lost; reconnecting")
        connected[0] = False

    async def on_reconnect() -> None:
        connected[0] = True
        log.info("bus connection restored")

    client = await nats.connect(
        settings.url,
        name=name,
        connect_timeout=2,
        reconnect_time_wait=0.5,
        max_reconnect_attempts=-1,
        error_cb=on_error,
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
    )
    made.append(client)
    return client


class LoopThread:
    """An asyncio event loop running in a daemon thread, for synchronous callers."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run `coroutine` on the loop and wait at most `timeout` seconds for its result."""
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def stop(self) -> None:
        """Cancel what still runs on the loop, stop it and wait for its thread."""

        async def cancel_the_rest() -> None:
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(concurrent.futures.TimeoutError):
            asyncio.run_coroutine_threadsafe(cancel_the_rest(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()


class JetStreamBus:
    """Publishes events to their partitions' subjects and waits for every acknowledgement."""

    def __init__(self, settings: BusSettings, keyring: Keyring, *, name: str = "hrdshield") -> None:
        self.settings = settings
        self.keyring = keyring
        self.name = name
        self._loop = LoopThread("bus-publisher")
        self._client: Client | None = None
        self._js: JetStreamContext | None = None
        self._ready = False
        self._connecting: asyncio.Lock | None = None  # made on the loop, at first use

    def accept(
        self, *, session: Session, events: Sequence[Event], channel: IngestChannel
    ) -> IngestReport:
        """Publish `events`; raise BusUnavailableError unless every copy was acknowledged.

        `channel` is not carried: past the bus, detection knows events by the bus alone.
        """
        unique = distinct(events)
        if not unique:
            return IngestReport(duplicates=len(events))
        deadline = self.settings.timeout_seconds
        try:
            acks = self._loop.run(self._publish(list(unique.values())), deadline + 1)
        except BUS_ERRORS as error:
            log.warning("bus refused a batch: %s", type(error).__name__)
            raise BusUnavailableError(type(error).__name__) from error
        duplicates = sum(ack.duplicate is True for ack in acks)
        fresh = len(unique) - duplicates
        return IngestReport(accepted=fresh, duplicates=len(events) - fresh)

    async def _publish(self, events: list[Event]) -> list[PubAck]:
        """Publish each event to all its partitions; return the acks of the home copies."""
        js = await self._jetstream()
        partitions = self.settings.partitions
        home: list[asyncio.Future[PubAck]] = []
        others: list[asyncio.Future[PubAck]] = []
        gate = asyncio.Semaphore(MAX_IN_FLIGHT)

        async def one(subject: str, payload: bytes, msg_id: str) -> PubAck:
            async with gate:
                return await js.publish(
                    subject,
                    payload,
                    timeout=self.settings.timeout_seconds,
                    headers={"Nats-Msg-Id": msg_id},
                )

        for event in events:
            payload = seal(self.keyring, event)
            for position, partition in enumerate(partitions_of(event, partitions)):
                task = asyncio.ensure_future(
                    one(
                        self.settings.subject(partition),
                        payload,
                        f"{event.platform}/{event.id}/{partition}",
                    )
                )
                (home if position == 0 else others).append(task)
        try:
            results = await asyncio.gather(*home, *others)
        except BaseException:
            for pending in (*home, *others):
                pending.cancel()
            raise
        return list(results[: len(home)])

    async def _jetstream(self) -> JetStreamContext:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:  # requests from many threads share one connection
            if self._client is None or self._client.is_closed:
                self._client = await connect(self.settings, name=self.name)
                self._js = self._client.jetstream(timeout=self.settings.timeout_seconds)
                self._ready = False
            if self._js is None:
                raise nats.errors.ConnectionClosedError
            if not self._ready:
                await ensure_stream(self._js, self.settings)
                self._ready = True
            return self._js

    def close(self) -> None:
        """Flush and close the connection, then stop the loop."""
        client = self._client
        if client is not None and not client.is_closed:
            try:
                self._loop.run(client.drain(), timeout=5)
            except BUS_ERRORS as error:
                log.warning("bus connection did not close cleanly: %s", type(error).__name__)
        self._loop.stop()
