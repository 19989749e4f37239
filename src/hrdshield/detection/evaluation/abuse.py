"""Precision and recall of the targeted-abuse detector per language, on the held-out set.

The set (`data/abuse_eval.jsonl`, see its README) was written apart from the lexicons and the
training data and is never used to tune either, so these figures say how the detector does on
text it was not shaped around. The decision measured is the detector's own (`targeted_abuse`
`is_abusive`: the lexicon's score, or the classifier alone when it is sure), with its default
thresholds and the shipped (or the operator's) model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from hrdshield.detection.detectors.targeted_abuse import is_abusive, shipped_scorer

if TYPE_CHECKING:
    from hrdshield.detection.text.scorer import AbuseScorer

HELD_OUT = "abuse_eval.jsonl"


@dataclass
class LanguageScore:
    """Confusion counts of one language."""

    lang: str
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    true_negatives: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return the counts with precision, recall and F1 as JSON values."""
        found = self.true_positives + self.false_positives
        actual = self.true_positives + self.false_negatives
        precision = self.true_positives / found if found else None
        recall = self.true_positives / actual if actual else None
        f1 = (
            2 * precision * recall / (precision + recall)
            if precision and recall
            else (0.0 if found or actual else None)
        )
        return {
            "lang": self.lang,
            "lines": found + self.false_negatives + self.true_negatives,
            "precision": None if precision is None else round(precision, 3),
            "recall": None if recall is None else round(recall, 3),
            "f1": None if f1 is None else round(f1, 3),
            "true_positives": self.true_positives,
            "false_positives": self.false_positives,
        }


def held_out_lines() -> list[dict[str, Any]]:
    """Return the lines of the shipped held-out set."""
    text = files("hrdshield.detection.evaluation").joinpath("data", HELD_OUT).read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def evaluate_abuse(
    lines: Iterable[dict[str, Any]] | None = None,
    scorer: Callable[[], AbuseScorer] | None = None,
) -> list[LanguageScore]:
    """Score every line with the detector's decision; return the counts per language."""
    rows = list(lines if lines is not None else held_out_lines())
    assessments = (scorer or shipped_scorer())().score_batch([row["text"] for row in rows])
    scores: dict[str, LanguageScore] = {}
    for row, assessment in zip(rows, assessments, strict=True):
        score = scores.setdefault(row["lang"], LanguageScore(row["lang"]))
        flagged, abusive = is_abusive(assessment), bool(row["label"])
        if flagged and abusive:
            score.true_positives += 1
        elif flagged:
            score.false_positives += 1
        elif abusive:
            score.false_negatives += 1
        else:
            score.true_negatives += 1
    return [scores[lang] for lang in sorted(scores)]
