"""The multilingual abuse-and-threat text layer the detection pipeline calls.

Interface (see docs/abuse-model.md):

- ``normalise.normalise(text) -> str`` and ``normalise_with_evasions(text) -> Normalised`` (the
  text, the evasions undone, and ``original_span`` back to the original);
- ``Lexicon.default().match(normalised, lang) -> LexiconMatch`` (rule hits with their category,
  weight and span in the original text; ``lang=None`` runs every language);
- ``AbuseClassifier``: ``score_batch(texts, langs) -> list[float]`` and ``name``; implemented by
  ``LinearModel`` (shipped default and operator-trained directories), ``TransformerClassifier``
  (operator's local transformer) and ``StaticClassifier`` (a fake); ``load_classifier(directory)``
  picks one from a directory (``HRDSHIELD_ABUSE_MODEL``);
- ``identify_batch(texts) -> list[LanguageGuess]`` for en, es, fr, ar, ru, pt;
- ``AbuseScorer(...).score_batch(texts, langs) -> list[Assessment]``: score, language, category,
  rule hits, the classifier's score and an explanation for reviewers.

Everything here runs offline and is called with micro-batches. Nothing logs or stores a text.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hrdshield.detection.text.classifier import (
        AbuseClassifier,
        LinearModel,
        ModelError,
        StaticClassifier,
        load_classifier,
    )
    from hrdshield.detection.text.enums import LANGUAGES, Category, Evasion
    from hrdshield.detection.text.language import LanguageGuess, identify_batch
    from hrdshield.detection.text.lexicon import Lexicon, LexiconMatch, RuleHit
    from hrdshield.detection.text.normalise import Normalised, normalise_with_evasions
    from hrdshield.detection.text.scorer import AbuseScorer, Assessment

# Imported on first use, so that `hrdshield --help` and commands that never score a text do not
# pay for numpy and scipy.
_HOMES = {
    "classifier": (
        "AbuseClassifier",
        "LinearModel",
        "ModelError",
        "StaticClassifier",
        "load_classifier",
    ),
    "enums": ("LANGUAGES", "Category", "Evasion"),
    "language": ("LanguageGuess", "identify_batch"),
    "lexicon": ("Lexicon", "LexiconMatch", "RuleHit"),
    # `normalise` itself is not re-exported: the name is its module's (`text.normalise.normalise`).
    "normalise": ("Normalised", "normalise_with_evasions"),
    "scorer": ("AbuseScorer", "Assessment"),
}
_MODULE_OF = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    """Import a public name of the text layer from its module on first use."""
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)
    globals()[name] = value
    return value


__all__ = [
    "LANGUAGES",
    "AbuseClassifier",
    "AbuseScorer",
    "Assessment",
    "Category",
    "Evasion",
    "LanguageGuess",
    "Lexicon",
    "LexiconMatch",
    "LinearModel",
    "ModelError",
    "Normalised",
    "RuleHit",
    "StaticClassifier",
    "identify_batch",
    "load_classifier",
    "normalise_with_evasions",
]
