"""The scorer: micro-batches, language handling, how the layers combine, and what it returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from hrdshield.detection.text.classifier import StaticClassifier
from hrdshield.detection.text.enums import Category, Evasion
from hrdshield.detection.text.language import LanguageGuess, identify, identify_batch
from hrdshield.detection.text.lexicon import Lexicon
from hrdshield.detection.text.scorer import AbuseScorer, combine


@dataclass
class RecordingClassifier:
    """Scores every text `score` and records the batches it was given."""

    score: float = 0.1
    batches: list[list[str]] = field(default_factory=list)
    langs: list[list[str | None]] = field(default_factory=list)
    name: str = "recording"

    def score_batch(self, texts: Sequence[str], langs: Sequence[str | None]) -> list[float]:
        self.batches.append(list(texts))
        self.langs.append(list(langs))
        return [self.score] * len(texts)


def test_texts_reach_the_classifier_in_micro_batches_and_come_back_in_order(
    lexicon: Lexicon,
) -> None:
    classifier = RecordingClassifier()
    scorer = AbuseScorer(classifier=classifier, lexicon=lexicon, batch_size=2)
    texts = ["one", "two", "we know where you live", "four", "five"]
    results = scorer.score_batch(texts, ["en"] * 5)
    assert [len(batch) for batch in classifier.batches] == [2, 2, 1]
    assert [text for batch in classifier.batches for text in batch] == texts
    assert [result.category for result in results] == [None, None, Category.DOXXING, None, None]


def test_an_assessment_says_what_matched_where_and_why(lexicon: Lexicon) -> None:
    scorer = AbuseScorer(classifier=StaticClassifier(frozenset({"live"})), lexicon=lexicon)
    text = "@user W3 KN0W wh\u200bere you live, traitor"
    (result,) = scorer.score_batch([text], ["en"])
    assert result.language == "en"
    assert result.category is Category.DOXXING
    (hit,) = result.hits
    assert text[hit.span[0] : hit.span[1]] == "KN0W wh\u200bere you live"
    assert result.lexicon_score == pytest.approx(0.9)
    assert result.classifier_score == 0.95
    assert result.score == pytest.approx(1 - 0.1 * 0.05)
    assert set(result.evasions) == {Evasion.LEETSPEAK, Evasion.INVISIBLE}
    assert "en.doxxing.know-where" in result.explanation
    assert "classifier static scored 0.95" in result.explanation
    assert "digits or symbols for letters" in result.explanation
    record = result.as_dict()
    assert record["rules"] == [
        {
            "id": "en.doxxing.know-where",
            "category": "doxxing",
            "weight": 0.9,
            "span": list(hit.span),
        }
    ]
    assert record["lang"] == "en"
    assert record["category"] == "doxxing"


def test_reported_speech_scores_lower_than_the_threat(lexicon: Lexicon) -> None:
    scorer = AbuseScorer(classifier=RecordingClassifier(score=0.1), lexicon=lexicon)
    threat, report = scorer.score_batch(
        ["te vamos a matar", "La periodista recibió amenazas que decían te vamos a matar"],
        ["es", "es"],
    )
    assert threat.score == pytest.approx(0.9)
    assert report.contexts == ("es.context.reporting",)
    assert report.score == pytest.approx(0.36)
    assert "reported or condemned speech" in report.explanation


def test_the_classifier_alone_flags_abuse_no_rule_knows(lexicon: Lexicon) -> None:
    scorer = AbuseScorer(classifier=StaticClassifier(frozenset({"zzyzx"})), lexicon=lexicon)
    flagged, calm = scorer.score_batch(["you zzyzx", "good morning"])
    assert (flagged.category, flagged.score) == (Category.ABUSE, 0.95)
    assert (calm.category, calm.score) == (None, 0.05)
    assert "no lexicon rule matched" in calm.explanation


def test_given_languages_are_used_and_only_the_others_identified(lexicon: Lexicon) -> None:
    asked: list[list[str]] = []

    def identify_fake(texts: Sequence[str]) -> list[LanguageGuess]:
        asked.append(list(texts))
        return [LanguageGuess("fr", 0.8) for _ in texts]

    classifier = RecordingClassifier()
    scorer = AbuseScorer(classifier=classifier, lexicon=lexicon, identify=identify_fake)
    results = scorer.score_batch(["one", "two", "three"], ["es", None, "xx"])
    assert asked == [["two", "three"]]
    assert classifier.langs == [["es", "fr", "fr"]]
    assert [(result.language, result.language_confidence) for result in results] == [
        ("es", 1.0),
        ("fr", 0.8),
        ("fr", 0.8),
    ]


def test_unknown_language_runs_every_lexicon(lexicon: Lexicon) -> None:
    def unknown(texts: Sequence[str]) -> list[LanguageGuess]:
        return [LanguageGuess(None, 0.2) for _ in texts]

    scorer = AbuseScorer(classifier=RecordingClassifier(), lexicon=lexicon, identify=unknown)
    (result,) = scorer.score_batch(["сдохни"])
    assert result.language is None
    assert [hit.rule_id for hit in result.hits] == ["ru.harassment.die"]
    assert result.as_dict()["lang"] == "und"


def test_empty_and_odd_input(lexicon: Lexicon) -> None:
    scorer = AbuseScorer(classifier=RecordingClassifier(score=0.7), lexicon=lexicon)
    assert scorer.score_batch([]) == []
    (empty,) = scorer.score_batch(["\u200b "], ["en"])
    assert empty.score == 0.0
    with pytest.raises(ValueError, match="same length"):
        scorer.score_batch(["a", "b"], ["en"])
    with pytest.raises(ValueError, match="batch_size"):
        AbuseScorer(classifier=RecordingClassifier(), lexicon=lexicon, batch_size=0)


def test_a_classifier_that_loses_texts_is_an_error(lexicon: Lexicon) -> None:
    class Lossy(RecordingClassifier):
        def score_batch(self, texts: Sequence[str], langs: Sequence[str | None]) -> list[float]:
            return [0.5]

    scorer = AbuseScorer(classifier=Lossy(), lexicon=lexicon)
    with pytest.raises(RuntimeError, match="wrong number of scores"):
        scorer.score_batch(["a", "b"])


@pytest.mark.parametrize(
    ("lexicon_score", "classifier_score", "expected"),
    [(0.9, 0.1, 0.9), (0.2, 0.7, 0.7), (0.6, 0.5, 0.8), (0.0, 0.0, 0.0)],
)
def test_combination(lexicon_score: float, classifier_score: float, expected: float) -> None:
    assert combine(lexicon_score, classifier_score) == pytest.approx(expected)


def test_the_default_scorer_on_six_languages() -> None:
    scorer = AbuseScorer.from_model_directory(None)
    threats = [
        "we know where you live",
        "sabemos dónde vives",
        "on sait où tu habites",
        "نعرف أين تسكن",
        "мы знаем, где ты живёшь",
        "sabemos onde você mora",
    ]
    results = scorer.score_batch(threats)
    assert [result.language for result in results] == ["en", "es", "fr", "ar", "ru", "pt"]
    assert all(result.category is Category.DOXXING for result in results)
    assert all(result.score >= 0.9 for result in results)
    assert scorer.classifier.name == "linear:default@1"


def test_language_identification() -> None:
    guesses = identify_batch(
        [
            "The committee will publish its findings next week",
            "El comité publicará sus conclusiones la próxima semana",
            "Le comité publiera ses conclusions la semaine prochaine",
            "ستنشر اللجنة نتائجها الأسبوع المقبل",
            "Комитет опубликует свои выводы на следующей неделе",
            "O comitê vai publicar suas conclusões na próxima semana",
        ]
    )
    assert [guess.language for guess in guesses] == ["en", "es", "fr", "ar", "ru", "pt"]
    assert identify("ok").language is None
    assert identify("@user URL !!!").language is None


def test_the_package_exports_the_interface_lazily() -> None:
    from hrdshield.detection import text  # noqa: PLC0415

    assert text.AbuseScorer is AbuseScorer
    assert text.Category is Category
    assert set(text.__all__) <= set(dir(text)) | set(text._MODULE_OF)
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        text.missing  # noqa: B018
