"""Account takeover: new countries and networks, impossible travel, failure bursts, compromise."""

from __future__ import annotations

import json

from hrdshield.defenders.enums import RiskLevel
from hrdshield.detection.detectors import countries
from hrdshield.detection.detectors.account_takeover import AccountTakeoverDetector
from hrdshield.detection.enums import AlertSeverity, DetectorKind
from hrdshield.detection.pipeline import AlertDraft, Pipeline
from hrdshield.detection.thresholds import ThresholdBook
from tests.detection.streams import StreamBuilder, index_of, pipeline, protected

HANDLE = "demo_hrd_amara"
DEFENDER = protected(f"@{HANDLE}")
HOME_NET, OTHER_NET, ATTACKER_NET = "AS64500", "AS64501", "AS64999"


def _run(detector: AccountTakeoverDetector | None = None, **kw: object) -> Pipeline:
    entry = protected(f"@{HANDLE}", **kw) if kw else DEFENDER  # type: ignore[arg-type]
    return pipeline(index_of(entry), detector or AccountTakeoverDetector())


def _settled(stream: StreamBuilder, logins: int = 3, country: str = "KE") -> None:
    """Give the defender an ordinary history: daily sign-ins from home."""
    for _ in range(logins):
        stream.tick(days=1)
        stream.login(HANDLE, country, HOME_NET)


def _alerts(run: Pipeline, stream: StreamBuilder) -> list[AlertDraft]:
    alerts = run.process(stream.events).alerts
    stream.events.clear()
    return alerts


def test_a_country_never_seen_alerts_once_the_history_is_long_enough() -> None:
    stream = StreamBuilder()
    run = _run()
    _settled(stream)
    assert _alerts(run, stream) == []
    stream.tick(hours=12)
    stream.login(HANDLE, "FR", HOME_NET)  # a known network (a VPN exit, roaming) in a new country
    alerts = _alerts(run, stream)
    assert [alert.rule for alert in alerts] == ["new_country"]
    alert = alerts[0]
    assert alert.detector is DetectorKind.ACCOUNT_TAKEOVER
    assert alert.defender_id == DEFENDER[0].defender_id
    assert alert.severity is AlertSeverity.MEDIUM
    assert alert.actions == ()
    assert alert.explanation["country"] == "FR"
    assert alert.explanation["prior_successes"] == 3
    assert alert.explanation["thresholds"]["min_history"] == 3
    assert DEFENDER[0].pseudonym in alert.summary
    assert HANDLE not in alert.summary
    json.dumps(alert.explanation)


def test_the_first_sign_ins_only_teach_the_history() -> None:
    stream = StreamBuilder()
    stream.login(HANDLE, "KE", HOME_NET)
    stream.tick(days=1)
    stream.login(HANDLE, "FR", OTHER_NET)
    stream.tick(days=1)
    stream.login(HANDLE, "BR", ATTACKER_NET)
    assert _alerts(_run(), stream) == []


def test_a_new_network_in_a_new_country_is_high() -> None:
    stream = StreamBuilder()
    _settled(stream)
    stream.tick(days=2)
    stream.login(HANDLE, "BR", ATTACKER_NET)
    alerts = _alerts(_run(), stream)
    assert [alert.rule for alert in alerts] == ["new_network_and_country"]
    assert alerts[0].severity is AlertSeverity.HIGH
    assert alerts[0].explanation["borders_a_known_country"] is False


def test_a_defender_living_between_two_countries_is_not_alerted() -> None:
    stream = StreamBuilder()
    run = _run()
    stream.login(HANDLE, "KE", HOME_NET)
    stream.tick(days=1)
    stream.login(HANDLE, "GB", OTHER_NET)  # learnt while the history is young
    stream.tick(days=1)
    stream.login(HANDLE, "KE", HOME_NET)
    for week in range(8):  # two months of going back and forth, a few days in each
        stream.tick(days=3)
        stream.login(
            HANDLE, "GB" if week % 2 == 0 else "KE", OTHER_NET if week % 2 == 0 else HOME_NET
        )
        stream.tick(hours=5)
        stream.login(
            HANDLE, "GB" if week % 2 == 0 else "KE", OTHER_NET if week % 2 == 0 else HOME_NET
        )
    assert _alerts(run, stream) == []


def test_a_trip_abroad_alerts_once_and_consistent_later_sign_ins_do_not() -> None:
    stream = StreamBuilder()
    run = _run()
    _settled(stream, logins=5)
    stream.tick(hours=10)  # a flight from Nairobi to Paris
    stream.login(HANDLE, "FR", "AS64510")
    first = _alerts(run, stream)
    assert [alert.rule for alert in first] == ["new_network_and_country"]
    for _ in range(14):  # two weeks abroad, hotel and phone networks
        stream.tick(hours=12)
        stream.login(HANDLE, "FR", "AS64510")
        stream.tick(minutes=30)
        stream.login(HANDLE, "FR", "AS64511")
    stream.tick(hours=11)
    stream.login(HANDLE, "KE", HOME_NET)  # back home
    assert _alerts(run, stream) == []


def test_neighbouring_country_hops_are_not_impossible_travel() -> None:
    stream = StreamBuilder()
    run = _run()
    _settled(stream)
    for _ in range(5):  # across the Kenya-Uganda border and back, half an hour apart
        stream.tick(minutes=30)
        stream.login(HANDLE, "UG", HOME_NET)
        stream.tick(minutes=30)
        stream.login(HANDLE, "KE", HOME_NET)
    assert _alerts(run, stream) == []
    stream.tick(minutes=20)
    stream.login(HANDLE, "TZ", "AS64520")  # a new network in a new, neighbouring country
    alerts = _alerts(run, stream)
    assert [alert.rule for alert in alerts] == ["new_network_and_country"]
    assert alerts[0].severity is AlertSeverity.MEDIUM
    assert alerts[0].explanation["borders_a_known_country"] is True


def test_signing_in_from_two_far_countries_within_an_hour_is_impossible_travel() -> None:
    stream = StreamBuilder()
    run = _run()
    stream.login(HANDLE, "KE", HOME_NET)
    stream.tick(hours=1)
    stream.login(HANDLE, "US", ATTACKER_NET)
    alerts = _alerts(run, stream)
    assert [alert.rule for alert in alerts] == ["impossible_travel"]
    alert = alerts[0]
    assert alert.severity is AlertSeverity.HIGH
    assert alert.explanation["previous_country"] == "KE"
    assert alert.explanation["hours_apart"] == 1.0
    assert alert.explanation["min_travel_km"] == round(countries.min_travel_km("KE", "US") or 0)
    assert alert.explanation["speed_needed_kmh"] > 1000
    assert [event.id for event in alert.events] == ["ev-0", "ev-1"]  # both sign-ins
    assert 0.6 < alert.score <= 1.0
    # The defender signs in again from home: the same pair the same day is the same alert.
    stream.tick(hours=1)
    stream.login(HANDLE, "KE", HOME_NET)
    again = _alerts(run, stream)
    assert [item.dedup_key for item in again] == [alert.dedup_key]
    # The next day it is a new alert.
    stream.tick(days=1)
    stream.login(HANDLE, "US", ATTACKER_NET)
    stream.tick(minutes=30)
    stream.login(HANDLE, "KE", HOME_NET)
    next_day = _alerts(run, stream)
    assert len(next_day) == 1
    assert next_day[0].dedup_key != alert.dedup_key


def test_far_countries_far_enough_apart_in_time_are_a_flight_not_a_takeover() -> None:
    stream = StreamBuilder()
    stream.login(HANDLE, "KE", HOME_NET)
    needed = countries.min_travel_km("KE", "US") or 0
    stream.tick(hours=needed / 1000 + 0.5)
    stream.login(HANDLE, "US", OTHER_NET)
    assert _alerts(_run(), stream) == []


def test_impossible_travel_on_a_high_risk_defender_is_a_compromise_in_progress() -> None:
    stream = StreamBuilder()
    stream.login(HANDLE, "KE", HOME_NET)
    stream.tick(minutes=40)
    stream.login(HANDLE, "RU", ATTACKER_NET)
    alerts = _alerts(_run(risk=RiskLevel.HIGH), stream)
    assert [alert.rule for alert in alerts] == ["compromise_in_progress"]
    assert alerts[0].severity is AlertSeverity.CRITICAL
    assert alerts[0].actions == ("lockdown",)
    assert alerts[0].explanation["rules"] == ["compromise_in_progress", "impossible_travel"]
    assert alerts[0].explanation["cause"] == "impossible_travel_high_risk"


def _failures(
    stream: StreamBuilder, count: int, *, country: str, network: str, every: float
) -> None:
    for _ in range(count):
        stream.tick(seconds=every)
        stream.login(HANDLE, country, network, success=False)


def test_many_failed_sign_ins_in_a_short_window_are_a_failure_burst() -> None:
    stream = StreamBuilder()
    run = _run()
    _failures(stream, 8, country="RU", network=ATTACKER_NET, every=60)
    alerts = _alerts(run, stream)
    assert [alert.rule for alert in alerts] == ["failure_burst"]
    assert alerts[0].severity is AlertSeverity.MEDIUM
    assert alerts[0].explanation["failures"] == 8
    assert alerts[0].explanation["failure_countries"] == ["RU"]
    assert len(alerts[0].events) == 8
    _failures(stream, 3, country="RU", network=ATTACKER_NET, every=60)  # it goes on
    later = _alerts(run, stream)
    assert [alert.dedup_key for alert in later] == [alerts[0].dedup_key]
    assert later[0].explanation["failures"] == 11


def test_a_mistyped_password_or_failures_spread_over_hours_are_not_a_burst() -> None:
    stream = StreamBuilder()
    run = _run()
    _settled(stream)
    stream.tick(hours=2)
    stream.login(HANDLE, "KE", HOME_NET, success=False)
    stream.tick(seconds=20)
    stream.login(HANDLE, "KE", HOME_NET)
    stream.tick(hours=1)
    _failures(stream, 7, country="KE", network=HOME_NET, every=60)  # one short of the threshold
    stream.tick(hours=1)
    _failures(stream, 20, country="KE", network=HOME_NET, every=20 * 60)
    assert _alerts(run, stream) == []


def test_high_risk_defenders_have_a_lower_failure_threshold() -> None:
    stream = StreamBuilder()
    _failures(stream, 5, country="KE", network=HOME_NET, every=60)
    events = list(stream.events)
    assert _alerts(_run(), stream) == []
    stream.events.extend(events)
    alerts = _alerts(_run(risk=RiskLevel.HIGH), stream)
    assert [alert.rule for alert in alerts] == ["failure_burst"]
    assert alerts[0].severity is AlertSeverity.HIGH


def test_a_success_from_a_new_place_after_a_failure_burst_is_a_compromise_in_progress() -> None:
    stream = StreamBuilder()
    run = _run()
    _settled(stream)
    stream.tick(days=1)
    _failures(stream, 10, country="RU", network=ATTACKER_NET, every=30)
    stream.tick(minutes=2)
    stream.login(HANDLE, "RU", ATTACKER_NET)
    alerts = {alert.rule: alert for alert in _alerts(run, stream)}
    assert set(alerts) == {"failure_burst", "compromise_in_progress"}
    alert = alerts["compromise_in_progress"]
    assert alert.severity is AlertSeverity.CRITICAL
    assert alert.actions == ("lockdown",)
    assert alert.explanation["cause"] == "success_after_failure_burst"
    assert alert.explanation["network_seen_in_failures"] is True
    assert "new_network_and_country" in alert.explanation["rules"]
    assert len(alert.events) == 11  # the failures and the success
    assert alert.score >= 0.9


def test_a_burst_then_success_is_caught_even_before_the_history_is_learnt() -> None:
    stream = StreamBuilder()
    _failures(stream, 9, country="KE", network=ATTACKER_NET, every=30)
    stream.tick(minutes=1)
    stream.login(HANDLE, "KE", ATTACKER_NET)  # the guessing network got in
    rules = [alert.rule for alert in _alerts(_run(), stream)]
    assert "compromise_in_progress" in rules


def test_the_defender_finding_their_password_after_failures_is_not_a_compromise() -> None:
    stream = StreamBuilder()
    run = _run()
    _settled(stream)
    stream.tick(days=1)
    _failures(stream, 8, country="KE", network=HOME_NET, every=30)
    stream.tick(minutes=1)
    stream.login(HANDLE, "KE", HOME_NET)
    assert [alert.rule for alert in _alerts(run, stream)] == ["failure_burst"]


def test_redelivered_sign_ins_change_nothing() -> None:
    stream = StreamBuilder()
    detector = AccountTakeoverDetector()
    run = _run(detector)
    _settled(stream)
    stream.tick(hours=12)
    stream.login(HANDLE, "FR", HOME_NET)
    batch = list(stream.events)
    assert len(_alerts(run, stream)) == 1
    before = json.dumps(detector.snapshot(), sort_keys=True)
    assert run.process(batch).alerts == []  # the same batch again
    assert json.dumps(detector.snapshot(), sort_keys=True) == before
    failures = StreamBuilder(at=stream.at)
    _failures(failures, 4, country="RU", network=ATTACKER_NET, every=30)
    for _ in range(3):  # four distinct failures delivered three times are four
        assert run.process(failures.events).alerts == []


def test_sign_ins_of_accounts_that_are_not_enrolled_are_ignored() -> None:
    stream = StreamBuilder()
    stream.login("someone_else", "KE", HOME_NET)
    stream.tick(minutes=30)
    stream.login("someone_else", "US", ATTACKER_NET)
    _failures(stream, 3, country="KE", network=HOME_NET, every=1)
    detector = AccountTakeoverDetector()
    assert _alerts(_run(detector), stream) == []
    assert detector.histories == {
        DEFENDER[0].defender_id: detector.histories[DEFENDER[0].defender_id]
    }


def test_the_history_of_a_defender_who_leaves_is_forgotten() -> None:
    stream = StreamBuilder()
    detector = AccountTakeoverDetector()
    _settled(stream)
    _alerts(_run(detector), stream)
    assert set(detector.histories) == {DEFENDER[0].defender_id}
    stream.login("someone_else", "KE", HOME_NET)
    pipeline(index_of(protected("@someone_else")), detector).process(stream.events)
    assert DEFENDER[0].defender_id not in detector.histories
    assert len(detector.histories) == 1


def test_state_survives_a_snapshot_and_restore() -> None:
    stream = StreamBuilder()
    first = AccountTakeoverDetector()
    _settled(stream)
    _failures(stream, 5, country="RU", network=ATTACKER_NET, every=30)
    assert _alerts(_run(first), stream) == []
    second = AccountTakeoverDetector()
    second.restore(json.loads(json.dumps(first.snapshot())))
    assert json.dumps(second.snapshot(), sort_keys=True) == json.dumps(
        first.snapshot(), sort_keys=True
    )
    _failures(stream, 3, country="RU", network=ATTACKER_NET, every=30)  # 8 in the window now
    stream.tick(minutes=1)
    stream.login(HANDLE, "RU", ATTACKER_NET)
    rules = {alert.rule for alert in _alerts(_run(second), stream)}
    assert rules == {"failure_burst", "compromise_in_progress"}


def test_country_overrides_change_the_thresholds() -> None:
    stream = StreamBuilder()
    _failures(stream, 4, country="KE", network=HOME_NET, every=30)
    book = ThresholdBook()
    book.set_country("KE", "account_takeover", {"failures": 4})
    kenyan = pipeline(index_of(DEFENDER), AccountTakeoverDetector(), thresholds=book)
    assert [alert.rule for alert in kenyan.process(stream.events).alerts] == ["failure_burst"]
    mexican = protected(f"@{HANDLE}", country="MX")
    other = pipeline(index_of(mexican), AccountTakeoverDetector(), thresholds=book)
    assert other.process(stream.events).alerts == []


def test_the_country_table_has_sensible_distances() -> None:
    assert countries.neighbours("KE", "UG")
    assert countries.neighbours("UG", "KE")
    assert countries.min_travel_km("KE", "UG") == 0.0
    assert countries.min_travel_km("FR", "GB") == 0.0  # close enough: the radii cover the gap
    assert countries.min_travel_km("KE", "KE") is None
    assert countries.min_travel_km("KE", "ZZ") is None  # unknown: never impossible
    assert 3000 < (countries.min_travel_km("KE", "FR") or 0) < 6109  # Nairobi-Paris ~6,500 km
    assert 9000 < (countries.min_travel_km("KE", "US") or 0) < 13700
    assert len(countries.TABLE) > 240
