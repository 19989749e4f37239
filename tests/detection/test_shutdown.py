"""Shutdowns: sudden traffic drops from a region with defenders, against a seasonal baseline."""

from __future__ import annotations

import json
import random

from hrdshield.detection.detectors.shutdown import ShutdownDetector
from hrdshield.detection.enums import AlertSeverity, DetectorKind
from hrdshield.detection.pipeline import AlertDraft, Pipeline
from hrdshield.detection.thresholds import ThresholdBook
from tests.detection.streams import StreamBuilder, index_of, pipeline, protected

KENYANS = (protected("@demo_hrd_amara"), protected("@demo_hrd_baraka"))
MEXICAN = protected("@demo_hrd_carmen", country="MX")


def _run(
    detector: ShutdownDetector | None = None, *, thresholds: ThresholdBook | None = None
) -> Pipeline:
    return pipeline(
        index_of(*KENYANS, MEXICAN), detector or ShutdownDetector(), thresholds=thresholds
    )


def _usual(hour: int, weekday: int, *, sunday: float = 1.0) -> float:
    """Return the usual share of traffic: low at night (UTC+3), lower on Sundays if asked."""
    local = (hour + 3) % 24
    share = 0.2 if local < 6 else 0.6 if local < 8 or local >= 22 else 1.0
    return share * (sunday if weekday == 6 else 1.0)


def _traffic(
    stream: StreamBuilder,
    hours: int,
    *,
    region: str = "KE",
    base: float = 1000.0,
    sunday: float = 1.0,
    trend: float = 1.0,  # multiplied into the base every hour
    factor: float = 1.0,  # a drop: the share of the usual that gets through
    seed: int = 7,
) -> None:
    noise = random.Random(seed)
    for _ in range(hours):
        stream.tick(hours=1)
        usual = base * _usual(stream.at.hour, stream.at.weekday(), sunday=sunday)
        stream.traffic(region, max(0, round(usual * factor * noise.uniform(0.93, 1.07))))
        base *= trend


def _alerts(run: Pipeline, stream: StreamBuilder) -> list[AlertDraft]:
    alerts = run.process(stream.events).alerts
    stream.events.clear()
    return alerts


def _learnt(run: Pipeline, stream: StreamBuilder, weeks: int = 3, **kw: float) -> None:
    _traffic(stream, weeks * 168, **kw)  # type: ignore[arg-type]
    assert _alerts(run, stream) == []


def test_a_sudden_drop_where_defenders_are_enrolled_raises_one_alert() -> None:
    stream = StreamBuilder()
    run = _run()
    _learnt(run, stream)
    _traffic(stream, 4, factor=0.25)
    alerts = _alerts(run, stream)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.detector is DetectorKind.SHUTDOWN
    assert alert.region == "KE"
    assert alert.defender_id is None
    assert alert.severity is AlertSeverity.HIGH
    assert alert.explanation["enrolled_defenders"] == 2
    assert alert.explanation["baseline"] == "hour_of_week"
    assert alert.explanation["low_intervals"] == 4
    assert 0.2 < alert.explanation["lowest_ratio"] < 0.3
    assert alert.explanation["thresholds"]["drop_ratio"] == 0.4
    assert len(alert.events) == 4
    assert "2 defenders" in alert.summary
    assert "KE" in alert.summary
    json.dumps(alert.explanation)


def test_the_episode_is_updated_while_it_lasts_and_ends_on_recovery() -> None:
    stream = StreamBuilder()
    run = _run()
    _learnt(run, stream)
    _traffic(stream, 2, factor=0.3)
    first = _alerts(run, stream)
    _traffic(stream, 3, factor=0.15)
    deeper = _alerts(run, stream)
    assert [alert.dedup_key for alert in deeper] == [first[0].dedup_key]
    assert deeper[0].explanation["lowest_ratio"] < first[0].explanation["lowest_ratio"]
    assert deeper[0].explanation["low_intervals"] == 5
    _traffic(stream, 1, factor=0.55)  # recovering, not recovered: the same episode
    assert [alert.dedup_key for alert in _alerts(run, stream)] == [first[0].dedup_key]
    _traffic(stream, 6)  # back to normal: the episode is over
    assert _alerts(run, stream) == []
    _traffic(stream, 2, factor=0.2)  # a new cut is a new alert
    again = _alerts(run, stream)
    assert len(again) == 1
    assert again[0].dedup_key != first[0].dedup_key


def test_a_near_total_drop_is_critical() -> None:
    stream = StreamBuilder()
    run = _run()
    _learnt(run, stream)
    _traffic(stream, 3, factor=0.03)
    alerts = _alerts(run, stream)
    assert [alert.severity for alert in alerts] == [AlertSeverity.CRITICAL]
    assert alerts[0].score > 0.9


def test_night_time_dips_and_quiet_sundays_are_not_shutdowns_once_learnt() -> None:
    stream = StreamBuilder()
    run = _run()
    _traffic(stream, 14 * 24, sunday=0.3)
    run.process(stream.events)  # the first two weeks learn what a Sunday looks like
    stream.events.clear()
    _traffic(stream, 3 * 168, sunday=0.3, seed=11)  # three more weeks, nights and Sundays
    assert _alerts(run, stream) == []


def test_nights_do_not_alert_even_while_seasonality_is_learnt() -> None:
    stream = StreamBuilder()
    _traffic(stream, 3 * 24)  # nights at a fifth of the day from the first day on
    assert _alerts(_run(), stream) == []


def test_a_single_low_interval_is_not_an_episode() -> None:
    stream = StreamBuilder()
    run = _run()
    _learnt(run, stream)
    _traffic(stream, 1, factor=0.2)
    _traffic(stream, 3)
    assert _alerts(run, stream) == []


def test_a_region_without_defenders_is_not_alerted_but_one_with_a_defender_is() -> None:
    stream = StreamBuilder()
    run = _run()
    for region in ("BR", "MX"):
        _traffic(stream, 3 * 168, region=region)
    assert _alerts(run, stream) == []
    for region in ("BR", "MX"):
        _traffic(stream, 3, region=region, factor=0.1)
    alerts = _alerts(run, stream)
    assert [alert.region for alert in alerts] == ["MX"]
    assert alerts[0].explanation["enrolled_defenders"] == 1


def test_a_slow_decline_is_followed_but_a_sudden_drop_is_caught() -> None:
    stream = StreamBuilder()
    run = _run()
    _traffic(stream, 5 * 168, trend=0.997)  # traffic falls by 60 % over five weeks
    assert _alerts(run, stream) == []
    _traffic(stream, 3, base=1000 * 0.997 ** (5 * 168), factor=0.3)
    alerts = _alerts(run, stream)
    assert len(alerts) == 1
    assert 0.2 < alerts[0].explanation["lowest_ratio"] < 0.4


def test_regions_with_tiny_traffic_are_noise() -> None:
    stream = StreamBuilder()
    run = _run()
    _learnt(run, stream, base=30)
    _traffic(stream, 4, base=30, factor=0.0)
    assert _alerts(run, stream) == []


def test_platforms_are_baselined_apart() -> None:
    stream = StreamBuilder()
    other = StreamBuilder(platform="forum", at=stream.at)
    run = _run()
    _traffic(stream, 3 * 168, base=1000)
    _traffic(other, 3 * 168, base=40_000)
    run.process([*stream.events, *other.events])
    stream.events.clear()
    other.events.clear()
    _traffic(stream, 3, base=1000)  # the demo platform carries on as usual
    _traffic(other, 3, base=40_000, factor=0.2)
    alerts = run.process([*stream.events, *other.events]).alerts
    assert [alert.explanation["platform"] for alert in alerts] == ["forum"]


def test_redelivered_or_late_counts_change_nothing() -> None:
    stream = StreamBuilder()
    detector = ShutdownDetector()
    run = _run(detector)
    _learnt(run, stream)
    _traffic(stream, 2, factor=0.2)
    batch = list(stream.events)
    assert len(_alerts(run, stream)) == 1
    before = json.dumps(detector.snapshot(), sort_keys=True)
    assert run.process(batch).alerts == []
    assert json.dumps(detector.snapshot(), sort_keys=True) == before


def test_state_survives_a_snapshot_and_restore() -> None:
    stream = StreamBuilder()
    first = ShutdownDetector()
    _learnt(_run(first), stream)
    _traffic(stream, 1, factor=0.2)
    assert _alerts(_run(first), stream) == []
    second = ShutdownDetector()
    second.restore(json.loads(json.dumps(first.snapshot())))
    _traffic(stream, 1, factor=0.2)  # the second low interval in a row, after the restart
    alerts = _alerts(_run(second), stream)
    assert len(alerts) == 1
    assert alerts[0].explanation["low_intervals"] == 2
    assert json.loads(json.dumps(second.snapshot())) == json.loads(json.dumps(second.snapshot()))


def test_country_overrides_change_the_thresholds() -> None:
    stream = StreamBuilder()
    book = ThresholdBook()
    book.set_country("KE", "shutdown", {"drop_ratio": 0.6})
    run = _run(thresholds=book)
    for region in ("KE", "MX"):
        _traffic(stream, 3 * 168, region=region)
    assert _alerts(run, stream) == []
    for region in ("KE", "MX"):
        _traffic(stream, 3, region=region, factor=0.5)
    alerts = _alerts(run, stream)
    assert [alert.region for alert in alerts] == ["KE"]
    assert alerts[0].explanation["thresholds"]["drop_ratio"] == 0.6
