"""Targeted abuse and threats through the real text layer (shipped lexicon and model)."""

from __future__ import annotations

import json

import pytest

from hrdshield.defenders.enums import RiskLevel
from hrdshield.detection.detectors.targeted_abuse import TargetedAbuseDetector, shipped_scorer
from hrdshield.detection.enums import AlertSeverity, DetectorKind
from hrdshield.detection.text.classifier import StaticClassifier
from hrdshield.detection.text.lexicon import Lexicon
from hrdshield.detection.text.scorer import AbuseScorer
from tests.detection.streams import StreamBuilder, index_of, pipeline, protected

DEFENDER = protected("@demo_hrd_amara")
SCORER = shipped_scorer()


def _run(stream: StreamBuilder, defender: object = DEFENDER, scorer: object = SCORER) -> list:  # type: ignore[type-arg]
    detector = TargetedAbuseDetector(scorer)  # type: ignore[arg-type]
    return pipeline(index_of(defender), detector).process(stream.events).alerts  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("@demo_hrd_amara we know where you live.", "en"),
        ("@demo_hrd_amara sabemos dónde vives.", "es"),
        ("@demo_hrd_amara on sait où tu habites.", "fr"),
        ("@demo_hrd_amara نعرف أين تسكن.", "ar"),
        ("@demo_hrd_amara мы знаем, где ты живёшь.", "ru"),
        ("@demo_hrd_amara sabemos onde você mora.", "pt"),
        ("@demo_hrd_amara w3 kn0w wh3r3 y0u l1v3", "en"),
    ],
)
def test_threats_in_six_languages_and_evasions_are_critical(text: str, lang: str) -> None:
    stream = StreamBuilder()
    stream.reply("attacker", "demo_hrd_amara", text=text, lang="en")  # a wrong tag on purpose
    (alert,) = _run(stream)
    assert alert.detector is DetectorKind.TARGETED_ABUSE
    assert alert.severity is AlertSeverity.CRITICAL
    assert alert.explanation["texts"][0]["rules"]
    json.dumps(alert.explanation)


@pytest.mark.parametrize(
    "text",
    [
        "The attack on the journalist was a crime and we condemn it.",
        "Someone wrote 'we know where you live' under my post and I reported it.",
        "This traffic is killing me, see you at the meeting @demo_hrd_amara",
        "Great talk yesterday, @demo_hrd_amara.",
    ],
)
def test_reporting_condemning_and_ordinary_replies_raise_nothing(text: str) -> None:
    stream = StreamBuilder()
    stream.reply("neighbour", "demo_hrd_amara", text=text)
    assert _run(stream) == []


def test_texts_of_one_kind_within_hours_are_one_growing_alert() -> None:
    stream = StreamBuilder()
    for number in range(5):
        stream.tick(minutes=10)
        stream.reply(f"attacker{number}", "demo_hrd_amara", text="we know where you live")
    (alert,) = _run(stream)
    assert len(alert.events) == 5
    assert "5 doxxing text(s)" in alert.summary or "5 threat text(s)" in alert.summary


def test_the_classifier_alone_needs_to_be_sure() -> None:
    stream = StreamBuilder()
    stream.reply("someone", "demo_hrd_amara", text="an ordinary sentence with zorblax in it")
    words = frozenset({"zorblax"})

    def unsure() -> AbuseScorer:
        return AbuseScorer(classifier=StaticClassifier(words, hit=0.7), lexicon=Lexicon.default())

    def sure() -> AbuseScorer:
        return AbuseScorer(classifier=StaticClassifier(words, hit=0.95), lexicon=Lexicon.default())

    assert _run(stream, scorer=unsure) == []
    (alert,) = _run(stream, scorer=sure)
    assert alert.rule == "abuse"
    assert alert.severity is AlertSeverity.MEDIUM


def test_a_defenders_own_words_and_people_not_enrolled_are_left_alone() -> None:
    stream = StreamBuilder()
    stream.reply("demo_hrd_amara", "demo_hrd_amara", text="they said we know where you live")
    stream.reply("attacker", "someone_else", text="we know where you live")
    assert _run(stream) == []
    at_risk = protected("@demo_hrd_amara", risk=RiskLevel.HIGH)
    stream = StreamBuilder()
    stream.reply("attacker", "demo_hrd_amara", text="we know where you live")
    assert _run(stream, at_risk)


def test_redelivery_changes_nothing_and_state_round_trips() -> None:
    stream = StreamBuilder()
    stream.reply("attacker", "demo_hrd_amara", text="we know where you live")
    detector = TargetedAbuseDetector(SCORER)
    run = pipeline(index_of(DEFENDER), detector)
    assert len(run.process(stream.events).alerts) == 1
    assert run.process(stream.events).alerts == []
    restored = TargetedAbuseDetector(SCORER)
    restored.restore(json.loads(json.dumps(detector.snapshot())))
    assert pipeline(index_of(DEFENDER), restored).process(stream.events).alerts == []
