"""`hrdshield worker`: consume partitions of the JetStream stream and run detection on them.

Each owned partition has its own pipeline (so its detector state is local) and is read through a
durable pull consumer shared by whichever worker owns the partition at the time. A batch is
decoded, run through the pipeline, and its alerts, incidents, cases and dead letters are stored
in ONE transaction that also renews the partition's lease; only after the commit are the
messages acknowledged. Delivery is therefore at least once, and idempotent alert writes (alerts
are keyed by what they are about) make a redelivered event produce no second alert.

Detector state is saved per partition every ``snapshot_seconds`` with the stream sequence it
covers; a worker that takes a partition over restores that state and replays the stream from
there up to what the consumer had delivered, so a pile-on that spans a crash is still seen.

Failure handling: a detector that raises on an event sets that event aside at once (the
pipeline's own retry); a batch that fails as a whole (a bad event the routing chokes on, the
database away) is handed back, and redelivered messages are then taken one at a time, so a poison
message is isolated, and after ``max_attempts`` deliveries it goes to the dead letters unprocessed
instead of blocking its partition. Alerts of a batch whose commit failed are kept and stored with
the next one: the redelivered events alone would not raise them again, as detectors have already
counted them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from hrdshield.bus import ownership, snapshots
from hrdshield.bus.jetstream import BusSettings, connect, ensure_stream, unseal
from hrdshield.bus.partitions import PartitionShare
from hrdshield.db import transaction
from hrdshield.detection import ingest, leases, service
from hrdshield.detection.enums import IngestChannel
from hrdshield.detection.pipeline import AlertDraft, BatchResult, Pipeline
from hrdshield.detection.schema import Event, InvalidEventError
from hrdshield.security.crypto import DecryptionError, Keyring

log = logging.getLogger("hrdshield.worker")
PipelineFactory = Callable[[PartitionShare], Pipeline]
T = TypeVar("T")
FETCH_ERRORS = (nats.errors.Error, asyncio.TimeoutError, OSError)


class LostPartitionError(Exception):
    """The partition's lease passed to another worker: this one must not commit for it."""


@dataclass(frozen=True)
class WorkerSettings:
    """How a worker batches, how long its leases last, how often it saves state."""

    batch: int = 500
    lease_seconds: float = 15.0  # a dead worker's partitions move after at most this long
    snapshot_seconds: float = 30.0
    ack_wait_seconds: float = 30.0  # an unacknowledged message is redelivered after this long
    max_attempts: int = 5  # deliveries of one message before it is set aside unprocessed
    fetch_wait_seconds: float = 0.5


@dataclass
class WorkerStats:
    """What a worker did since it started (for its log line, tests and benchmarks)."""

    events: int = 0
    alerts: int = 0
    replayed: int = 0
    dead_letters: int = 0
    failed_batches: int = 0


@dataclass
class PartitionRun:
    """One owned partition: its pipeline, its consumer and what it has done."""

    number: int
    pipeline: Pipeline
    processed_through: int = 0  # highest stream sequence whose batch was committed
    unstored: list[AlertDraft] = field(default_factory=list)
    snapshot_at: float = field(default_factory=time.monotonic)
    stopping: bool = False
    subscription: JetStreamContext.PullSubscription | None = None
    task: asyncio.Task[None] | None = None


def default_holder() -> str:
    """Return a name for this worker process, unique among the workers of one deployment."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker:
    """Owns a fair share of the partitions and runs detection over them."""

    def __init__(
        self,
        *,
        bus: BusSettings,
        session_factory: sessionmaker[Session],
        keyring: Keyring,
        pipeline_factory: PipelineFactory,
        setup: service.AlertSetup | None = None,
        settings: WorkerSettings | None = None,
        holder: str | None = None,
    ) -> None:
        self.bus = bus
        self.session_factory = session_factory
        self.keyring = keyring
        self.pipeline_factory = pipeline_factory
        self.setup = setup or service.AlertSetup()
        self.settings = settings or WorkerSettings()
        self.holder = holder or default_holder()
        self.stats = WorkerStats()
        self.partitions: dict[int, PartitionRun] = {}
        self._client: Client | None = None
        self._js: JetStreamContext | None = None
        self._gate = threading.Lock()  # one batch at a time per process: the GIL allows no more

    # -- the worker's life ------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Work until `stop` is set; then save state, hand partitions back and leave."""
        self._client = await connect(self.bus, name=f"hrdshield-worker {self.holder}")
        self._js = self._client.jetstream(timeout=10)
        try:
            await ensure_stream(self._js, self.bus)
        except BaseException:
            await self._client.close()
            raise
        log.info("worker %s started", self.holder)
        try:
            while not stop.is_set():
                try:
                    await self._rebalance()
                except Exception as error:  # noqa: BLE001  (the database may come back)
                    log.warning("rebalancing failed: %s", type(error).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.settings.lease_seconds / 3)
        finally:
            await self._shutdown()

    async def _shutdown(self) -> None:
        runs = list(self.partitions.values())
        for run in runs:
            run.stopping = True  # all at once: each finishes its batch, then they hand back
        await asyncio.gather(*(self._stop_partition(run, give_up=True) for run in runs))
        try:
            await asyncio.to_thread(self._in_transaction, self._leave)
        except Exception as error:  # noqa: BLE001
            log.warning("could not end membership: %s", type(error).__name__)
        if self._client is not None and not self._client.is_closed:
            try:
                await self._client.drain()
            except FETCH_ERRORS as error:
                log.warning("bus connection did not close cleanly: %s", type(error).__name__)
        log.info("worker %s stopped: %s", self.holder, self.stats)

    def _leave(self, session: Session) -> None:
        ownership.leave(session=session, holder=self.holder)

    async def _rebalance(self) -> None:
        for number, run in list(self.partitions.items()):
            if run.task is not None and run.task.done():
                await self._stop_partition(run, give_up=True)  # it failed: start it afresh
                self.partitions.pop(number, None)
        taken, surrender = await asyncio.to_thread(self._in_transaction, self._claim)
        for number in sorted(surrender):
            held = self.partitions.get(number)
            if held is not None:
                await self._stop_partition(held, give_up=True)
        for number in sorted(taken):
            self._start_partition(number)
        if taken or surrender:
            log.info(
                "worker %s owns partitions %s",
                self.holder,
                ",".join(map(str, sorted(self.partitions))) or "none",
            )

    def _claim(self, session: Session) -> tuple[set[int], set[int]]:
        return ownership.rebalance(
            session=session,
            stream=self.bus.stream,
            partitions=self.bus.partitions,
            holder=self.holder,
            owned=set(self.partitions),
            seconds=self.settings.lease_seconds,
        )

    def _start_partition(self, number: int) -> None:
        share = PartitionShare(number, self.bus.partitions)
        run = PartitionRun(number=number, pipeline=self.pipeline_factory(share))
        self.partitions[number] = run
        run.task = asyncio.create_task(self._consume(run), name=f"partition-{number}")

    async def _stop_partition(self, run: PartitionRun, *, give_up: bool) -> None:
        run.stopping = True
        failed = False
        if run.task is not None:
            try:
                await run.task
            except Exception as error:  # noqa: BLE001
                log.warning("partition %d stopped on %s", run.number, type(error).__name__)
                failed = True
        if run.subscription is not None:
            with contextlib.suppress(*FETCH_ERRORS):
                await run.subscription.unsubscribe()
        self.partitions.pop(run.number, None)
        try:
            if not failed and not run.unstored and run.processed_through:
                await asyncio.to_thread(self._in_transaction, lambda s: self._snapshot(s, run))
            if give_up:
                await asyncio.to_thread(
                    self._in_transaction,
                    lambda s: ownership.give_up(
                        session=s, stream=self.bus.stream, partition=run.number, holder=self.holder
                    ),
                )
        except Exception as error:  # noqa: BLE001  (the lease runs out by itself)
            log.warning("partition %d not handed back: %s", run.number, type(error).__name__)

    # -- one partition ----------------------------------------------------------------------

    async def _consume(self, run: PartitionRun) -> None:
        js = self._jetstream()
        await self._restore(run)
        subject = self.bus.subject(run.number)
        run.subscription = await js.pull_subscribe(
            subject,
            durable=self.bus.consumer(run.number),
            stream=self.bus.stream,
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self.settings.ack_wait_seconds,
                max_ack_pending=self.settings.batch * 4,
            ),
        )
        while not run.stopping:
            try:
                messages = await run.subscription.fetch(
                    self.settings.batch, timeout=self.settings.fetch_wait_seconds
                )
            except (nats.errors.TimeoutError, TimeoutError):
                messages = []  # nothing waiting
            except FETCH_ERRORS as error:  # the bus is away: wait for the reconnection
                log.warning("partition %d: fetch failed: %s", run.number, type(error).__name__)
                await asyncio.sleep(self.settings.fetch_wait_seconds)
                continue
            if messages:
                await self._handle(run, messages)
            await self._maybe_snapshot(run)

    async def _handle(self, run: PartitionRun, messages: Sequence[Msg]) -> None:
        """Process first deliveries as one batch, redeliveries one at a time."""
        first = [msg for msg in messages if msg.metadata.num_delivered <= 1]
        again = [msg for msg in messages if msg.metadata.num_delivered > 1]
        if first:
            await self._process(run, first)
        for msg in again:
            if run.stopping:
                await _nak(msg, delay=None)
                continue
            await self._process(run, [msg])

    async def _process(self, run: PartitionRun, messages: Sequence[Msg]) -> None:
        try:
            await asyncio.to_thread(self._commit_batch, run, messages)
        except LostPartitionError:
            log.warning("partition %d: lease lost to another worker", run.number)
            run.stopping = True
            run.unstored.clear()  # the next owner rebuilds the state and its alerts by replay
            for msg in messages:
                await _nak(msg, delay=None)
            return
        except Exception as error:  # noqa: BLE001  (hand the batch back; it is retried)
            self.stats.failed_batches += 1
            log.warning(
                "partition %d: batch of %d failed: %s",
                run.number,
                len(messages),
                type(error).__name__,
            )
            for msg in messages:
                await _nak(msg, delay=min(30.0, 0.5 * msg.metadata.num_delivered))
            return
        for msg in messages:
            with contextlib.suppress(*FETCH_ERRORS):  # else redelivered; detectors absorb it
                await msg.ack()
        run.processed_through = max(run.processed_through, *(_seq(msg) for msg in messages))

    def _commit_batch(self, run: PartitionRun, messages: Sequence[Msg]) -> None:
        """Run one batch and store its outcome with the partition's lease renewed (thread)."""
        with self._gate:
            limit = self.settings.max_attempts
            exhausted = [msg for msg in messages if msg.metadata.num_delivered > limit]
            events: list[Event] = []
            unreadable: list[tuple[Msg, str]] = []
            for msg in messages:
                if msg.metadata.num_delivered > limit:
                    continue
                try:
                    events.append(unseal(self.keyring, msg.data))
                except (DecryptionError, InvalidEventError) as error:
                    unreadable.append((msg, type(error).__name__))
            result = run.pipeline.process(events) if events else BatchResult()
            run.unstored = [*run.unstored, *result.alerts]  # kept until they are committed
            with transaction(self.session_factory) as session:
                if not self._renew(session, run):
                    raise LostPartitionError(run.number)
                stored = self._store(session, run.unstored)
                for poison in result.poisoned:
                    ingest.set_aside(
                        session=session,
                        event=poison.event,
                        channel=IngestChannel.BUS,
                        reason=poison.describe(),
                    )
                for msg, reason in unreadable:
                    ingest.set_aside_unreadable(
                        session=session,
                        channel=IngestChannel.BUS,
                        reason=f"message {_seq(msg)} could not be read: {reason}",
                    )
                for msg in exhausted:
                    self._give_up_on(session, msg, limit)
            run.unstored = []
            self.stats.events += len(events)
            self.stats.alerts += stored
            self.stats.dead_letters += len(result.poisoned) + len(unreadable) + len(exhausted)

    def _store(self, session: Session, drafts: list[AlertDraft]) -> int:
        """Store `drafts`; a draft the store's code fails on alone is set aside, not retried.

        Database errors are not isolated: they are most often passing (a lost connection, a
        lock timeout), so the whole batch is handed back and retried, and a message that keeps
        failing is set aside after its bounded deliveries.
        """
        if not drafts:
            return 0
        try:
            with session.begin_nested():
                return len(service.store(session=session, drafts=drafts, setup=self.setup))
        except DBAPIError:
            raise
        except Exception as error:  # noqa: BLE001
            log.warning("storing a batch of alerts failed (%s); one by one", type(error).__name__)
        stored = 0
        for draft in drafts:
            try:
                with session.begin_nested():
                    stored += len(service.store(session=session, drafts=[draft], setup=self.setup))
            except DBAPIError:
                raise
            except Exception as error:  # noqa: BLE001
                ingest.set_aside(
                    session=session,
                    event=draft.events[-1],
                    channel=IngestChannel.BUS,
                    reason=f"storing a {draft.detector.value} alert failed: {type(error).__name__}",
                )
        return stored

    def _give_up_on(self, session: Session, msg: Msg, limit: int) -> None:
        reason = f"set aside after {limit} failed deliveries"
        try:
            event = unseal(self.keyring, msg.data)
        except (DecryptionError, InvalidEventError):
            ingest.set_aside_unreadable(session=session, channel=IngestChannel.BUS, reason=reason)
            return
        ingest.set_aside(session=session, event=event, channel=IngestChannel.BUS, reason=reason)

    # -- state ------------------------------------------------------------------------------

    async def _restore(self, run: PartitionRun) -> None:
        """Take the partition's snapshot back and replay the stream after it."""
        snapshot = await asyncio.to_thread(self._in_transaction, lambda s: self._load(s, run))
        start = 0
        if snapshot is not None:
            run.pipeline.restore(snapshot.state)
            start = snapshot.stream_seq
        run.processed_through = start
        js = self._jetstream()
        try:
            info = await js.consumer_info(self.bus.stream, self.bus.consumer(run.number))
        except nats.js.errors.NotFoundError:
            return  # the partition was never consumed: nothing to replay
        delivered = info.delivered.stream_seq if info.delivered else 0
        if delivered > start:
            await self._replay(run, start, delivered)

    async def _replay(self, run: PartitionRun, start: int, until: int) -> None:
        js = self._jetstream()
        subject = self.bus.subject(run.number)
        replay = await js.pull_subscribe(
            subject,
            stream=self.bus.stream,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=start + 1,
                ack_policy=AckPolicy.NONE,
                inactive_threshold=60.0,
            ),
        )
        replayed = 0
        try:
            position = start
            while position < until:
                try:
                    messages = await replay.fetch(self.settings.batch, timeout=2.0)
                except (nats.errors.TimeoutError, TimeoutError):
                    break  # aged out of the stream: nothing more to replay
                wanted = [msg for msg in messages if _seq(msg) <= until]
                if wanted:
                    await asyncio.to_thread(self._replay_batch, run, wanted)
                    replayed += len(wanted)
                position = max(position, *(_seq(msg) for msg in messages))
        finally:
            with contextlib.suppress(*FETCH_ERRORS):
                await replay.unsubscribe()
        run.processed_through = max(run.processed_through, min(until, position))
        self.stats.replayed += replayed
        log.info("partition %d: replayed %d events after its snapshot", run.number, replayed)

    def _replay_batch(self, run: PartitionRun, messages: Sequence[Msg]) -> None:
        """Rebuild state from events processed before; store their alerts again (idempotent)."""
        with self._gate:
            events = []
            for msg in messages:
                try:
                    events.append(unseal(self.keyring, msg.data))
                except (DecryptionError, InvalidEventError):
                    continue  # it was set aside when first delivered
            result = run.pipeline.process(events)
            with transaction(self.session_factory) as session:
                if not self._renew(session, run):
                    raise LostPartitionError(run.number)
                self._store(session, result.alerts)

    async def _maybe_snapshot(self, run: PartitionRun) -> None:
        if run.unstored or time.monotonic() - run.snapshot_at < self.settings.snapshot_seconds:
            return
        try:
            await asyncio.to_thread(self._in_transaction, lambda s: self._snapshot(s, run))
        except Exception as error:  # noqa: BLE001  (the next one may succeed)
            log.warning("partition %d: snapshot failed: %s", run.number, type(error).__name__)

    def _snapshot(self, session: Session, run: PartitionRun) -> None:
        # The state is copied under the gate before the first write: a batch holds the gate
        # while it writes, and SQLite has a single write lock, so the other order deadlocks.
        with self._gate:
            state = run.pipeline.snapshot()
            seq = run.processed_through
        if not self._renew(session, run):
            return  # another worker owns the partition now: its state is not ours to write
        snapshots.save(
            session=session,
            stream=self.bus.stream,
            partition=run.number,
            snapshot=snapshots.Snapshot(stream_seq=seq, state=state),
            holder=self.holder,
        )
        run.snapshot_at = time.monotonic()

    def _renew(self, session: Session, run: PartitionRun) -> bool:
        """Renew the partition's lease in `session`'s transaction; return whether it is ours."""
        return leases.acquire(
            session=session,
            name=ownership.partition_lease(self.bus.stream, run.number),
            holder=self.holder,
            seconds=self.settings.lease_seconds,
        )

    def _load(self, session: Session, run: PartitionRun) -> snapshots.Snapshot | None:
        return snapshots.load(session=session, stream=self.bus.stream, partition=run.number)

    # -- helpers ----------------------------------------------------------------------------

    def _in_transaction(self, work: Callable[[Session], T]) -> T:
        with transaction(self.session_factory) as session:
            return work(session)

    def _jetstream(self) -> JetStreamContext:
        if self._js is None:
            raise RuntimeError("the worker is not connected")
        return self._js


def _seq(msg: Msg) -> int:
    return int(msg.metadata.sequence.stream)


async def _nak(msg: Msg, *, delay: float | None) -> None:
    with contextlib.suppress(*FETCH_ERRORS):  # else redelivered after the ack wait anyway
        await msg.nak(delay=delay)
