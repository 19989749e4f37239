"""Score the pipeline on a scenario: precision, recall and time-to-detect per detector.

An alert is a true positive when it rests on events of an attack of its own kind, a false
positive when it rests only on benign events, and a cross-detection when it rests on another
kind's attack (a smear by thirty accounts is a pile-on too): those are shown apart and count
neither way. An attack is detected when an alert of its kind rests on one of its events; its
time to detect runs from the attack's first event to the latest event of the first such alert
when it was raised, which is how long the stream had to run before the alert could exist.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hrdshield.detection.detectors import default_detectors
from hrdshield.detection.enums import DetectorKind
from hrdshield.detection.evaluation.scenarios import Attack, Scenario
from hrdshield.detection.pipeline import AlertDraft, Detector, Pipeline
from hrdshield.exchange.enums import IndicatorType
from hrdshield.exchange.matcher import IndicatorMatcher

BATCH = 200  # about five minutes of the default stream


@dataclass
class DetectorScore:
    """How one detector did on the scenario."""

    detector: DetectorKind
    attacks: int = 0
    detected: int = 0
    true_alerts: int = 0
    false_alerts: int = 0
    cross_alerts: int = 0
    seconds_to_detect: list[float] = field(default_factory=list)

    @property
    def recall(self) -> float | None:
        """Return the share of attacks found, None when there were none."""
        return self.detected / self.attacks if self.attacks else None

    @property
    def precision(self) -> float | None:
        """Return the share of alerts that rest on attacks, None when there were none."""
        judged = self.true_alerts + self.false_alerts
        return self.true_alerts / judged if judged else None

    def as_dict(self) -> dict[str, Any]:
        """Return the figures as JSON values."""
        times = sorted(self.seconds_to_detect)
        return {
            "detector": self.detector.value,
            "attacks": self.attacks,
            "detected": self.detected,
            "recall": _round(self.recall),
            "alerts": self.true_alerts + self.false_alerts + self.cross_alerts,
            "true_alerts": self.true_alerts,
            "false_alerts": self.false_alerts,
            "cross_alerts": self.cross_alerts,
            "precision": _round(self.precision),
            "median_seconds_to_detect": _round(statistics.median(times)) if times else None,
            "max_seconds_to_detect": _round(times[-1]) if times else None,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


@dataclass
class Evaluation:
    """The scores of every detector, with how fast the stream went through."""

    scores: list[DetectorScore]
    events: int
    seconds: float
    missed: list[Attack]

    def as_dict(self) -> dict[str, Any]:
        """Return the evaluation as one JSON object."""
        return {
            "events": self.events,
            "seconds": round(self.seconds, 3),
            "events_per_second": round(self.events / self.seconds) if self.seconds else None,
            "detectors": [score.as_dict() for score in self.scores],
            "missed": [
                {"detector": a.kind.value, "intensity": a.intensity, "variant": a.variant}
                for a in self.missed
            ],
        }


@dataclass
class _Raised:
    draft: AlertDraft
    raised_at: datetime
    event_ids: set[str] = field(default_factory=set)


def evaluate(
    scenario: Scenario,
    detectors: Sequence[Detector] | None = None,
    batch: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> Evaluation:
    """Run the pipeline over the scenario in batches and score every detector."""
    index = scenario.index()
    matcher = IndicatorMatcher(
        (f"eval-indicator-{number}", IndicatorType.DOMAIN, domain)
        for number, domain in enumerate(scenario.indicators)
    )
    pipeline = Pipeline(
        detectors=(
            list(detectors)
            if detectors is not None
            else default_detectors(indicators=lambda: matcher)
        ),
        index=lambda: index,
    )
    raised: dict[str, _Raised] = {}
    started = time.perf_counter()
    events = scenario.events
    for start in range(0, len(events), batch):
        for draft in pipeline.process(events[start : start + batch]).alerts:
            ids = {event.id for event in draft.events}
            seen = raised.get(draft.dedup_key)
            if seen is None:
                latest = draft.triggered_at or max(event.occurred_at for event in draft.events)
                raised[draft.dedup_key] = _Raised(draft, latest, ids)
            else:
                seen.event_ids |= ids
        if progress is not None:
            progress(min(batch, len(events) - start))
    seconds = time.perf_counter() - started
    kinds = [detector.kind for detector in pipeline.detectors]
    scores, missed = _score(scenario.attacks, list(raised.values()), kinds)
    return Evaluation(scores=scores, events=len(events), seconds=seconds, missed=missed)


def _score(
    attacks: list[Attack], raised: list[_Raised], kinds: list[DetectorKind]
) -> tuple[list[DetectorScore], list[Attack]]:
    owner: dict[str, list[Attack]] = {}
    for attack in attacks:
        for event_id in attack.event_ids:
            owner.setdefault(event_id, []).append(attack)
    scores = {kind: DetectorScore(kind) for kind in kinds}
    first: dict[int, float] = {}
    for alert in raised:
        kind = alert.draft.detector
        touched = [a for event_id in alert.event_ids for a in owner.get(event_id, [])]
        own = {id(a): a for a in touched if a.kind is kind}
        if own:
            scores[kind].true_alerts += 1
            for attack in own.values():
                elapsed = (alert.raised_at - attack.start).total_seconds()
                first[id(attack)] = min(first.get(id(attack), elapsed), elapsed)
        elif touched:
            scores[kind].cross_alerts += 1
        else:
            scores[kind].false_alerts += 1
    missed = []
    for attack in attacks:
        if attack.kind not in scores:
            continue
        score = scores[attack.kind]
        score.attacks += 1
        if id(attack) in first:
            score.detected += 1
            score.seconds_to_detect.append(max(first[id(attack)], 0.0))
        else:
            missed.append(attack)
    return list(scores.values()), missed
