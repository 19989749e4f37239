"""Internet shutdowns: a sudden drop in a region's traffic where defenders are enrolled.

Governments cut the network around elections and protests, when defenders most need to be
heard; a platform sees it first as requests from a region falling away. The platform sends a
``traffic_count`` per region and interval; per platform and region this detector keeps a
multiplicative seasonal baseline (Holt-Winters without trend): a level (an EWMA of the
deseasonalised counts) times the usual share of the hour, learnt per hour of the week once two
weeks are seen, per hour of the day after two days, and no share before that (then only a
near-total drop counts, so the first nights are not taken for shutdowns). An episode starts when
the count stays below a fraction of the expected for consecutive intervals in a region where
defenders are enrolled, and ends when traffic recovers; it is one alert, updated while it lasts
with the lowest ratio seen. Intervals inside a drop never teach the level, so a shutdown is
not learnt as the new normal; the hourly shares learn every interval at their slow rate, so a
low that recurs every week (a quiet Sunday) becomes usual after two weeks while a one-off cut
barely moves them. Regions whose expected count is tiny are noise and
are not judged. A count at or before the last one seen for its region is a redelivery or late,
and changes nothing.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hrdshield.detection import schema
from hrdshield.detection.enums import AlertSeverity, DetectorKind, EventType
from hrdshield.detection.index import DefenderIndex
from hrdshield.detection.pipeline import MAX_EVIDENCE, AlertDraft, DetectorContext, Routed, Scope
from hrdshield.detection.schema import TrafficCount

MAX_SERIES = 4096  # platform and region pairs, least recently counted forgotten first
DAY_SLOTS, WEEK_SLOTS = 24, 168


@dataclass(frozen=True)
class ShutdownThresholds:
    """Defaults: below 40 % of the expected for 2 intervals; critical below 10 %."""

    drop_ratio: float = 0.4
    critical_ratio: float = 0.1  # near-total: critical; also the drop ratio before seasonality
    recovery_ratio: float = 0.7  # an episode ends once the count is back above this
    consecutive: int = 2
    min_expected: float = 50.0  # requests per interval below which a region is noise
    min_intervals: int = 12  # intervals learnt before the level alone is trusted
    level_alpha: float = 0.1
    season_alpha: float = 0.2
    min_season_days: int = 2  # distinct days an hour-of-day share needs to be trusted
    min_season_weeks: int = 2  # distinct weeks an hour-of-week share needs


DEFAULTS = ShutdownThresholds()


@dataclass
class Share:
    """The usual share of one hour slot (count over level), and how many periods taught it."""

    value: float
    periods: int
    last_period: int

    def learn(self, observed: float, period: int, alpha: float) -> None:
        """Move the share towards `observed`; count `period` if it is a new one."""
        self.value = alpha * observed + (1 - alpha) * self.value
        if period != self.last_period:
            self.periods += 1
            self.last_period = period


@dataclass
class Episode:
    """A drop in progress: when it began, its lowest ratio, the intervals it holds."""

    started_at: float
    lowest_ratio: float
    intervals: int = 0
    events: deque[TrafficCount] = field(default_factory=lambda: deque(maxlen=MAX_EVIDENCE))


@dataclass
class Expectation:
    """What a region's count should be now, and from which baseline."""

    count: float
    basis: str  # hour_of_week, hour_of_day or level
    drop_ratio: float


@dataclass
class TrafficSeries:
    """One platform's traffic from one region: level, hourly shares, the drop in progress."""

    level: float = 0.0
    intervals: int = 0
    daily: dict[int, Share] = field(default_factory=dict)
    weekly: dict[int, Share] = field(default_factory=dict)
    last_at: float | None = None
    lows: list[TrafficCount] = field(default_factory=list)  # consecutive low intervals
    episode: Episode | None = None

    def expect(self, event: TrafficCount, limits: ShutdownThresholds) -> Expectation | None:
        """Return the count expected for `event`'s interval, or None while still learning."""
        at = event.occurred_at
        weekly = self.weekly.get(at.weekday() * 24 + at.hour)
        if weekly is not None and weekly.periods >= limits.min_season_weeks:
            return Expectation(self.level * weekly.value, "hour_of_week", limits.drop_ratio)
        daily = self.daily.get(at.hour)
        if daily is not None and daily.periods >= limits.min_season_days:
            return Expectation(self.level * daily.value, "hour_of_day", limits.drop_ratio)
        if self.intervals >= limits.min_intervals:
            return Expectation(self.level, "level", min(limits.drop_ratio, limits.critical_ratio))
        return None

    def learn(self, event: TrafficCount, limits: ShutdownThresholds, *, level: bool) -> None:
        """Teach the hourly shares one interval, and the level too if it was an ordinary one."""
        at, count = event.occurred_at, float(event.count)
        day = int(at.timestamp() // 86_400)
        week, day_slot, week_slot = (day + 3) // 7, at.hour, at.weekday() * 24 + at.hour
        previous = self.level
        if level:
            share = self._share(week_slot, day_slot, limits)
            if self.intervals == 0:
                self.level = count
            else:
                self.level = (
                    limits.level_alpha * count / share + (1 - limits.level_alpha) * previous
                )
            self.intervals += 1
        if previous <= 0:
            return
        observed = count / previous
        for table, slot, period in ((self.daily, day_slot, day), (self.weekly, week_slot, week)):
            found = table.get(slot)
            if found is None:
                table[slot] = Share(observed, 1, period)
            else:
                found.learn(observed, period, limits.season_alpha)

    def _share(self, week_slot: int, day_slot: int, limits: ShutdownThresholds) -> float:
        weekly, daily = self.weekly.get(week_slot), self.daily.get(day_slot)
        if weekly is not None and weekly.periods >= limits.min_season_weeks and weekly.value > 0:
            return weekly.value
        if daily is not None and daily.periods >= limits.min_season_days and daily.value > 0:
            return daily.value
        return 1.0

    def snapshot(self) -> dict[str, Any]:
        """Return this series as JSON values."""
        episode = self.episode
        return {
            "level": self.level,
            "intervals": self.intervals,
            "daily": {str(k): [s.value, s.periods, s.last_period] for k, s in self.daily.items()},
            "weekly": {str(k): [s.value, s.periods, s.last_period] for k, s in self.weekly.items()},
            "last_at": self.last_at,
            "lows": [schema.to_dict(event) for event in self.lows],
            "episode": None
            if episode is None
            else {
                "started_at": episode.started_at,
                "lowest_ratio": episode.lowest_ratio,
                "intervals": episode.intervals,
                "events": [schema.to_dict(event) for event in episode.events],
            },
        }

    @classmethod
    def restore(cls, state: dict[str, Any]) -> TrafficSeries:
        """Rebuild a series from `snapshot`'s output."""
        series = cls(
            level=float(state["level"]),
            intervals=int(state["intervals"]),
            daily={
                int(k): Share(float(v), int(p), int(t)) for k, (v, p, t) in state["daily"].items()
            },
            weekly={
                int(k): Share(float(v), int(p), int(t)) for k, (v, p, t) in state["weekly"].items()
            },
            last_at=state["last_at"],
            lows=[_traffic(event) for event in state["lows"]],
        )
        if state["episode"] is not None:
            saved = state["episode"]
            series.episode = Episode(
                started_at=float(saved["started_at"]),
                lowest_ratio=float(saved["lowest_ratio"]),
                intervals=int(saved["intervals"]),
            )
            series.episode.events.extend(_traffic(event) for event in saved["events"])
        return series


def _traffic(value: dict[str, Any]) -> TrafficCount:
    event = schema.convert(value)
    if not isinstance(event, TrafficCount):
        raise TypeError("a shutdown snapshot holds only traffic counts")
    return event


class ShutdownDetector:
    """Alert when traffic from a region where defenders are enrolled falls away suddenly."""

    kind: ClassVar[DetectorKind] = DetectorKind.SHUTDOWN
    event_types: ClassVar[frozenset[EventType]] = frozenset({EventType.TRAFFIC_COUNT})
    scope: ClassVar[Scope] = Scope.EVERYONE

    def __init__(self) -> None:
        self.series: OrderedDict[str, TrafficSeries] = OrderedDict()
        self._index: DefenderIndex | None = None
        self._enrolled: frozenset[str] = frozenset()
        self._index_size = -1

    def process(self, batch: Sequence[Routed], context: DetectorContext) -> list[AlertDraft]:
        """Count each region's interval against its baseline; one draft per episode and batch."""
        drafts: dict[str, AlertDraft] = {}
        for item in batch:
            event = item.event
            if not isinstance(event, TrafficCount):
                continue
            key = f"{event.platform}:{event.region}"
            series = self.series.get(key)
            if series is None:
                series = self.series[key] = TrafficSeries()
                if len(self.series) > MAX_SERIES:
                    self.series.popitem(last=False)
            else:
                self.series.move_to_end(key)
            at = event.occurred_at.timestamp()
            if series.last_at is not None and at <= series.last_at:
                continue  # redelivered or late: the interval was judged already
            series.last_at = at
            draft = self._judge(series, event, context)
            if draft is not None:
                drafts[draft.dedup_key] = draft
        return list(drafts.values())

    def _judge(
        self, series: TrafficSeries, event: TrafficCount, context: DetectorContext
    ) -> AlertDraft | None:
        limits = context.thresholds.get(self.kind.value, DEFAULTS, event.region)
        expected = series.expect(event, limits)
        if expected is None or expected.count < limits.min_expected:
            series.lows.clear()
            series.episode = None
            series.learn(event, limits, level=True)
            return None
        ratio = event.count / expected.count
        episode = series.episode
        if ratio < expected.drop_ratio:
            series.lows.append(event)
            if episode is None and len(series.lows) >= limits.consecutive:
                episode = series.episode = Episode(series.lows[0].occurred_at.timestamp(), ratio)
                for low in series.lows[:-1]:
                    episode.events.append(low)
                    episode.intervals += 1
        elif episode is not None and ratio < limits.recovery_ratio:
            pass  # recovering but not yet recovered: still the same episode
        else:
            series.lows.clear()
            series.episode = None
            series.learn(event, limits, level=True)
            return None
        series.learn(event, limits, level=False)  # shares learn slowly; the level never a drop
        if episode is None:
            return None
        episode.events.append(event)
        episode.intervals += 1
        episode.lowest_ratio = min(episode.lowest_ratio, ratio)
        if event.region not in self._enrolled_in(context.index):
            return None
        return _draft(
            event, episode, expected=expected, ratio=ratio, index=context.index, limits=limits
        )

    def _enrolled_in(self, index: DefenderIndex) -> frozenset[str]:
        """Return the countries with defenders, once per index (indexes are rebuilt, not edited)."""
        if index is not self._index or len(index.defenders) != self._index_size:
            self._index, self._index_size = index, len(index.defenders)
            self._enrolled = index.countries()
        return self._enrolled

    def snapshot(self) -> dict[str, Any]:
        """Return each region's baseline and drop in progress."""
        return {key: series.snapshot() for key, series in self.series.items()}

    def restore(self, state: dict[str, Any]) -> None:
        """Take back the baselines of `snapshot`."""
        self.series = OrderedDict(
            (key, TrafficSeries.restore(series)) for key, series in state.items()
        )


def _draft(
    event: TrafficCount,
    episode: Episode,
    *,
    expected: Expectation,
    ratio: float,
    index: DefenderIndex,
    limits: ShutdownThresholds,
) -> AlertDraft:
    enrolled = len(index.in_country(event.region))
    critical = episode.lowest_ratio < limits.critical_ratio
    percent = round(100 * episode.lowest_ratio)
    return AlertDraft(
        detector=DetectorKind.SHUTDOWN,
        rule="traffic_drop",
        dedup_key=f"shutdown:{event.platform}:{event.region}:{int(episode.started_at)}",
        severity=AlertSeverity.CRITICAL if critical else AlertSeverity.HIGH,
        score=round(min(1.0, max(0.0, 1 - episode.lowest_ratio)), 3),
        summary=(
            f"Traffic from {event.region} on {event.platform} fell to {percent}% of the usual"
            f" over {episode.intervals} intervals; {enrolled} defenders are enrolled there"
        ),
        explanation={
            "rule": "traffic_drop",
            "region": event.region,
            "platform": event.platform,
            "count": event.count,
            "expected": round(expected.count, 1),
            "ratio": round(ratio, 3),
            "lowest_ratio": round(episode.lowest_ratio, 3),
            "low_intervals": episode.intervals,
            "baseline": expected.basis,
            "enrolled_defenders": enrolled,
            "thresholds": {
                "drop_ratio": expected.drop_ratio,
                "critical_ratio": limits.critical_ratio,
                "recovery_ratio": limits.recovery_ratio,
                "consecutive": limits.consecutive,
                "min_expected": limits.min_expected,
            },
        },
        events=list(episode.events),
        region=event.region,
    )
