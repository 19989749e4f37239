"""The abuse scorer the detection pipeline calls: lexicon and classifier, one micro-batch at a time.

``AbuseScorer.score_batch(texts, langs)`` returns one ``Assessment`` per text: the final score in
[0, 1], the language, the category, the lexicon rules that matched (with spans in the original
text), the classifier's score and an explanation a reviewer can read in the alert. It never
raises on a text's content; an empty text scores 0.

How the two layers combine, and why:

- the lexicon is precise and explainable but narrow: a rule hit counts by its weight, several hits
  combine as independent evidence (1 - Π(1 - wᵢ)), and reported or condemned speech (a
  ``[[context]]`` entry) multiplies the weights by its factor;
- the classifier generalises beyond the rules but is weaker in the languages it has little
  training data for (see docs/abuse-model.md);
- the final score is the larger of the two, or both combined as independent evidence when both
  are at least 0.5. A strong rule is never diluted by an unsure classifier, and agreement
  raises the score.

Nothing here logs or stores a text: the caller decides what an alert keeps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hrdshield.detection.text.classifier import AbuseClassifier, load_classifier
from hrdshield.detection.text.enums import LANGUAGES, Category, Evasion
from hrdshield.detection.text.language import LanguageGuess, identify_batch
from hrdshield.detection.text.lexicon import Lexicon, LexiconMatch, RuleHit
from hrdshield.detection.text.normalise import normalise_with_evasions

DEFAULT_BATCH_SIZE = 64
AGREEMENT = 0.5
#: Longer texts are scored on their first characters; posts and replies are far shorter.
MAX_TEXT_CHARS = 20_000
_QUOTE_CHARS = 60


@dataclass(frozen=True)
class Assessment:
    """What the text layer concluded about one text, and why."""

    score: float
    language: str | None
    language_confidence: float
    category: Category | None
    hits: tuple[RuleHit, ...]
    classifier_score: float
    classifier: str
    lexicon_score: float
    contexts: tuple[str, ...]
    evasions: tuple[Evasion, ...]
    explanation: str

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready form (used by ``hrdshield classify``)."""
        return {
            "score": round(self.score, 4),
            "lang": self.language or "und",
            "lang_confidence": round(self.language_confidence, 4),
            "category": self.category.value if self.category else None,
            "rules": [
                {
                    "id": hit.rule_id,
                    "category": hit.category.value,
                    "weight": hit.weight,
                    "span": list(hit.span),
                }
                for hit in self.hits
            ],
            "classifier_score": round(self.classifier_score, 4),
            "classifier": self.classifier,
            "lexicon_score": round(self.lexicon_score, 4),
            "contexts": list(self.contexts),
            "evasions": [evasion.value for evasion in self.evasions],
            "why": self.explanation,
        }


def combine(lexicon_score: float, classifier_score: float) -> float:
    """Return the final score from the lexicon's and the classifier's (see the module docstring)."""
    if lexicon_score >= AGREEMENT and classifier_score >= AGREEMENT:
        return 1.0 - (1.0 - lexicon_score) * (1.0 - classifier_score)
    return max(lexicon_score, classifier_score)


def lexicon_score(match: LexiconMatch) -> float:
    """Return the lexicon's score: rule weights as independent evidence, times the contexts."""
    remaining = 1.0
    for hit in match.hits:
        remaining *= 1.0 - hit.weight * match.factor
    return 1.0 - remaining


def _quote(text: str, span: tuple[int, int]) -> str:
    excerpt = text[span[0] : span[1]]
    return excerpt if len(excerpt) <= _QUOTE_CHARS else excerpt[: _QUOTE_CHARS - 1] + "…"


def explain(
    *,
    text: str,
    match: LexiconMatch,
    evasions: Sequence[Evasion],
    classifier: str,
    classifier_score: float,
    score: float,
) -> str:
    """Say in one paragraph why a text got its score, for the reviewer reading the alert."""
    parts = []
    for hit in match.hits:
        parts.append(
            f"rule {hit.rule_id} ({hit.category.value}, weight {hit.weight:.2f}) matched "
            f'"{_quote(text, hit.span)}" at {hit.span[0]}-{hit.span[1]}'
        )
    if not match.hits:
        parts.append("no lexicon rule matched")
    if match.contexts and match.hits:
        parts.append(
            f"reported or condemned speech ({', '.join(match.contexts)}) "
            f"lowered rule weights x{match.factor:.2f}"
        )
    parts.append(f"classifier {classifier} scored {classifier_score:.2f}")
    if evasions:
        parts.append("evasions undone: " + ", ".join(evasion.value for evasion in evasions))
    return f"score {score:.2f}: " + "; ".join(parts) + "."


class AbuseScorer:
    """Scores micro-batches of texts with the lexicon and a classifier."""

    def __init__(
        self,
        *,
        classifier: AbuseClassifier,
        lexicon: Lexicon,
        identify: Callable[[Sequence[str]], list[LanguageGuess]] = identify_batch,
        batch_size: int = DEFAULT_BATCH_SIZE,
        threshold: float = 0.5,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.classifier = classifier
        self.lexicon = lexicon
        self.identify = identify
        self.batch_size = batch_size
        self.threshold = threshold

    @classmethod
    def from_model_directory(cls, directory: Path | None = None, **options: Any) -> AbuseScorer:
        """Build the scorer with the shipped lexicon and the model in a directory (or default)."""
        return cls(classifier=load_classifier(directory), lexicon=Lexicon.default(), **options)

    def score_batch(
        self, texts: Sequence[str], langs: Sequence[str | None] | None = None
    ) -> list[Assessment]:
        """Assess every text, passing the classifier micro-batches of at most batch_size."""
        if langs is not None and len(langs) != len(texts):
            raise ValueError("texts and langs must have the same length")
        results: list[Assessment] = []
        for start in range(0, len(texts), self.batch_size):
            chunk = [text[:MAX_TEXT_CHARS] for text in texts[start : start + self.batch_size]]
            given: list[str | None] = (
                list(langs[start : start + self.batch_size]) if langs else [None] * len(chunk)
            )
            results.extend(self._score_chunk(chunk, given))
        return results

    def _languages(self, texts: list[str], given: list[str | None]) -> list[LanguageGuess]:
        unknown = [index for index, lang in enumerate(given) if lang not in LANGUAGES]
        guesses = self.identify([texts[index] for index in unknown]) if unknown else []
        found = [LanguageGuess(lang, 1.0) for lang in given]
        for index, guess in zip(unknown, guesses, strict=True):
            found[index] = guess
        return found

    def _score_chunk(self, texts: list[str], given: list[str | None]) -> list[Assessment]:
        languages = self._languages(texts, given)
        codes = [guess.language for guess in languages]
        classifier_scores = self.classifier.score_batch(texts, codes)
        if len(classifier_scores) != len(texts):
            raise RuntimeError(f"{self.classifier.name} returned a wrong number of scores")
        results = []
        for text, guess, raw_score in zip(texts, languages, classifier_scores, strict=True):
            normalised = normalise_with_evasions(text)
            match = self.lexicon.match(normalised, guess.language)
            from_lexicon = lexicon_score(match)
            classifier_score = min(1.0, max(0.0, float(raw_score)))
            score = combine(from_lexicon, classifier_score) if normalised.text else 0.0
            evasions = tuple(sorted(normalised.evasions, key=lambda evasion: evasion.name))
            results.append(
                Assessment(
                    score=score,
                    language=guess.language,
                    language_confidence=guess.confidence,
                    category=self._category(match, score),
                    hits=match.hits,
                    classifier_score=classifier_score,
                    classifier=self.classifier.name,
                    lexicon_score=from_lexicon,
                    contexts=match.contexts,
                    evasions=evasions,
                    explanation=explain(
                        text=text,
                        match=match,
                        evasions=evasions,
                        classifier=self.classifier.name,
                        classifier_score=classifier_score,
                        score=score,
                    ),
                )
            )
        return results

    def _category(self, match: LexiconMatch, score: float) -> Category | None:
        if match.hits:
            return max(match.hits, key=lambda hit: hit.weight).category
        return Category.ABUSE if score >= self.threshold else None
