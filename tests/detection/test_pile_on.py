"""Pile-on: bursts of distinct accounts against a defender's own baseline."""

from __future__ import annotations

import json

from hrdshield.defenders.enums import RiskLevel
from hrdshield.detection.detectors.pile_on import PileOnDetector
from hrdshield.detection.enums import AlertSeverity, DetectorKind
from hrdshield.detection.thresholds import ThresholdBook
from tests.detection.streams import StreamBuilder, index_of, pipeline, protected

DEFENDER = protected("@demo_hrd_amara")


def _brigade(
    stream: StreamBuilder,
    accounts: int,
    *,
    target: str = "demo_hrd_amara",
    prefix: str = "brigade",
    every_seconds: float = 20,
) -> None:
    for number in range(accounts):
        stream.tick(seconds=every_seconds)
        stream.reply(f"{prefix}{number}", target)


def test_a_burst_of_distinct_accounts_raises_one_alert_with_its_evidence() -> None:
    stream = StreamBuilder()
    _brigade(stream, 12)
    result = pipeline(index_of(DEFENDER), PileOnDetector()).process(stream.events)
    assert len(result.alerts) == 1
    alert = result.alerts[0]
    assert alert.detector is DetectorKind.PILE_ON
    assert alert.defender_id == DEFENDER[0].defender_id
    assert alert.explanation["accounts"] == 12
    assert alert.explanation["threshold"] == 10.0
    assert {event.id for event in alert.events} == {event.id for event in stream.events}
    assert "12 accounts" in alert.summary
    assert alert.actions == ("shield",)
    json.dumps(alert.explanation)  # explanations are stored as JSON


def test_one_account_replying_many_times_is_not_a_pile_on() -> None:
    stream = StreamBuilder()
    for _ in range(40):
        stream.tick(seconds=10)
        stream.reply("persistent", "demo_hrd_amara")
    assert pipeline(index_of(DEFENDER), PileOnDetector()).process(stream.events).alerts == []


def test_accounts_spread_over_hours_do_not_make_a_burst() -> None:
    stream = StreamBuilder()
    for number in range(30):
        stream.tick(minutes=20)
        stream.reply(f"passerby{number}", "demo_hrd_amara")
    assert pipeline(index_of(DEFENDER), PileOnDetector()).process(stream.events).alerts == []


def test_replies_to_people_who_are_not_enrolled_are_not_counted() -> None:
    stream = StreamBuilder()
    _brigade(stream, 20, target="someone_else")
    assert pipeline(index_of(DEFENDER), PileOnDetector()).process(stream.events).alerts == []


def test_a_busy_defender_is_judged_against_their_own_baseline() -> None:
    stream = StreamBuilder()
    detector = PileOnDetector()
    run = pipeline(index_of(DEFENDER), detector)
    # Two days of a popular defender: 15 different accounts every 15 minutes.
    for window in range(192):
        for number in range(15):
            stream.tick(seconds=59)
            stream.reply(f"regular{(window * 15 + number) % 400}", "demo_hrd_amara")
    warm = run.process(stream.events)
    assert warm.alerts == [] or all(a.explanation["baseline_accounts"] < 5 for a in warm.alerts)
    stream.events.clear()
    for number in range(16):  # as many as usual: not a burst for this defender
        stream.tick(seconds=50)
        stream.reply(f"regular{number}", "demo_hrd_amara")
    assert run.process(stream.events).alerts == []
    stream.events.clear()
    for number in range(90):  # four times the usual and more
        stream.tick(seconds=9)
        stream.reply(f"brigade{number}", "demo_hrd_amara")
    alerts = run.process(stream.events).alerts
    assert len(alerts) == 1
    assert alerts[0].explanation["baseline_accounts"] > 10


def test_young_accounts_weigh_more_and_high_risk_defenders_have_a_lower_floor() -> None:
    stream = StreamBuilder()
    for number in range(7):
        stream.tick(seconds=20)
        stream.reply(f"throwaway{number}", "demo_hrd_amara", created_days_ago=1)
    young = pipeline(index_of(DEFENDER), PileOnDetector()).process(stream.events).alerts
    assert len(young) == 1  # 7 accounts x 1.5 = 10.5 >= 10
    assert young[0].explanation["weighted_accounts"] == 10.5

    old_stream = StreamBuilder()
    _brigade(old_stream, 7)
    assert pipeline(index_of(DEFENDER), PileOnDetector()).process(old_stream.events).alerts == []
    at_risk = protected("@demo_hrd_amara", risk=RiskLevel.HIGH)
    assert pipeline(index_of(at_risk), PileOnDetector()).process(old_stream.events).alerts


def test_a_continuing_burst_updates_the_same_alert_and_redelivery_changes_nothing() -> None:
    stream = StreamBuilder()
    detector = PileOnDetector()
    run = pipeline(index_of(DEFENDER), detector)
    _brigade(stream, 11)
    first = run.process(stream.events).alerts
    again = run.process(stream.events).alerts  # the same batch delivered twice
    stream.events.clear()
    _brigade(stream, 5)
    later = run.process(list(stream.events)).alerts
    assert len(first) == 1
    assert again == []
    assert [alert.dedup_key for alert in later] == [first[0].dedup_key]


def test_country_overrides_change_the_thresholds() -> None:
    stream = StreamBuilder()
    _brigade(stream, 6)
    book = ThresholdBook()
    book.set_country("KE", "pile_on", {"min_accounts": 5.0})
    alerts = pipeline(index_of(DEFENDER), PileOnDetector(), thresholds=book).process(stream.events)
    assert len(alerts.alerts) == 1
    other = protected("@demo_hrd_amara", country="MX")
    assert (
        pipeline(index_of(other), PileOnDetector(), thresholds=book).process(stream.events).alerts
        == []
    )


def test_severity_grows_with_the_size_of_the_pile_on() -> None:
    stream = StreamBuilder()
    _brigade(stream, 35, every_seconds=5)
    alerts = pipeline(index_of(DEFENDER), PileOnDetector()).process(stream.events).alerts
    assert alerts[0].severity is AlertSeverity.CRITICAL


def test_state_survives_a_snapshot_and_restore() -> None:
    stream = StreamBuilder()
    first = PileOnDetector()
    _brigade(stream, 7)
    assert pipeline(index_of(DEFENDER), first).process(stream.events).alerts == []
    state = json.loads(json.dumps(first.snapshot()))
    second = PileOnDetector()
    second.restore(state)
    stream.events.clear()
    _brigade(stream, 5, prefix="second-wave")
    alerts = pipeline(index_of(DEFENDER), second).process(stream.events).alerts
    assert len(alerts) == 1
    assert alerts[0].explanation["accounts"] == 12
