"""Mass false reporting (silencing): a spike of reports against a defender from many accounts.

Reports are how attackers get a defender's posts or account taken down by the platform's own
automation. A burst of distinct reporters (see `burst`) far above the defender's usual raises an
alert that asks the platform, through its adapter, to hold automated takedowns of the defender's
content for human review (`hold_takedowns`). A takedown that happens during the spike shows the
silencing is working, and makes the alert critical.
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
from hrdshield.detection.schema import Event, Report


@dataclass(frozen=True)
class MassReportingThresholds(BurstThresholds):
    """Defaults: 8 distinct reporters in an hour and 5 times the usual (5 if high-risk)."""

    window_minutes: int = 60
    min_accounts: float = 8.0
    baseline_ratio: float = 5.0
    baseline_alpha: float = 0.05
    quiet_minutes: int = 120
    high_risk_min_accounts: float = 5.0
    young_account_days: float = 7.0
    young_account_weight: float = 1.5


DEFAULTS = MassReportingThresholds()


class MassReportingDetector:
    """Alert on report spikes against a defender, and ask for takedowns to be held."""

    kind: ClassVar[DetectorKind] = DetectorKind.MASS_REPORTING
    event_types: ClassVar[frozenset[EventType]] = frozenset(
        {EventType.REPORT, EventType.CONTENT_REMOVED}
    )
    scope: ClassVar[Scope] = Scope.TARGETED

    def __init__(self) -> None:
        self.series: dict[str, BurstSeries] = {}
        self.takedowns: dict[str, list[Event]] = {}  # removals seen during a defender's spike

    def process(self, batch: Sequence[Routed], context: DetectorContext) -> list[AlertDraft]:
        """Count reports per reported defender; note takedowns during a spike."""
        drafts: dict[str, AlertDraft] = {}
        for item in batch:
            for defender in item.targets:
                draft = self._one(item, defender, context)
                if draft is not None:
                    drafts[draft.dedup_key] = draft
        return list(drafts.values())

    def _one(
        self, item: Routed, defender: ProtectedDefender, context: DetectorContext
    ) -> AlertDraft | None:
        event = item.event
        series = self.series.setdefault(defender.defender_id, BurstSeries())
        if not isinstance(event, Report):
            if series.burst_started is None:
                return None
            removed = self.takedowns.setdefault(defender.defender_id, [])
            if all(seen.id != event.id for seen in removed):
                removed.append(event)
            current = _reading(series, context, defender)
            return _draft(defender, current, series, removed, _limits(context, defender))
        actor = event.actor
        if actor is None or context.index.defender_for(actor) is defender:
            return None
        limits = _limits(context, defender)
        age = context.accounts.age_days(actor, event.occurred_at)
        young = age is not None and age < limits.young_account_days
        weight = limits.young_account_weight if young else 1.0
        reading = series.add(event.occurred_at.timestamp(), actor.account_id, weight, event, limits)
        if reading is None:
            if series.burst_started is None:
                self.takedowns.pop(defender.defender_id, None)
            return None
        removed = self.takedowns.get(defender.defender_id, [])
        return _draft(defender, reading, series, removed, limits)

    def snapshot(self) -> dict[str, Any]:
        """Return each defender's window and baseline."""
        return {defender: series.snapshot() for defender, series in self.series.items()}

    def restore(self, state: dict[str, Any]) -> None:
        """Take back the windows and baselines of `snapshot`."""
        self.series = {defender: BurstSeries.restore(series) for defender, series in state.items()}


def _limits(context: DetectorContext, defender: ProtectedDefender) -> MassReportingThresholds:
    limits = context.thresholds.get(DetectorKind.MASS_REPORTING.value, DEFAULTS, defender.country)
    if defender.high_risk and limits.high_risk_min_accounts < limits.min_accounts:
        return replace(limits, min_accounts=limits.high_risk_min_accounts)
    return limits


def _reading(
    series: BurstSeries, context: DetectorContext, defender: ProtectedDefender
) -> BurstReading:
    limits = _limits(context, defender)
    started = series.burst_started if series.burst_started is not None else 0.0
    return BurstReading(
        accounts=len(series.weights),
        weighted=round(series.weighted, 2),
        baseline=round(series.baseline, 2),
        threshold=round(max(limits.min_accounts, limits.baseline_ratio * series.baseline), 2),
        started_at=started,
        crossed_at=series.crossed_at,
    )


def _draft(
    defender: ProtectedDefender,
    reading: BurstReading,
    series: BurstSeries,
    removed: list[Event],
    limits: MassReportingThresholds,
) -> AlertDraft:
    silenced = bool(removed)
    severity = AlertSeverity.CRITICAL if silenced else AlertSeverity.HIGH
    summary = (
        f"{reading.accounts} accounts reported {defender.pseudonym} within"
        f" {limits.window_minutes} minutes (usual: {reading.baseline:g})"
    )
    if silenced:
        summary += f"; {len(removed)} of the defender's posts were taken down during the spike"
    return AlertDraft(
        detector=DetectorKind.MASS_REPORTING,
        rule="takedown_during_report_spike" if silenced else "distinct_reporters_over_baseline",
        dedup_key=f"mass_reporting:{defender.defender_id}:{int(reading.started_at)}",
        severity=severity,
        score=round(min(1.0, reading.weighted / (2 * reading.threshold)), 3),
        summary=summary,
        explanation={
            "rule": "distinct_reporters_over_baseline",
            "reporters": reading.accounts,
            "weighted_reporters": reading.weighted,
            "baseline_reporters": reading.baseline,
            "threshold": reading.threshold,
            "window_minutes": limits.window_minutes,
            "takedowns_during_spike": len(removed),
            "thresholds": {
                "min_accounts": limits.min_accounts,
                "baseline_ratio": limits.baseline_ratio,
            },
        },
        events=[*series.events(), *removed],
        defender_id=defender.defender_id,
        triggered_at=datetime.fromtimestamp(reading.crossed_at, UTC),
        actions=("hold_takedowns",),
    )
