"""Pile-on (brigading): a burst of distinct accounts replying to or mentioning one defender.

Counts distinct accounts in a sliding window against the defender's own baseline (see `burst`).
An account counts more when it is young (made days ago: throwaways are the tool of brigades) or
already known for abuse in this stream. High-risk defenders get a lower floor. The alert names
the window, the counts and the thresholds, and asks for a temporary shield (filter replies and
mentions from new or unconnected accounts) where the defender opted in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from hrdshield.detection.detectors.burst import BurstReading, BurstSeries, BurstThresholds
from hrdshield.detection.enums import AlertSeverity, DetectorKind, EventType
from hrdshield.detection.index import ProtectedDefender
from hrdshield.detection.pipeline import AlertDraft, DetectorContext, Routed, Scope


@dataclass(frozen=True)
class PileOnThresholds(BurstThresholds):
    """Defaults: 10 weighted accounts in 15 minutes and 4 times the usual (6 if high-risk)."""

    window_minutes: int = 15
    min_accounts: float = 10.0
    baseline_ratio: float = 4.0
    baseline_alpha: float = 0.1
    quiet_minutes: int = 30
    high_risk_min_accounts: float = 6.0
    young_account_days: float = 7.0
    young_account_weight: float = 1.5
    abusive_account_weight: float = 1.5
    critical_ratio: float = 3.0  # weighted count at 3 times the threshold is critical


DEFAULTS = PileOnThresholds()


class PileOnDetector:
    """Alert when many distinct accounts turn on one defender at once."""

    kind: ClassVar[DetectorKind] = DetectorKind.PILE_ON
    event_types: ClassVar[frozenset[EventType]] = frozenset(
        {EventType.REPLY, EventType.MENTION, EventType.DIRECT_MESSAGE}
    )
    scope: ClassVar[Scope] = Scope.TARGETED

    def __init__(self) -> None:
        self.series: dict[str, BurstSeries] = {}

    def process(self, batch: Sequence[Routed], context: DetectorContext) -> list[AlertDraft]:
        """Count each event against every defender it targets; one draft per burst and batch."""
        drafts: dict[str, AlertDraft] = {}
        for item in batch:
            event, actor = item.event, item.event.actor
            if actor is None:
                continue
            at = event.occurred_at.timestamp()
            for defender in item.targets:
                if context.index.defender_for(actor) is defender:
                    continue  # the defender answering in their own thread
                limits = self._limits(context, defender)
                weight = self._weight(context, item, limits)
                series = self.series.setdefault(defender.defender_id, BurstSeries())
                reading = series.add(at, actor.account_id, weight, event, limits)
                if reading is not None:
                    draft = _draft(defender, reading, series, limits)
                    drafts[draft.dedup_key] = draft
        return list(drafts.values())

    def _limits(self, context: DetectorContext, defender: ProtectedDefender) -> PileOnThresholds:
        limits = context.thresholds.get(self.kind.value, DEFAULTS, defender.country)
        if defender.high_risk and limits.high_risk_min_accounts < limits.min_accounts:
            return replace(limits, min_accounts=limits.high_risk_min_accounts)
        return limits

    @staticmethod
    def _weight(context: DetectorContext, item: Routed, limits: PileOnThresholds) -> float:
        actor = item.event.actor
        assert actor is not None  # noqa: S101  (checked by the caller)
        weight = 1.0
        age = context.accounts.age_days(actor, item.event.occurred_at)
        if age is not None and age < limits.young_account_days:
            weight *= limits.young_account_weight
        if context.accounts.abuse_count(actor.account_id):
            weight *= limits.abusive_account_weight
        return weight

    def snapshot(self) -> dict[str, Any]:
        """Return each defender's window and baseline."""
        return {defender: series.snapshot() for defender, series in self.series.items()}

    def restore(self, state: dict[str, Any]) -> None:
        """Take back the windows and baselines of `snapshot`."""
        self.series = {defender: BurstSeries.restore(series) for defender, series in state.items()}


def _draft(
    defender: ProtectedDefender,
    reading: BurstReading,
    series: BurstSeries,
    limits: PileOnThresholds,
) -> AlertDraft:
    critical = reading.weighted >= limits.critical_ratio * reading.threshold
    severity = AlertSeverity.CRITICAL if critical else AlertSeverity.HIGH
    if not critical and not defender.high_risk and reading.accounts < 2 * limits.min_accounts:
        severity = AlertSeverity.MEDIUM
    return AlertDraft(
        detector=DetectorKind.PILE_ON,
        rule="distinct_accounts_over_baseline",
        dedup_key=f"pile_on:{defender.defender_id}:{int(reading.started_at)}",
        severity=severity,
        score=round(min(1.0, reading.weighted / (2 * reading.threshold)), 3),
        summary=(
            f"{reading.accounts} accounts replied to, mentioned or messaged {defender.pseudonym}"
            f" within {limits.window_minutes} minutes (usual: {reading.baseline:g})"
        ),
        explanation={
            "rule": "distinct_accounts_over_baseline",
            "accounts": reading.accounts,
            "weighted_accounts": reading.weighted,
            "baseline_accounts": reading.baseline,
            "threshold": reading.threshold,
            "window_minutes": limits.window_minutes,
            "thresholds": {
                "min_accounts": limits.min_accounts,
                "baseline_ratio": limits.baseline_ratio,
                "young_account_days": limits.young_account_days,
            },
        },
        events=series.events(),
        defender_id=defender.defender_id,
        triggered_at=datetime.fromtimestamp(reading.crossed_at, UTC),
        actions=("shield",),
    )
