"""Spyware and phishing links sent to defenders, matched against the indicator feeds."""

from __future__ import annotations

import json

from hrdshield.defenders.enums import RiskLevel
from hrdshield.detection.detectors.malicious_link import MaliciousLinkDetector
from hrdshield.detection.enums import AlertSeverity, DetectorKind
from hrdshield.exchange.enums import IndicatorType
from hrdshield.exchange.matcher import IndicatorMatcher
from tests.detection.streams import StreamBuilder, index_of, pipeline, protected

MATCHER = IndicatorMatcher(
    [
        ("ind-1", IndicatorType.DOMAIN, "secure-account-check.example"),
        ("ind-2", IndicatorType.URL, "https://files.example.net/update.apk"),
    ]
)
DEFENDER = protected("@demo_hrd_amara")


def _message(stream: StreamBuilder, text: str, to: str = "demo_hrd_amara") -> None:
    stream.emit(
        "direct_message",
        stream.account("stranger"),
        targets=[stream.account(to)],
        content={"text": text, "lang": "en"},
    )


def _run(stream: StreamBuilder, defender: object = DEFENDER) -> list:  # type: ignore[type-arg]
    detector = MaliciousLinkDetector(lambda: MATCHER)
    return pipeline(index_of(defender), detector).process(stream.events).alerts  # type: ignore[arg-type]


def test_a_defanged_link_to_a_known_domain_is_an_alert_naming_the_indicator() -> None:
    stream = StreamBuilder()
    _message(stream, "Confirm your identity at hxxps://login.secure-account-check[.]example/now")
    (alert,) = _run(stream)
    assert alert.detector is DetectorKind.MALICIOUS_LINK
    assert alert.severity is AlertSeverity.HIGH
    (found,) = alert.explanation["indicators"]
    assert found["indicator_id"] == "ind-1"
    assert found["defanged"] is True
    assert "written disguised" in alert.summary
    json.dumps(alert.explanation)


def test_full_links_and_high_risk_defenders() -> None:
    stream = StreamBuilder()
    _message(stream, "New version here: https://files.example.net/update.apk")
    at_risk = protected("@demo_hrd_amara", risk=RiskLevel.HIGH)
    (alert,) = _run(stream, at_risk)
    assert alert.severity is AlertSeverity.CRITICAL


def test_ordinary_and_shortened_links_alone_raise_nothing() -> None:
    stream = StreamBuilder()
    _message(stream, "The report is at https://news.example.org/story and https://bit.ly/abc123")
    _message(stream, "Look: notsecure-account-check.example is a different site")
    assert _run(stream) == []


def test_links_to_people_not_enrolled_are_not_checked_and_redelivery_is_quiet() -> None:
    stream = StreamBuilder()
    _message(stream, "https://secure-account-check.example", to="someone_else")
    assert _run(stream) == []
    stream = StreamBuilder()
    _message(stream, "https://secure-account-check.example")
    detector = MaliciousLinkDetector(lambda: MATCHER)
    run = pipeline(index_of(DEFENDER), detector)
    assert len(run.process(stream.events).alerts) == 1
    assert run.process(stream.events).alerts == []
    restored = MaliciousLinkDetector(lambda: MATCHER)
    restored.restore(json.loads(json.dumps(detector.snapshot())))
    assert pipeline(index_of(DEFENDER), restored).process(stream.events).alerts == []
