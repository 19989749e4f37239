"""Targeted abuse and threats: texts aimed at a defender that threaten, incite, sexualise,
dehumanise or harass, in six languages.

The text layer (`detection.text`) does the reading: normalisation that undoes evasions, the
reviewed lexicon, and the linear classifier, always in one micro-batched call per pipeline batch.
This detector decides what is worth a reviewer's time. A lexicon rule carries an alert on its
own; the classifier alone must be surer (its quality varies by language, docs/abuse-model.md),
so a text it alone flags needs a higher score. Texts against one defender of one kind within a
few hours are one alert that grows, not one alert per reply: a pile-on of threats is one thing
to read, with its evidence. Threats, doxxing threats and incitement are critical.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from hrdshield.detection.enums import AlertSeverity, DetectorKind, EventType
from hrdshield.detection.index import ProtectedDefender
from hrdshield.detection.pipeline import AlertDraft, DetectorContext, Routed, Scope
from hrdshield.detection.schema import TEXT_EVENTS, TextEvent

if TYPE_CHECKING:
    from hrdshield.detection.text.scorer import AbuseScorer, Assessment

SEEN_EVENTS = 200_000
_CRITICAL = frozenset({"threat", "doxxing", "incitement"})
_HIGH = frozenset({"sexual", "dehumanisation"})


@dataclass(frozen=True)
class TargetedAbuseThresholds:
    """When a text is abuse worth an alert, and how long one alert keeps growing."""

    min_score: float = 0.5  # the lexicon's score (after its discount for reported speech)
    classifier_only_score: float = 0.85  # with the classifier alone
    high_risk_min_score: float = 0.4
    window_hours: int = 6  # texts of one kind against one defender within this make one alert


DEFAULTS = TargetedAbuseThresholds()


class TargetedAbuseDetector:
    """Alert on abusive and threatening texts aimed at a protected defender."""

    kind: ClassVar[DetectorKind] = DetectorKind.TARGETED_ABUSE
    event_types: ClassVar[frozenset[EventType]] = frozenset(
        {EventType.REPLY, EventType.MENTION, EventType.DIRECT_MESSAGE, EventType.POST}
    )
    scope: ClassVar[Scope] = Scope.TARGETED

    def __init__(self, scorer: Callable[[], AbuseScorer]) -> None:
        self.scorer = scorer
        self.seen: OrderedDict[str, None] = OrderedDict()

    def process(self, batch: Sequence[Routed], context: DetectorContext) -> list[AlertDraft]:
        """Score the batch's texts in one call; extend one alert per defender, kind and window."""
        fresh = [
            item
            for item in batch
            if isinstance(item.event, TEXT_EVENTS) and item.event.id not in self.seen
        ]
        if not fresh:
            return []
        texts = [item.event.content.text for item in fresh]  # type: ignore[union-attr]
        # The platform's language tag is often a guess about the account, not the text: the
        # text layer identifies each text's language itself (and reads every lexicon if unsure).
        assessments = self.scorer().score_batch(texts)
        drafts: dict[str, AlertDraft] = {}
        abusers: list[str] = []
        for item, assessment in zip(fresh, assessments, strict=True):
            event: TextEvent = item.event  # type: ignore[assignment]
            for defender in item.targets:
                if event.actor is None or context.index.defender_for(event.actor) is defender:
                    continue  # the defender's own words in their own thread
                limits = _limits(context, defender)
                if not is_abusive(assessment, limits):
                    continue
                abusers.append(event.actor.account_id)
                _extend(drafts, event, defender, assessment, limits)
        for item in fresh:  # only once the whole batch is read (a failed batch is read again)
            self.seen[item.event.id] = None
            if len(self.seen) > SEEN_EVENTS:
                self.seen.popitem(last=False)
        for account_id in abusers:
            context.accounts.flag(account_id)
        return list(drafts.values())

    def snapshot(self) -> dict[str, Any]:
        """Return the ids of the texts already read."""
        return {"seen": list(self.seen)}

    def restore(self, state: dict[str, Any]) -> None:
        """Take back the ids of `snapshot`."""
        self.seen = OrderedDict.fromkeys(state.get("seen", []))


def shipped_scorer(model: Path | None = None) -> Callable[[], AbuseScorer]:
    """Return a provider loading the abuse scorer on first use (numpy and the model are big)."""
    loaded: list[AbuseScorer] = []

    def provide() -> AbuseScorer:
        if not loaded:
            from hrdshield.detection.text.scorer import AbuseScorer  # noqa: PLC0415

            loaded.append(AbuseScorer.from_model_directory(model))
        return loaded[0]

    return provide


def _limits(context: DetectorContext, defender: ProtectedDefender) -> TargetedAbuseThresholds:
    limits = context.thresholds.get(DetectorKind.TARGETED_ABUSE.value, DEFAULTS, defender.country)
    if defender.high_risk and limits.high_risk_min_score < limits.min_score:
        return replace(limits, min_score=limits.high_risk_min_score)
    return limits


def is_abusive(assessment: Assessment, limits: TargetedAbuseThresholds = DEFAULTS) -> bool:
    """Return whether the detector takes an assessed text for abuse worth an alert."""
    # The lexicon's own score already carries its discount for reported or condemned speech;
    # the classifier, weaker, must be sure on its own.
    return (
        assessment.lexicon_score >= limits.min_score
        or assessment.classifier_score >= limits.classifier_only_score
    )


def _kind(assessment: Assessment) -> str:
    return assessment.category.value if assessment.category else "abuse"


def _severity(kind: str) -> AlertSeverity:
    if kind in _CRITICAL:
        return AlertSeverity.CRITICAL
    return AlertSeverity.HIGH if kind in _HIGH else AlertSeverity.MEDIUM


def _extend(
    drafts: dict[str, AlertDraft],
    event: TextEvent,
    defender: ProtectedDefender,
    assessment: Assessment,
    limits: TargetedAbuseThresholds,
) -> None:
    kind = _kind(assessment)
    window = int(event.occurred_at.timestamp() // (limits.window_hours * 3600))
    key = f"targeted_abuse:{defender.defender_id}:{kind}:{window}"
    text = {
        "event_id": event.id,
        "score": round(assessment.score, 3),
        "classifier_score": round(assessment.classifier_score, 3),
        "language": assessment.language,
        "rules": [hit.rule_id for hit in assessment.hits],
        "evasions": [evasion.value for evasion in assessment.evasions],
        "contexts": list(assessment.contexts),
        "why": assessment.explanation,
    }
    previous = drafts.get(key)
    texts = [*(previous.explanation["texts"] if previous else []), text][-20:]
    events = [*(previous.events if previous else []), event]
    score = max(assessment.score, previous.score if previous else 0.0)
    drafts[key] = AlertDraft(
        detector=DetectorKind.TARGETED_ABUSE,
        rule=kind,
        dedup_key=key,
        severity=_severity(kind),
        score=round(score, 3),
        summary=(
            f"{len(events)} {kind} text(s) aimed at {defender.pseudonym}"
            if previous
            else f"A {kind} text aimed at {defender.pseudonym}"
        ),
        explanation={
            "rule": kind,
            "texts": texts,
            "thresholds": {
                "min_score": limits.min_score,
                "classifier_only_score": limits.classifier_only_score,
            },
        },
        events=events,
        defender_id=defender.defender_id,
        triggered_at=events[0].occurred_at,
    )
