"""Operator-side training of the linear model on labelled JSON lines.

No permissively licensed multilingual abuse corpus exists, so the model that ships is small (see
docs/abuse-model.md). Operators who are entitled to use better data (research datasets under
their terms, their own moderation decisions) train a stronger model here and point
``HRDSHIELD_ABUSE_MODEL`` at it. Training never sends data anywhere and writes no pickle.

Quality is measured by stratified k-fold cross-validation (by language and label) before the
final fit on all rows, and reported per language: one overall figure would hide a language the
model cannot read. The report goes into ``model.json`` so the figures travel with the model.

Input lines: ``{"lang": "fr", "text": "...", "label": 0 or 1}``, optionally ``source`` and
``license``; ``licenses`` restricts training to rows whose licence is listed, so that a model
meant for redistribution cannot take in rows it may not.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from hrdshield import clock
from hrdshield.detection.text.classifier import LinearModel
from hrdshield.detection.text.enums import LANGUAGES
from hrdshield.detection.text.features import feature_matrix
from hrdshield.detection.text.normalise import normalise

DEFAULT_BITS = 20
DEFAULT_C = 4.0
DEFAULT_FOLDS = 5
MAX_TEXT_CHARS = 20_000
_CHUNK = 1024


class TrainingDataError(ValueError):
    """Labelled data that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class LabelledText:
    """One training example."""

    lang: str | None
    text: str
    label: int
    source: str
    license: str


@dataclass(frozen=True)
class Quality:
    """Precision, recall and F1 of one language (or all) at the model's threshold."""

    precision: float
    recall: float
    f1: float
    support: int
    positives: int

    def as_dict(self) -> dict[str, float | int]:
        """Return the figures rounded for model.json and reports."""
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "support": self.support,
            "positives": self.positives,
        }


def quality(labels: Sequence[int], predicted: Sequence[bool]) -> Quality:
    """Compute precision, recall and F1 of binary predictions (0 where undefined)."""
    true_positives = sum(
        1 for label, guess in zip(labels, predicted, strict=True) if label and guess
    )
    predicted_positives = sum(1 for guess in predicted if guess)
    positives = sum(1 for label in labels if label)
    precision = true_positives / predicted_positives if predicted_positives else 0.0
    recall = true_positives / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Quality(precision, recall, f1, len(labels), positives)


def per_language(
    rows: Sequence[LabelledText], scores: Sequence[float], threshold: float = 0.5
) -> dict[str, Quality]:
    """Return quality per language present in the rows, and "all" over every row."""
    by_language: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        by_language.setdefault(row.lang or "und", []).append(index)
    report = {
        lang: quality([rows[i].label for i in indexes], [scores[i] >= threshold for i in indexes])
        for lang, indexes in sorted(by_language.items())
    }
    report["all"] = quality([row.label for row in rows], [score >= threshold for score in scores])
    return report


def _row(value: Any, where: str) -> LabelledText:
    if not isinstance(value, dict):
        raise TrainingDataError(f"{where}: expected a JSON object")
    text, label, lang = value.get("text"), value.get("label"), value.get("lang")
    if not isinstance(text, str) or not text.strip():
        raise TrainingDataError(f"{where}: text must be a non-empty string")
    if label not in (0, 1) or isinstance(label, bool):
        raise TrainingDataError(f"{where}: label must be 0 or 1")
    if lang is not None and lang not in LANGUAGES:
        raise TrainingDataError(f"{where}: lang must be one of {', '.join(LANGUAGES)} or absent")
    return LabelledText(
        lang=lang,
        text=text[:MAX_TEXT_CHARS],
        label=int(label),
        source=str(value.get("source") or "unknown"),
        license=str(value.get("license") or "unknown"),
    )


def read_labelled(path: Path, *, licenses: frozenset[str] | None = None) -> list[LabelledText]:
    """Read labelled JSON lines, keeping rows whose licence is listed (all when None)."""
    rows: list[LabelledText] = []
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                where = f"{path}, line {number}"
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as error:
                    raise TrainingDataError(f"{where}: not valid JSON ({error.msg})") from error
                row = _row(value, where)
                if licenses is None or row.license in licenses:
                    rows.append(row)
    except UnicodeDecodeError as error:
        raise TrainingDataError(f"{path}: not UTF-8 text") from error
    except OSError as error:
        raise TrainingDataError(f"{path}: cannot be read: {error.strerror}") from error
    return rows


def _features(rows: Sequence[LabelledText], bits: int) -> sp.csr_matrix:
    blocks = [
        feature_matrix(
            [normalise(row.text) for row in rows[start : start + _CHUNK]],
            [row.lang for row in rows[start : start + _CHUNK]],
            bits=bits,
        )
        for start in range(0, len(rows), _CHUNK)
    ]
    return sp.csr_matrix(sp.vstack(blocks))


def _folds(rows: Sequence[LabelledText], folds: int, seed: int) -> Iterator[np.ndarray]:
    """Yield the test indexes of each fold, stratified by language and label where possible."""
    strata = [f"{row.lang}:{row.label}" for row in rows]
    counts = Counter(strata)
    if min(counts.values()) < folds:
        strata = [str(row.label) for row in rows]  # some language is too small to split
    generator = np.random.default_rng(seed)
    assignment = np.empty(len(rows), dtype=np.int64)
    for stratum in sorted(set(strata)):
        members = np.array([i for i, value in enumerate(strata) if value == stratum])
        generator.shuffle(members)
        assignment[members] = np.arange(len(members)) % folds
    for fold in range(folds):
        yield np.flatnonzero(assignment == fold)


def _fit(matrix: sp.csr_matrix, labels: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415  (training only)

    model = LogisticRegression(C=c, solver="liblinear", class_weight="balanced", max_iter=2000)
    model.fit(matrix, labels)
    return model.coef_.ravel().astype(np.float32), float(model.intercept_[0])


@dataclass(frozen=True)
class TrainingResult:
    """The trained model and its cross-validated quality per language."""

    model: LinearModel
    cross_validation: dict[str, Quality]


def steps(folds: int) -> int:
    """Return how many progress steps `train` reports (features, each fold, the final fit)."""
    return folds + 2


def train(
    rows: Sequence[LabelledText],
    *,
    name: str,
    bits: int = DEFAULT_BITS,
    c: float = DEFAULT_C,
    folds: int = DEFAULT_FOLDS,
    seed: int = 0,
    progress: Callable[[int], None] = lambda _steps: None,
) -> TrainingResult:
    """Cross-validate, then fit on every row; report progress one step at a time."""
    labels = np.array([row.label for row in rows])
    for label in (0, 1):
        if int((labels == label).sum()) < max(folds, 2):
            raise TrainingDataError(
                f"need at least {max(folds, 2)} examples labelled {label}, "
                f"found {int((labels == label).sum())}"
            )
    matrix = _features(rows, bits)
    progress(1)
    scores = np.zeros(len(rows))
    for test in _folds(rows, folds, seed):
        train_mask = np.ones(len(rows), dtype=bool)
        train_mask[test] = False
        weights, intercept = _fit(matrix[train_mask], labels[train_mask], c)
        scores[test] = 1.0 / (1.0 + np.exp(-(matrix[test] @ weights + intercept)))
        progress(1)
    report = per_language(rows, scores.tolist())
    weights, intercept = _fit(matrix, labels, c)
    progress(1)
    sources = Counter((row.source, row.license) for row in rows)
    metadata = {
        "name": name,
        "version": 1,
        "created": clock.now().isoformat(timespec="seconds"),
        "threshold": 0.5,
        "training": {"c": c, "folds": folds, "seed": seed, "rows": len(rows)},
        "trained_on": [
            {
                "source": source,
                "license": license_name,
                "rows": count,
                "languages": dict(
                    Counter(
                        row.lang or "und"
                        for row in rows
                        if (row.source, row.license) == (source, license_name)
                    )
                ),
            }
            for (source, license_name), count in sorted(sources.items())
        ],
        "cross_validation": {lang: figures.as_dict() for lang, figures in report.items()},
    }
    model = LinearModel(weights=weights, intercept=intercept, bits=bits, metadata=metadata)
    return TrainingResult(model=model, cross_validation=report)
