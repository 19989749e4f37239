"""Classifiers that score a micro-batch of texts for abuse, and the model directory format.

Every classifier is an ``AbuseClassifier``: ``score_batch(texts, langs)`` returns one probability
in [0, 1] per text, and ``name`` says which model spoke (shown in explanations). Scoring is
always by batch, never one text per call: per-call overhead (feature hashing set-up, a transformer
forward pass) dominates short texts and costs 10 to 50 times the throughput.

Implementations:

- ``LinearModel``: logistic regression over hashed character n-grams (see ``features``). The
  default one ships inside the package (``models/default``); operators train their own with
  ``hrdshield model train`` and point ``HRDSHIELD_ABUSE_MODEL`` at the directory.
- ``TransformerClassifier`` (``transformer.py``): an operator-supplied local transformer
  directory, loaded only when torch and transformers are installed.
- ``StaticClassifier``: a fake that scores by keywords, for tests and for wiring checks.

A model directory is ``model.json`` (format, version, features, training sources and their
licences, cross-validated quality, the SHA-256 of every array file) and ``weights.npy``. It is
never a pickle: loading a model must not be able to run code, and arrays are read with
``allow_pickle=False`` after their checksum matches.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from hrdshield.detection.text.enums import LANGUAGES
from hrdshield.detection.text.features import (
    FEATURES_VERSION,
    NGRAM_MAX,
    NGRAM_MIN,
    ngram_matrix,
)
from hrdshield.detection.text.normalise import NORMALISER_VERSION, normalise

MODEL_FORMAT = "hrdshield-abuse-linear"
MODEL_FORMAT_VERSION = 1
METADATA_FILE = "model.json"
WEIGHTS_FILE = "weights.npy"
_WORD_RE = re.compile(r"\w+")


class ModelError(ValueError):
    """A model directory that cannot be loaded; the message says why, for the operator."""


class AbuseClassifier(Protocol):
    """Scores texts for abuse aimed at a person, a micro-batch at a time."""

    @property
    def name(self) -> str:
        """Identify the model in explanations and output (e.g. ``linear:default@1``)."""
        ...

    def score_batch(self, texts: Sequence[str], langs: Sequence[str | None]) -> list[float]:
        """Return the probability that each text is abusive, in [0, 1], in input order."""
        ...


@dataclass(frozen=True)
class StaticClassifier:
    """A working fake: scores ``hit`` when a text contains one of the words, ``miss`` otherwise."""

    words: frozenset[str]
    hit: float = 0.95
    miss: float = 0.05
    name: str = "static"

    def score_batch(self, texts: Sequence[str], langs: Sequence[str | None]) -> list[float]:
        """Score each text by whether a keyword occurs in it after normalisation."""
        if len(texts) != len(langs):
            raise ValueError("texts and langs must have the same length")
        return [
            self.hit if set(_WORD_RE.findall(normalise(text))) & self.words else self.miss
            for text in texts
        ]


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(values, -30.0, 30.0))))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class LinearModel:
    """Logistic regression over hashed character n-grams and a per-language bias."""

    def __init__(
        self,
        *,
        weights: np.ndarray,
        intercept: float,
        bits: int,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        expected = (1 << bits) + len(LANGUAGES)
        if weights.shape != (expected,):
            raise ModelError(f"weights have shape {weights.shape}, expected ({expected},)")
        self.weights = weights.astype(np.float32, copy=False)
        self.intercept = float(intercept)
        self.bits = bits
        self.metadata: dict[str, Any] = dict(metadata or {})

    @property
    def name(self) -> str:
        """Identify the model by its recorded name and version."""
        return f"linear:{self.metadata.get('name', 'unnamed')}@{self.metadata.get('version', 0)}"

    def score_batch(self, texts: Sequence[str], langs: Sequence[str | None]) -> list[float]:
        """Score a micro-batch: normalise, hash, one sparse product, a sigmoid."""
        if len(texts) != len(langs):
            raise ValueError("texts and langs must have the same length")
        if not texts:
            return []
        # The same arithmetic as feature_matrix(...) @ weights, without building the language
        # columns: each text adds the bias of its language, if known.
        size = 1 << self.bits
        matrix = ngram_matrix([normalise(text) for text in texts], bits=self.bits)
        bias = np.array(
            [
                self.weights[size + LANGUAGES.index(lang)] if lang in LANGUAGES else 0.0
                for lang in langs
            ]
        )
        logits = matrix @ self.weights[:size] + bias + self.intercept
        return [float(value) for value in _sigmoid(np.asarray(logits, dtype=np.float64))]

    def save(self, directory: Path) -> None:
        """Write the model directory: the weights, then model.json with their checksum."""
        directory.mkdir(parents=True, exist_ok=True)
        weights_path = directory / WEIGHTS_FILE
        np.save(weights_path, self.weights, allow_pickle=False)
        metadata = {
            **self.metadata,
            "format": MODEL_FORMAT,
            "format_version": MODEL_FORMAT_VERSION,
            "normaliser_version": NORMALISER_VERSION,
            "features": {
                "kind": "hashed character n-grams + language bias",
                "version": FEATURES_VERSION,
                "ngram_min": NGRAM_MIN,
                "ngram_max": NGRAM_MAX,
                "bits": self.bits,
                "languages": list(LANGUAGES),
            },
            "intercept": self.intercept,
            "files": {WEIGHTS_FILE: _sha256(weights_path)},
        }
        (directory / METADATA_FILE).write_text(
            json.dumps(metadata, indent=2, ensure_ascii=False, sort_keys=True) + "\n",
            encoding="utf-8",
        )

    @classmethod
    def load(cls, directory: Path) -> LinearModel:
        """Load a model directory written by `save`, checking format, versions and checksums."""
        metadata = _read_metadata(directory)
        bits = metadata["features"]["bits"]
        weights = _read_weights(directory, metadata.get("files", {}).get(WEIGHTS_FILE))
        return cls(weights=weights, intercept=metadata["intercept"], bits=bits, metadata=metadata)


def _read_metadata(directory: Path) -> dict[str, Any]:
    path = directory / METADATA_FILE
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ModelError(f"{directory}: no {METADATA_FILE}; not a model directory") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelError(f"{path}: not valid JSON: {error}") from error
    if not isinstance(metadata, dict) or metadata.get("format") != MODEL_FORMAT:
        raise ModelError(f"{path}: not a {MODEL_FORMAT} model")
    _check_versions(metadata, path)
    features = metadata.get("features", {})
    bits = features.get("bits")
    if not isinstance(bits, int) or not 10 <= bits <= 24:
        raise ModelError(f"{path}: features.bits must be an integer from 10 to 24")
    if features.get("languages") != list(LANGUAGES):
        raise ModelError(f"{path}: trained for other languages; retrain it")
    intercept = metadata.get("intercept")
    if not isinstance(intercept, int | float) or not math.isfinite(intercept):
        raise ModelError(f"{path}: intercept must be a number")
    return metadata


def _read_weights(directory: Path, expected_sha256: object) -> np.ndarray:
    path = directory / WEIGHTS_FILE
    if not path.is_file():
        raise ModelError(f"{directory}: {WEIGHTS_FILE} is missing")
    if expected_sha256 != _sha256(path):
        raise ModelError(f"{path}: checksum differs from {METADATA_FILE}")
    try:
        weights = np.load(path, allow_pickle=False)
    except ValueError as error:
        raise ModelError(f"{path}: not a plain numpy array: {error}") from error
    if weights.dtype != np.float32 or not np.isfinite(weights).all():
        raise ModelError(f"{path}: weights must be finite float32 values")
    return np.asarray(weights)


def _check_versions(metadata: dict[str, Any], where: Path) -> None:
    checks: Iterable[tuple[str, Any, int]] = (
        ("format_version", metadata.get("format_version"), MODEL_FORMAT_VERSION),
        ("normaliser_version", metadata.get("normaliser_version"), NORMALISER_VERSION),
        ("features.version", metadata.get("features", {}).get("version"), FEATURES_VERSION),
    )
    for field, found, supported in checks:
        if found != supported:
            raise ModelError(
                f"{where}: {field} is {found!r} but this version of HRD Shield reads "
                f"{supported}; retrain the model with `hrdshield model train`"
            )


def default_model_directory() -> Path:
    """Return the directory of the model that ships inside the package."""
    return Path(str(resources.files("hrdshield.detection.text") / "models" / "default"))


def load_classifier(directory: Path | None) -> AbuseClassifier:
    """Load the classifier in a directory (linear or transformer), or the shipped default."""
    if directory is None:
        return LinearModel.load(default_model_directory())
    if not directory.is_dir():
        raise ModelError(f"{directory}: no such model directory")
    if (directory / METADATA_FILE).is_file():
        return LinearModel.load(directory)
    if (directory / "config.json").is_file():
        from hrdshield.detection.text.transformer import (  # noqa: PLC0415  (torch is optional)
            TransformerClassifier,
        )

        return TransformerClassifier(directory)
    raise ModelError(
        f"{directory}: neither a linear model ({METADATA_FILE}) nor a transformer (config.json)"
    )
