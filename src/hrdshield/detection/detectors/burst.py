"""Streaming burst detection: distinct accounts acting on one defender, against their baseline.

Shared by the pile-on and mass-reporting detectors, which differ only in what they count and
what they ask for. Per defender it keeps a sliding window of distinct accounts (each weighted,
e.g. young or known-abusive accounts count more) and an exponentially weighted moving average
(EWMA) of how many accounts a window usually holds. A burst starts when the weighted count
reaches both an absolute floor and a multiple of the baseline, so a defender who is always
busy is not alerted for an ordinary day, and one who is rarely addressed is alerted early. The
baseline learns from windows inside a burst ten times more slowly, so an attack does not teach it
that attacks are normal, yet a defender whose audience really grew gets a new normal within
hours. Counting distinct accounts makes a redelivered event change nothing.

Cost: amortised O(1) per event (deque and dict operations); memory: the events of one window
per defender who was addressed recently.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from hrdshield.detection import schema
from hrdshield.detection.schema import Event

BURST_LEARNING = 0.1  # how much more slowly the baseline learns from windows inside a burst


@dataclass(frozen=True)
class BurstThresholds:
    """When a burst starts and ends; every detector built on bursts exposes these."""

    window_minutes: int
    min_accounts: float  # weighted distinct accounts within the window
    baseline_ratio: float  # ... and at least this many times the usual window
    baseline_alpha: float  # EWMA weight of the newest window
    quiet_minutes: int  # a burst ends after this long below the threshold


@dataclass(frozen=True)
class BurstReading:
    """The state of one defender's window after an event, for alerts and explanations."""

    accounts: int
    weighted: float
    baseline: float
    threshold: float
    started_at: float  # POSIX time of the oldest event in the window when the burst began


@dataclass
class BurstSeries:
    """One defender's window and baseline."""

    window: deque[tuple[float, str, float, Event]] = field(default_factory=deque)
    last_seen: dict[str, float] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    weighted: float = 0.0
    baseline: float = 0.0
    bucket_start: float | None = None
    bucket_accounts: set[str] = field(default_factory=set)
    burst_started: float | None = None
    last_above: float = 0.0
    event_ids: set[str] = field(default_factory=set)

    def add(
        self, at: float, account: str, weight: float, event: Event, limits: BurstThresholds
    ) -> BurstReading | None:
        """Count one event; return a reading while a burst is on, None otherwise."""
        if event.id in self.event_ids:
            return None  # a redelivered event: already counted
        span = limits.window_minutes * 60.0
        self._roll_buckets(at, span, limits.baseline_alpha)
        self._expire(at - span)
        self.event_ids.add(event.id)
        self.window.append((at, account, weight, event))
        if account not in self.weights or weight > self.weights[account]:
            self.weighted += weight - self.weights.get(account, 0.0)
            self.weights[account] = weight
        self.last_seen[account] = at
        self.bucket_accounts.add(account)
        threshold = max(limits.min_accounts, limits.baseline_ratio * self.baseline)
        if self.weighted >= threshold:
            if self.burst_started is None:
                self.burst_started = self.window[0][0]
            self.last_above = at
        elif self.burst_started is not None and at - self.last_above > limits.quiet_minutes * 60:
            self.burst_started = None
        if self.burst_started is None:
            return None
        return BurstReading(
            accounts=len(self.weights),
            weighted=round(self.weighted, 2),
            baseline=round(self.baseline, 2),
            threshold=round(threshold, 2),
            started_at=self.burst_started,
        )

    def events(self) -> list[Event]:
        """Return the events in the window, oldest first."""
        return [item[3] for item in self.window]

    def _expire(self, cutoff: float) -> None:
        window = self.window
        while window and window[0][0] < cutoff:
            at, account, _weight, event = window.popleft()
            self.event_ids.discard(event.id)
            if self.last_seen.get(account) == at:
                del self.last_seen[account]
                self.weighted -= self.weights.pop(account, 0.0)
        if not window:
            self.weighted = 0.0  # no rounding drift once the window is empty

    def _roll_buckets(self, at: float, span: float, alpha: float) -> None:
        if self.bucket_start is None:
            self.bucket_start = at
            return
        if at < self.bucket_start + span:
            return
        elapsed = int((at - self.bucket_start) // span)
        if self.burst_started is not None:
            alpha *= BURST_LEARNING
        self.baseline = alpha * len(self.bucket_accounts) + (1 - alpha) * self.baseline
        self.baseline *= (1 - alpha) ** (elapsed - 1)  # the empty windows since
        self.bucket_start += elapsed * span
        self.bucket_accounts = set()

    def snapshot(self) -> dict[str, Any]:
        """Return this series as JSON values."""
        return {
            "window": [
                [at, account, weight, schema.to_dict(event)]
                for at, account, weight, event in self.window
            ],
            "baseline": self.baseline,
            "bucket_start": self.bucket_start,
            "bucket_accounts": sorted(self.bucket_accounts),
            "burst_started": self.burst_started,
            "last_above": self.last_above,
        }

    @classmethod
    def restore(cls, state: dict[str, Any]) -> BurstSeries:
        """Rebuild a series from `snapshot`'s output."""
        series = cls(
            baseline=float(state["baseline"]),
            bucket_start=state["bucket_start"],
            bucket_accounts=set(state["bucket_accounts"]),
            burst_started=state["burst_started"],
            last_above=float(state["last_above"]),
        )
        for at, account, weight, event in state["window"]:
            item = schema.convert(event)
            series.window.append((float(at), account, float(weight), item))
            series.event_ids.add(item.id)
            series.last_seen[account] = float(at)
            if weight > series.weights.get(account, 0.0):
                series.weighted += weight - series.weights.get(account, 0.0)
                series.weights[account] = weight
        return series
