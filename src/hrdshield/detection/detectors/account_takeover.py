"""Account takeover: suspicious sign-ins on a defender's own account.

Defenders are targets of state and criminal attackers who want their contacts, sources and
messages; a hijacked account is also a way to smear them in their own voice. The platform
sends every sign-in attempt (country, network, success) and the pipeline routes those on a
defender's own account here. Per defender the detector learns where successful sign-ins come
from (countries and networks, with counts and last-seen, bounded) and watches for:

- ``new_country``: a success from a country never seen, on a known network, once the history
  holds enough successes to judge (before that it only learns);
- ``new_network_and_country``: the same from an unknown network too (medium when the country
  borders one already seen: crossing a border is ordinary);
- ``impossible_travel``: two successes from different countries closer in time than the gap
  between the countries allows at airliner speed (country centroids less both countries'
  radii, neighbours never; see `countries`);
- ``failure_burst``: many failed attempts in a short window (password guessing);
- ``compromise_in_progress`` (critical, asks for a lockdown): a success right after a failure
  burst from a new country or network, or from a network the failures came from, or
  impossible travel on a high-risk defender.

A trip abroad alerts once: the country is learnt at its first success, so consistent later
sign-ins from it are ordinary, and alerts are keyed per defender, rule, country and day.
Failures never teach the history. Event ids already seen are skipped, so a redelivered
sign-in changes nothing. The history of a defender who leaves the index (withdrawn consent) is
dropped when the index is next rebuilt. The explanation names the countries and networks of the
sign-ins it is about, never the defender's history beyond counts.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from hrdshield.detection import schema
from hrdshield.detection.detectors import countries
from hrdshield.detection.enums import AlertSeverity, DetectorKind, EventType
from hrdshield.detection.index import DefenderIndex, ProtectedDefender
from hrdshield.detection.pipeline import AlertDraft, DetectorContext, Routed, Scope
from hrdshield.detection.schema import Event, Login

SEEN_IDS = 256  # event ids remembered per defender against redelivery
RECENT_COUNTRIES = 4  # latest success per country kept for the travel rule
MAX_FAILURES = 200  # failed attempts kept within the window (the count goes on past it)


@dataclass(frozen=True)
class AccountTakeoverThresholds:
    """Defaults: learn 3 successes first; 8 failures in 15 minutes (5 if high-risk); 1,000 km/h."""

    min_history: int = 3  # successful sign-ins seen before a new country or network alerts
    max_speed_kmh: float = 1000.0
    travel_window_hours: float = 24.0  # farther apart than this, any two countries are reachable
    failure_window_minutes: int = 15
    failures: int = 8
    high_risk_failures: int = 5
    compromise_window_minutes: int = 60  # a success this soon after a failure burst
    max_countries: int = 32  # per defender, least recently seen forgotten first
    max_networks: int = 64


DEFAULTS = AccountTakeoverThresholds()


@dataclass
class Place:
    """How often a country or a network was seen on a successful sign-in, and when last."""

    count: int
    last_seen: float


@dataclass
class Success:
    """The latest successful sign-in from one country."""

    at: float
    network: str
    event: Login


@dataclass
class Finding:
    """One rule that matched a sign-in, with what the explanation needs."""

    rule: str
    subject: str  # country, country pair or "all": part of the dedup key
    severity: AlertSeverity
    score: float
    summary: str
    evidence: list[Event]
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class SignInHistory:
    """One defender's successful sign-in history and recent failures."""

    countries: dict[str, Place] = field(default_factory=dict)
    networks: dict[str, Place] = field(default_factory=dict)
    successes: int = 0
    recent: dict[str, Success] = field(default_factory=dict)  # country -> latest success
    failures: deque[tuple[float, str, Login]] = field(default_factory=deque)
    burst_at: float | None = None  # when the failures last reached the threshold
    burst_networks: set[str] = field(default_factory=set)
    seen: deque[str] = field(default_factory=lambda: deque(maxlen=SEEN_IDS))
    seen_ids: set[str] = field(default_factory=set)

    def first_time(self, event_id: str) -> bool:
        """Return whether `event_id` is new here, and remember it."""
        if event_id in self.seen_ids:
            return False
        if len(self.seen) == SEEN_IDS:
            self.seen_ids.discard(self.seen[0])
        self.seen.append(event_id)
        self.seen_ids.add(event_id)
        return True

    def fail(self, at: float, network: str, event: Login, limits: AccountTakeoverThresholds) -> int:
        """Count one failed attempt; return how many fell within the window."""
        cutoff = at - limits.failure_window_minutes * 60
        failures = self.failures
        while failures and failures[0][0] < cutoff:
            failures.popleft()
        failures.append((at, network, event))
        if len(failures) > MAX_FAILURES:
            failures.popleft()
        return sum(1 for when, _, _ in failures if when >= cutoff)

    def learn(self, at: float, event: Login, caps: AccountTakeoverThresholds) -> None:
        """Add a successful sign-in to the history."""
        country, network = event.login.country, event.login.network
        self.successes += 1
        _see(self.countries, country, at, caps.max_countries)
        _see(self.networks, network, at, caps.max_networks)
        latest = self.recent.get(country)
        if latest is None or latest.at <= at:
            self.recent[country] = Success(at, network, event)
        if len(self.recent) > RECENT_COUNTRIES:
            oldest = min(self.recent, key=lambda code: self.recent[code].at)
            del self.recent[oldest]

    def snapshot(self) -> dict[str, Any]:
        """Return this history as JSON values."""
        return {
            "countries": {code: [p.count, p.last_seen] for code, p in self.countries.items()},
            "networks": {name: [p.count, p.last_seen] for name, p in self.networks.items()},
            "successes": self.successes,
            "recent": {
                code: [s.at, s.network, schema.to_dict(s.event)] for code, s in self.recent.items()
            },
            "failures": [[at, net, schema.to_dict(event)] for at, net, event in self.failures],
            "burst_at": self.burst_at,
            "burst_networks": sorted(self.burst_networks),
            "seen": list(self.seen),
        }

    @classmethod
    def restore(cls, state: dict[str, Any]) -> SignInHistory:
        """Rebuild a history from `snapshot`'s output."""
        history = cls(
            countries={
                code: Place(int(c), float(t)) for code, (c, t) in state["countries"].items()
            },
            networks={name: Place(int(c), float(t)) for name, (c, t) in state["networks"].items()},
            successes=int(state["successes"]),
            recent={
                code: Success(float(at), str(net), _login(event))
                for code, (at, net, event) in state["recent"].items()
            },
            failures=deque(
                (float(at), str(net), _login(event)) for at, net, event in state["failures"]
            ),
            burst_at=state["burst_at"],
            burst_networks=set(state["burst_networks"]),
        )
        for event_id in state["seen"]:
            history.first_time(str(event_id))
        return history


def _login(value: dict[str, Any]) -> Login:
    event = schema.convert(value)
    if not isinstance(event, Login):
        raise TypeError("an account-takeover snapshot holds only sign-in events")
    return event


def _see(places: dict[str, Place], key: str, at: float, cap: int) -> None:
    place = places.get(key)
    if place is None:
        places[key] = Place(1, at)
        if len(places) > cap:
            stale = min(places, key=lambda name: places[name].last_seen)
            del places[stale]
    else:
        place.count += 1
        place.last_seen = max(place.last_seen, at)


class AccountTakeoverDetector:
    """Alert on sign-ins that suggest someone else is getting into a defender's account."""

    kind: ClassVar[DetectorKind] = DetectorKind.ACCOUNT_TAKEOVER
    event_types: ClassVar[frozenset[EventType]] = frozenset({EventType.LOGIN})
    scope: ClassVar[Scope] = Scope.OWN_ACCOUNT

    def __init__(self) -> None:
        self.histories: dict[str, SignInHistory] = {}
        self._index: DefenderIndex | None = None

    def process(self, batch: Sequence[Routed], context: DetectorContext) -> list[AlertDraft]:
        """Judge each sign-in on a defender's account against that defender's history."""
        if context.index is not self._index:  # rebuilt: forget defenders who left (consent)
            self._index = context.index
            enrolled = context.index.defenders
            self.histories = {key: item for key, item in self.histories.items() if key in enrolled}
        drafts: dict[str, AlertDraft] = {}
        for item in batch:
            event, defender = item.event, item.actor
            if defender is None or not isinstance(event, Login):
                continue
            history = self.histories.setdefault(defender.defender_id, SignInHistory())
            if not history.first_time(event.id):
                continue  # redelivered: already judged
            limits = _limits(context, defender)
            if event.login.success:
                finding = _judge_success(history, event, defender, limits)
            else:
                finding = _judge_failure(history, event, defender, limits)
            if finding is not None:
                draft = _draft(defender, event, finding, limits)
                drafts[draft.dedup_key] = draft
        return list(drafts.values())

    def snapshot(self) -> dict[str, Any]:
        """Return each defender's sign-in history."""
        return {defender: history.snapshot() for defender, history in self.histories.items()}

    def restore(self, state: dict[str, Any]) -> None:
        """Take back the histories of `snapshot`."""
        self.histories = {
            defender: SignInHistory.restore(history) for defender, history in state.items()
        }


def _limits(context: DetectorContext, defender: ProtectedDefender) -> AccountTakeoverThresholds:
    limits = context.thresholds.get(DetectorKind.ACCOUNT_TAKEOVER.value, DEFAULTS, defender.country)
    if defender.high_risk and limits.high_risk_failures < limits.failures:
        return replace(limits, failures=limits.high_risk_failures)
    return limits


def _judge_failure(
    history: SignInHistory,
    event: Login,
    defender: ProtectedDefender,
    limits: AccountTakeoverThresholds,
) -> Finding | None:
    at = event.occurred_at.timestamp()
    count = history.fail(at, event.login.network, event, limits)
    if count < limits.failures:
        return None
    history.burst_at = at if history.burst_at is None else max(history.burst_at, at)
    history.burst_networks = {network for _, network, _ in history.failures}
    severity = AlertSeverity.HIGH if defender.high_risk else AlertSeverity.MEDIUM
    origins = sorted({item.login.country for _, _, item in history.failures})
    return Finding(
        rule="failure_burst",
        subject="all",
        severity=severity,
        score=round(min(1.0, 0.4 + 0.3 * count / limits.failures), 3),
        summary=(
            f"{count} failed sign-ins on {defender.pseudonym}'s account within"
            f" {limits.failure_window_minutes} minutes"
        ),
        evidence=_failed_list(history),
        details={"failures": count, "failure_countries": origins},
    )


def _failed_list(history: SignInHistory) -> list[Event]:
    return [event for _, _, event in history.failures]


def _judge_success(
    history: SignInHistory,
    event: Login,
    defender: ProtectedDefender,
    limits: AccountTakeoverThresholds,
) -> Finding | None:
    at = event.occurred_at.timestamp()
    country, network = event.login.country, event.login.network
    mature = history.successes >= limits.min_history
    new_country = country not in history.countries
    new_network = network not in history.networks
    border = any(countries.neighbours(country, seen) for seen in history.countries)
    who = f"{defender.pseudonym}'s account"
    travel = _impossible_travel(history, at, country, limits, who)
    after_burst = (
        history.burst_at is not None
        and 0 <= at - history.burst_at <= limits.compromise_window_minutes * 60
    )
    guessed = after_burst and (
        (mature and (new_country or new_network))
        or (network in history.burst_networks and new_network)
    )
    findings: list[Finding] = []
    if guessed:
        findings.append(_after_burst(history, event, who))
    if travel is not None:
        findings.append(travel)
        if defender.high_risk:
            findings.insert(0, _travel_on_high_risk(travel))
    if mature and new_country and new_network:
        findings.append(_new_place(event, defender, who, border=border, with_network=True))
    elif mature and new_country and not border:
        findings.append(_new_place(event, defender, who, border=False, with_network=False))
    if guessed:
        history.burst_at = None  # the burst has had its consequence
    history.learn(at, event, limits)
    if not findings:
        return None
    chosen = min(findings, key=lambda item: _ORDER.index(item.severity))
    chosen.details["rules"] = [item.rule for item in findings]
    chosen.details["prior_successes"] = history.successes - 1
    return chosen


_ORDER = (AlertSeverity.CRITICAL, AlertSeverity.HIGH, AlertSeverity.MEDIUM, AlertSeverity.LOW)


def _impossible_travel(
    history: SignInHistory,
    at: float,
    country: str,
    limits: AccountTakeoverThresholds,
    who: str,
) -> Finding | None:
    worst: tuple[float, str, Success, float, float] | None = None
    for other, latest in history.recent.items():
        hours = abs(at - latest.at) / 3600
        if other == country or hours > limits.travel_window_hours:
            continue
        needed = countries.min_travel_km(other, country)
        if not needed or needed <= limits.max_speed_kmh * hours:
            continue
        speed = needed / max(hours, 1 / 3600)
        if worst is None or speed > worst[0]:
            worst = (speed, other, latest, needed, hours)
    if worst is None:
        return None
    speed, other, latest, needed, hours = worst
    return Finding(
        rule="impossible_travel",
        subject="-".join(sorted((other, country))),
        severity=AlertSeverity.HIGH,
        score=round(min(1.0, 0.6 + 0.4 * (1 - limits.max_speed_kmh / speed)), 3),
        summary=f"{who} signed in from {other} and {country} {_duration(hours)} apart",
        evidence=[latest.event],
        details={
            "previous_country": other,
            "hours_apart": round(hours, 2),
            "min_travel_km": round(needed),
            "speed_needed_kmh": round(speed),
        },
    )


def _travel_on_high_risk(travel: Finding) -> Finding:
    return Finding(
        rule="compromise_in_progress",
        subject=travel.subject,
        severity=AlertSeverity.CRITICAL,
        score=max(0.9, travel.score),
        summary=f"{travel.summary} (high-risk defender)",
        evidence=travel.evidence,
        details={**travel.details, "cause": "impossible_travel_high_risk"},
    )


def _after_burst(history: SignInHistory, event: Login, who: str) -> Finding:
    failures = _failed_list(history)
    return Finding(
        rule="compromise_in_progress",
        subject=event.login.country,
        severity=AlertSeverity.CRITICAL,
        score=0.95,
        summary=(
            f"{who} signed in from {event.login.country} right after {len(failures)}"
            " failed attempts"
        ),
        evidence=failures,
        details={
            "cause": "success_after_failure_burst",
            "failures": len(failures),
            "network_seen_in_failures": event.login.network in history.burst_networks,
        },
    )


def _new_place(
    event: Login, defender: ProtectedDefender, who: str, *, border: bool, with_network: bool
) -> Finding:
    if with_network:
        severity = AlertSeverity.MEDIUM if border else AlertSeverity.HIGH
        rule, what = "new_network_and_country", "a new network in a country never seen"
    else:
        severity = AlertSeverity.HIGH if defender.high_risk else AlertSeverity.MEDIUM
        rule, what = "new_country", "a country never seen"
    return Finding(
        rule=rule,
        subject=event.login.country,
        severity=severity,
        score=0.7 if severity is AlertSeverity.HIGH else 0.5,
        summary=f"{who} signed in from {what} ({event.login.country})",
        evidence=[],
        details={"borders_a_known_country": border},
    )


def _duration(hours: float) -> str:
    return f"{round(hours * 60)} minutes" if hours < 2 else f"{hours:.1f} hours"


def _draft(
    defender: ProtectedDefender,
    event: Login,
    finding: Finding,
    limits: AccountTakeoverThresholds,
) -> AlertDraft:
    day = datetime.fromtimestamp(event.occurred_at.timestamp(), UTC).date().isoformat()
    critical = finding.severity is AlertSeverity.CRITICAL
    evidence = [item for item in finding.evidence if item.id != event.id]
    return AlertDraft(
        detector=DetectorKind.ACCOUNT_TAKEOVER,
        rule=finding.rule,
        dedup_key=(
            f"account_takeover:{defender.defender_id}:{finding.rule}:{finding.subject}:{day}"
        ),
        severity=finding.severity,
        score=finding.score,
        summary=finding.summary,
        explanation={
            "rule": finding.rule,
            "country": event.login.country,
            "network": event.login.network,
            "success": event.login.success,
            **finding.details,
            "thresholds": {
                "min_history": limits.min_history,
                "max_speed_kmh": limits.max_speed_kmh,
                "failures": limits.failures,
                "failure_window_minutes": limits.failure_window_minutes,
                "compromise_window_minutes": limits.compromise_window_minutes,
            },
        },
        events=[*evidence, event],
        defender_id=defender.defender_id,
        actions=("lockdown",) if critical else (),
    )
