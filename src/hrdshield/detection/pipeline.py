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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from hrdshield.detection.enums import AlertSeverity, DetectorKind, EventType
from hrdshield.detection.index import DefenderIndex, ProtectedDefender
from hrdshield.detection.schema import EVENT_CLASSES, Account, AccountCreated, Event
from hrdshield.detection.thresholds import ThresholdBook

log = logging.getLogger(__name__)
MAX_EVIDENCE = 50  # events kept with one alert; the counts in the explanation cover the rest

ACTOR_EVENTS = frozenset({EventType.LOGIN, EventType.PROFILE_CHANGED, EventType.ACCOUNT_CREATED})


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
    triggered_at: datetime | None = None  # the event time the rule first held (else the newest)

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


class Share(Protocol):
    """The part of the stream one scale-out worker owns (a partition), for routing.

    An event about several accounts is delivered to the partition of each; a partition acts only
    for the defenders it owns, and only the event's home partition runs the all-events detectors,
    so each defender's state lives in one place and no event is looked at twice.
    """

    def owns(self, account: Account) -> bool:
        """Return whether events about `account` are this partition's to act on."""

    def is_home(self, event: Event) -> bool:
        """Return whether this partition runs the all-events detectors on `event`."""


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

    def describe(self) -> str:
        """Return the dead letter's reason: which detector failed, and how."""
        return f"{self.detector.value} failed: {self.reason}"


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
    share: Share | None = None  # a scale-out worker's partition; None: the whole stream

    def process(self, events: Sequence[Event]) -> BatchResult:
        """Run one batch (sorted by event time here) through routing and all detectors."""
        index = self.index()
        context = DetectorContext(index=index, thresholds=self.thresholds, accounts=self.accounts)
        ordered = sorted(events, key=_event_time)
        learn = self.accounts.learn
        for event in ordered:
            learn(event)
        wanted = {
            scope: classes_of(
                kind for d in self.detectors if d.scope is scope for kind in d.event_types
            )
            for scope in Scope
        }
        by_scope = route(ordered, index, wanted, self.share)
        result = BatchResult(routed=len(by_scope[Scope.TARGETED]) + len(by_scope[Scope.EVERYONE]))
        for detector in self.detectors:
            classes = classes_of(detector.event_types)
            batch = [item for item in by_scope[detector.scope] if type(item.event) in classes]
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


def classes_of(event_types: Iterable[EventType]) -> frozenset[type]:
    """Return the event classes of `event_types` (membership tests on them are cheap)."""
    return frozenset(EVENT_CLASSES[event_type] for event_type in event_types)


def route(
    events: Sequence[Event],
    index: DefenderIndex,
    wanted: dict[Scope, frozenset[type]] | None = None,
    share: Share | None = None,
) -> dict[Scope, list[Routed]]:
    """Split events by scope: those targeting defenders, defenders' own, and all of them.

    With `wanted` (the event classes the detectors of each scope ask for), events nobody asked
    for are not looked up at all: on a busy platform that is most of them. With `share`, only
    the defenders of that partition are acted for (see `Share`).
    """
    wanted = wanted or dict.fromkeys(Scope, classes_of(EventType))
    actor_events = classes_of(ACTOR_EVENTS)
    for_targets, for_own, for_all = (
        wanted[Scope.TARGETED],
        wanted[Scope.OWN_ACCOUNT] & actor_events,
        wanted[Scope.EVERYONE],
    )
    # All-events detectors also need to know a defender's own account (to learn, not alert).
    for_actor = for_own | (for_all & actor_events)
    targeted: list[Routed] = []
    own: list[Routed] = []
    everyone: list[Routed] = []
    defender_for = index.defender_for
    for event in events:
        event_type = type(event)
        to_all = event_type in for_all and (share is None or share.is_home(event))
        targets: tuple[ProtectedDefender, ...] = ()
        owned = targets
        if event.targets and (event_type in for_targets or to_all):
            found = [(target, defender_for(target)) for target in event.targets]
            targets = tuple(defender for _, defender in found if defender is not None)
            owned = (
                targets
                if share is None
                else tuple(d for t, d in found if d is not None and share.owns(t))
            )
        actor = None
        if event_type in for_actor and event.actor is not None:
            actor = defender_for(event.actor)
            if actor is not None and share is not None and not share.owns(event.actor):
                actor = None
        if not (owned or actor is not None or to_all):
            continue
        routed = Routed(event, targets, actor)
        mine = routed if owned == targets else Routed(event, owned, actor)
        if to_all:
            everyone.append(routed)
        if owned and event_type in for_targets:
            targeted.append(mine)
        if actor is not None and event_type in for_own:
            own.append(mine)
    return {Scope.TARGETED: targeted, Scope.OWN_ACCOUNT: own, Scope.EVERYONE: everyone}
