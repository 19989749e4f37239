"""The detection pipeline: route each event to the defenders it involves, run the detectors.

Everything here is in memory and free of database code, so the same pipeline runs in the server
(fed from the inbox), in a scale-out worker (fed from the bus), in `hrdshield ingest` and in the
evaluation, and its speed can be measured alone. Detectors work on event time, never on the wall
clock, so a replay gives the same alerts as the live stream did.

A detector is a small object with the `Detector` protocol. It receives only the event types it
asks for, and, unless it looks at everyone (impersonation, doxxing, shutdowns), only events that
involve an enrolled defender: that cheap pre-filter is what lets the text detectors afford their
cost. A detector that raises on a batch is retried event by event, so one poison event is set
aside (with the reason) and never blocks the others.
"""

from __future__ import annotations

import enum
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol, get_args

from hrdshield.detection.enums import AlertSeverity, DetectorKind, EventType
from hrdshield.detection.index import DefenderIndex, ProtectedDefender
from hrdshield.detection.schema import Account, AccountCreated, Event
from hrdshield.detection.thresholds import ThresholdBook

log = logging.getLogger(__name__)
MAX_EVIDENCE = 50  # events kept with one alert; the counts in the explanation cover the rest

ACTOR_EVENTS = frozenset({EventType.LOGIN, EventType.PROFILE_CHANGED, EventType.ACCOUNT_CREATED})

# The event type of each event class, looked up by class: `Event.event_type` builds an enum
# from the tag on every call, and at three calls an event that was a tenth of the routing cost.
EVENT_TYPES: dict[type[Any], EventType] = {
    cls: EventType(cls.__struct_config__.tag) for cls in get_args(Event)
}
_ACTOR_CLASSES = frozenset(cls for cls, kind in EVENT_TYPES.items() if kind in ACTOR_EVENTS)


def classes_of(event_types: frozenset[EventType]) -> frozenset[type[Any]]:
    """Return the event classes of `event_types`, for filtering with one set lookup."""
    return frozenset(cls for cls, kind in EVENT_TYPES.items() if kind in event_types)


class Scope(enum.Enum):
    """Which events of its types a detector receives."""

    TARGETED = "targeted"  # a target is a protected defender
    OWN_ACCOUNT = "own_account"  # the actor is a protected defender (logins, profile changes)
    EVERYONE = "everyone"  # every event of its types (look-alikes, leaks, traffic)


@dataclass(frozen=True, slots=True)
class Routed:
    """One event with the protected defenders it involves."""

    event: Event
    targets: tuple[ProtectedDefender, ...] = ()
    actor: ProtectedDefender | None = None


@dataclass
class AlertDraft:
    """What a detector found, before it is stored: the alert store makes it idempotent."""

    detector: DetectorKind
    rule: str
    dedup_key: str
    severity: AlertSeverity
    score: float
    summary: str  # one line for reviewers; may name accounts, so it is stored encrypted
    explanation: dict[str, Any]  # which rule, which thresholds, which scores and counts
    events: list[Event] = field(default_factory=list)
    defender_id: str | None = None
    region: str | None = None
    actions: tuple[str, ...] = ()  # protective actions the detection asks for (hold_takedowns)

    def __post_init__(self) -> None:
        if not self.events:
            raise ValueError("an alert needs at least one event")
        if len(self.events) > MAX_EVIDENCE:
            self.events = self.events[-MAX_EVIDENCE:]


@dataclass
class AccountMemory:
    """What the pipeline has learnt of other accounts: when they were made, whether they abused.

    Bounded (oldest forgotten first): it serves to weight a pile-on by young and known-abusive
    accounts, and a forgotten account only weighs as an ordinary one.
    """

    capacity: int = 1_000_000
    created: OrderedDict[str, datetime] = field(default_factory=OrderedDict)
    flagged: OrderedDict[str, int] = field(default_factory=OrderedDict)

    def learn(self, event: Event) -> None:
        """Remember the creation time of an account from any event that carries it."""
        actor = event.actor
        if actor is None:
            return
        created = actor.created_at
        if created is None and type(event) is AccountCreated:
            created = event.occurred_at
        if created is not None and actor.account_id not in self.created:
            self._put(self.created, actor.account_id, created)

    def age_days(self, account: Account, at: datetime) -> float | None:
        """Return how old `account` was at `at`, in days, if known."""
        created = account.created_at or self.created.get(account.account_id)
        return None if created is None else (at - created).total_seconds() / 86_400

    def flag(self, account_id: str) -> None:
        """Count one more abusive event by `account_id`."""
        self._put(self.flagged, account_id, self.flagged.get(account_id, 0) + 1)

    def abuse_count(self, account_id: str) -> int:
        """Return how many abusive events `account_id` is known for."""
        return self.flagged.get(account_id, 0)

    def _put(self, table: OrderedDict[str, Any], key: str, value: Any) -> None:
        table[key] = value
        table.move_to_end(key)
        if len(table) > self.capacity:
            table.popitem(last=False)


@dataclass(frozen=True)
class DetectorContext:
    """What a detector may consult besides the events: defenders, thresholds, other accounts."""

    index: DefenderIndex
    thresholds: ThresholdBook
    accounts: AccountMemory


class Detector(Protocol):
    """One kind of attack to look for; state stays inside the detector, keyed by defender.

    Delivery is at least once (a retried batch, a redelivered bus message), so processing an
    event a second time must change nothing: count distinct accounts and event ids, key alerts
    by what they are about. Check an event fully before changing state for it.
    """

    kind: ClassVar[DetectorKind]
    event_types: ClassVar[frozenset[EventType]]
    scope: ClassVar[Scope]

    def process(self, batch: Sequence[Routed], context: DetectorContext) -> list[AlertDraft]:
        """Take events in time order; return the alerts they complete or extend."""

    def snapshot(self) -> dict[str, Any]:
        """Return the detector's state as JSON values, to be restored after a restart."""

    def restore(self, state: dict[str, Any]) -> None:
        """Take back a state returned by `snapshot`."""


@dataclass(frozen=True)
class PoisonEvent:
    """An event a detector failed on; it goes to the dead letters, the rest go on."""

    event: Event
    detector: DetectorKind
    reason: str


@dataclass
class BatchResult:
    """Alerts found in one batch and the events set aside."""

    alerts: list[AlertDraft] = field(default_factory=list)
    poisoned: list[PoisonEvent] = field(default_factory=list)
    routed: int = 0  # events that involved a defender or reached an all-events detector


@dataclass
class Pipeline:
    """Route events and run every detector over them, batch by batch."""

    detectors: Sequence[Detector]
    index: Callable[[], DefenderIndex]
    thresholds: ThresholdBook = field(default_factory=ThresholdBook)
    accounts: AccountMemory = field(default_factory=AccountMemory)

    def process(self, events: Sequence[Event]) -> BatchResult:
        """Run one batch (sorted by event time here) through routing and all detectors."""
        index = self.index()
        context = DetectorContext(index=index, thresholds=self.thresholds, accounts=self.accounts)
        ordered = sorted(events, key=_event_time)
        for event in ordered:
            self.accounts.learn(event)
        everyone = frozenset().union(
            *(
                classes_of(item.event_types)
                for item in self.detectors
                if item.scope is Scope.EVERYONE
            )
        )
        by_scope = route(ordered, index, everyone=everyone)
        result = BatchResult(routed=len(by_scope[Scope.TARGETED]) + len(by_scope[Scope.EVERYONE]))
        for detector in self.detectors:
            wanted = classes_of(detector.event_types)
            batch = [item for item in by_scope[detector.scope] if type(item.event) in wanted]
            if batch:
                self._run(detector, batch, context, result)
        return result

    def _run(
        self,
        detector: Detector,
        batch: list[Routed],
        context: DetectorContext,
        result: BatchResult,
    ) -> None:
        try:
            result.alerts.extend(detector.process(batch, context))
        except Exception:  # noqa: BLE001  (a detector's bug must not stop the stream)
            log.warning("detector %s failed on a batch; retrying event by event", detector.kind)
            for item in batch:
                try:
                    result.alerts.extend(detector.process([item], context))
                except Exception as error:  # noqa: BLE001
                    result.poisoned.append(
                        PoisonEvent(item.event, detector.kind, f"{type(error).__name__}")
                    )

    def snapshot(self) -> dict[str, Any]:
        """Return every detector's state, keyed by detector kind."""
        return {detector.kind.value: detector.snapshot() for detector in self.detectors}

    def restore(self, state: dict[str, Any]) -> None:
        """Take back states returned by `snapshot`; detectors missing from it start empty."""
        for detector in self.detectors:
            if detector.kind.value in state:
                detector.restore(state[detector.kind.value])


def _event_time(event: Event) -> Any:
    return event.occurred_at


def route(
    events: Sequence[Event],
    index: DefenderIndex,
    *,
    everyone: frozenset[type[Any]] | None = None,
) -> dict[Scope, list[Routed]]:
    """Split events by scope: those targeting defenders, defenders' own, and all of them.

    `everyone` limits the all-events list to those classes (what the all-events detectors
    want), so that the many events involving no one cost no `Routed`; None keeps every event.
    """
    targeted: list[Routed] = []
    own: list[Routed] = []
    all_events: list[Routed] = []
    defender_for = index.defender_for
    for event in events:
        targets: tuple[ProtectedDefender, ...] = ()
        if event.targets:
            found = [item for item in map(defender_for, event.targets) if item is not None]
            targets = tuple(found) if found else ()
        actor = None
        if event.actor is not None and type(event) in _ACTOR_CLASSES:
            actor = defender_for(event.actor)
        wanted = everyone is None or type(event) in everyone
        if not (targets or wanted) and actor is None:
            continue  # involves no defender and no all-events detector wants it
        routed = Routed(event, targets, actor)
        if wanted:
            all_events.append(routed)
        if targets:
            targeted.append(routed)
        if actor is not None:
            own.append(routed)
    return {Scope.TARGETED: targeted, Scope.OWN_ACCOUNT: own, Scope.EVERYONE: all_events}
