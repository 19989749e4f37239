"""Impersonation: look-alike handles, names, avatars and bios of protected defenders."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hrdshield.defenders.enums import RiskLevel
from hrdshield.demo_platform.enums import AttackKind
from hrdshield.demo_platform.generator import scripted_attack
from hrdshield.demo_platform.world import (
    DEMO_DEFENDERS,
    account_created_event,
)
from hrdshield.detection import schema
from hrdshield.detection.detectors.confusables import skeleton
from hrdshield.detection.detectors.impersonation import ImpersonationDetector
from hrdshield.detection.detectors.lookalikes import LookalikeIndex
from hrdshield.detection.enums import AlertSeverity, DetectorKind
from hrdshield.detection.index import DefenderIndex
from hrdshield.detection.pipeline import Pipeline
from hrdshield.detection.schema import Event
from hrdshield.detection.thresholds import ThresholdBook
from tests.detection.demo_cast import demo_index, demo_world
from tests.detection.faults import failing_on
from tests.detection.streams import StreamBuilder, index_of, pipeline, protected, test_hasher

AVATAR = "f0e1d2c3b4a59687"
NEAR_AVATAR = "f0e1d2c3b4a59684"  # two bits away: the same picture, recompressed
OTHER_AVATAR = "0f1e2d3c4b5a6978"
AMARA = protected("@amara_watch", country="GB", display_name="Amara Kora")
LUCIA = protected("@lucia_rios", country="MX", risk=RiskLevel.HIGH, display_name="Lucía Ríos")
ANA = protected("@ana", country="KE", display_name="Ana Wambui")
BIO = "Land rights lawyer in the valley. Views are my own."


def _actor(handle: str, account: str | None = None) -> dict[str, Any]:
    return {"account_id": account or f"acct-{handle}", "handle": f"@{handle}"}


def _created(
    stream: StreamBuilder, handle: str, name: str, *, account: str | None = None, **profile: Any
) -> Event:
    stream.tick(minutes=1)
    section = {"display_name": name, "country": "GB", "language": "en", **profile}
    return stream.emit("account_created", _actor(handle, account), profile=section)


def _changed(
    stream: StreamBuilder, handle: str, *, account: str | None = None, **profile: Any
) -> Event:
    stream.tick(minutes=1)
    return stream.emit("profile_changed", _actor(handle, account), profile=profile)


def _run(
    *entries: Any, thresholds: ThresholdBook | None = None
) -> tuple[Pipeline, ImpersonationDetector]:
    detector = ImpersonationDetector()
    return pipeline(index_of(*entries), detector, thresholds=thresholds), detector


def _own_profile(stream: StreamBuilder, **profile: Any) -> None:
    """The defender's own account shows its avatar and bio (the detector learns them)."""
    _created(stream, "amara_watch", "Amara Kora", **profile)


# --- handles ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "handle",
    [
        "\u0430mara_watch",  # Cyrillic a
        "amar\u0430_w\u0430tch",
        "am\u0430r\u0430_w\u0430tch",
        "arnara_watch",  # rn for m
        "amara_vvatch",  # vv for w
        "amara.watch",
        "amara-watch",
        "amarawatch",
        "am\u200bara_watch",  # a zero-width space
        "ama\u0301ra_watch",  # a combining accent
        "\u03b1mara_watch",  # Greek alpha
        "amara_wat\u0441h",  # Cyrillic es
    ],
)
def test_a_handle_with_the_same_skeleton_is_an_impersonation(handle: str) -> None:
    stream = StreamBuilder()
    _created(stream, handle, "New account")
    run, _ = _run(AMARA, LUCIA)
    alerts = run.process(stream.events).alerts
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.detector is DetectorKind.IMPERSONATION
    assert alert.defender_id == AMARA[0].defender_id
    assert alert.severity is AlertSeverity.HIGH
    assert set(alert.explanation["signals"]) == {"handle_identical"}
    assert alert.explanation["score"] >= alert.explanation["threshold"]
    assert alert.actions == ()  # nothing automatic: a reviewer judges
    assert AMARA[0].pseudonym in alert.summary
    json.dumps(alert.explanation)


def test_a_capital_i_for_a_small_l_is_caught() -> None:
    stream = StreamBuilder()
    _created(stream, "Iucia_rios", "Lucia")
    alerts = _run(AMARA, LUCIA)[0].process(stream.events).alerts
    assert [alert.defender_id for alert in alerts] == [LUCIA[0].defender_id]


@pytest.mark.parametrize(
    ("handle", "signal"),
    [
        ("amara_watch_official", "handle_affixed"),
        ("the_real_amara_watch", "handle_affixed"),
        ("amara_watch2", "handle_affixed"),
        ("amara_watchofficial", "handle_affixed"),
        ("amara_watxh", "handle_near"),  # one letter changed
        ("amara_wacth", "handle_near"),  # two swapped
        ("amara_watchh", "handle_near"),  # one added
        ("amara_wath", "handle_near"),  # one dropped
    ],
)
def test_an_affixed_or_near_handle_needs_a_second_signal(handle: str, signal: str) -> None:
    alone = StreamBuilder()
    _created(alone, handle, "Someone")
    assert _run(AMARA)[0].process(alone.events).alerts == []
    with_name = StreamBuilder()
    _created(with_name, handle, "Amara Kora")
    alerts = _run(AMARA)[0].process(with_name.events).alerts
    assert len(alerts) == 1
    assert set(alerts[0].explanation["signals"]) == {signal, "name_identical"}


def test_a_high_risk_defender_is_alerted_on_an_affixed_handle_alone() -> None:
    stream = StreamBuilder()
    _created(stream, "lucia_rios_official", "Someone")
    alerts = _run(LUCIA)[0].process(stream.events).alerts
    assert [alert.explanation["signals"] for alert in alerts] == [{"handle_affixed": 0.5}]
    assert alerts[0].explanation["threshold"] == 0.5


def test_very_short_handles_are_not_matched_on_their_own() -> None:
    stream = StreamBuilder()
    _created(stream, "\u0430na", "Someone")  # Cyrillic a: the same skeleton as @ana
    _created(stream, "anna", "Someone else")
    assert _run(ANA)[0].process(stream.events).alerts == []


def test_unrelated_handles_do_not_alert() -> None:
    stream = StreamBuilder()
    for handle in ("amaranth_gardens", "watch_repairs", "amara", "lucia", "river_watch"):
        _created(stream, handle, "Gardener")
    assert _run(AMARA, LUCIA)[0].process(stream.events).alerts == []


# --- names, avatars, bios -----------------------------------------------------------------------


def test_a_similar_name_with_the_defenders_own_avatar_is_an_impersonation() -> None:
    stream = StreamBuilder()
    _own_profile(stream, avatar_phash=AVATAR)
    _created(stream, "kora_news_daily", "Amara Kora.", avatar_phash=NEAR_AVATAR)
    alerts = _run(AMARA)[0].process(stream.events).alerts
    assert len(alerts) == 1
    assert set(alerts[0].explanation["signals"]) == {"name_identical", "same_avatar"}
    assert alerts[0].explanation["avatar_distance"] == 2


@pytest.mark.parametrize("name", ["Amara K0ra", "\uff21mara Kora", "Kora Amara", "AMARA  KORA"])
def test_name_look_alikes_and_reorderings_count_as_the_same_name(name: str) -> None:
    stream = StreamBuilder()
    _own_profile(stream, avatar_phash=AVATAR)
    _created(stream, "someone_else_42", name, avatar_phash=AVATAR)
    alerts = _run(AMARA)[0].process(stream.events).alerts
    assert "name_identical" in alerts[0].explanation["signals"]


def test_a_display_name_copying_the_defenders_handle_counts_as_their_name() -> None:
    stream = StreamBuilder()
    _own_profile(stream, avatar_phash=AVATAR)
    _created(stream, "fresh_account_1", "amara.watch")  # the name alone: not enough
    _created(stream, "fresh_account_2", "amara_watch", avatar_phash=AVATAR)
    alerts = _run(AMARA)[0].process(stream.events).alerts
    assert [alert.events[-1].actor.handle for alert in alerts if alert.events[-1].actor] == [
        "@fresh_account_2"
    ]
    assert set(alerts[0].explanation["signals"]) == {"name_identical", "same_avatar"}


def test_a_namesake_with_another_handle_and_avatar_is_not_an_impersonation() -> None:
    stream = StreamBuilder()
    _own_profile(stream, avatar_phash=AVATAR, bio=BIO)
    _created(stream, "amara_k_photos", "Amara Kora", avatar_phash=OTHER_AVATAR)
    _created(stream, "kora_family", "Amara Koras", bio="Grandmother, baker, gardener.")
    assert _run(AMARA)[0].process(stream.events).alerts == []


def test_a_name_shared_by_many_accounts_counts_for_less() -> None:
    maria = protected("@maria_lopez_hr", country="MX", display_name="Maria Lopez")
    stream = StreamBuilder()
    _created(stream, "maria_lopez_hr", "Maria Lopez", avatar_phash=AVATAR)  # the defender
    _created(stream, "some_new_account", "Maria Lopez", avatar_phash=AVATAR)
    uncommon = _run(maria)[0].process(stream.events).alerts
    assert len(uncommon) == 1

    common = StreamBuilder()
    _created(common, "maria_lopez_hr", "Maria Lopez", avatar_phash=AVATAR)
    for number in range(6):
        _created(common, f"namesake_{number}", "Maria Lopez")
    _created(common, "some_new_account", "Maria Lopez", avatar_phash=AVATAR)
    assert _run(maria)[0].process(common.events).alerts == []


def test_copying_the_bio_or_avatar_of_a_high_risk_defender_is_critical() -> None:
    stream = StreamBuilder()
    _created(stream, "lucia_rios", "Lucía Ríos", bio=BIO, avatar_phash=AVATAR)
    _created(stream, "luc\u0456a_rios", "Lucía Ríos", bio=BIO)
    _created(stream, "lucia_r1os", "Lucía Ríos", avatar_phash=AVATAR)
    _created(stream, "lucia_rlos", "Lucia Rios")
    alerts = _run(LUCIA)[0].process(stream.events).alerts
    by_handle = {alert.events[-1].actor.handle: alert for alert in alerts if alert.events[-1].actor}
    assert by_handle["@luc\u0456a_rios"].severity is AlertSeverity.CRITICAL
    assert "copied_bio" in by_handle["@luc\u0456a_rios"].explanation["signals"]
    assert by_handle["@lucia_r1os"].severity is AlertSeverity.CRITICAL
    assert by_handle["@lucia_rlos"].severity is AlertSeverity.HIGH  # copies neither


def test_copying_a_medium_risk_defenders_bio_is_high() -> None:
    stream = StreamBuilder()
    _own_profile(stream, bio=BIO)
    _created(stream, "amara_watch_backup", "Amara Kora", bio=BIO)
    alerts = _run(AMARA)[0].process(stream.events).alerts
    assert alerts[0].severity is AlertSeverity.HIGH
    assert set(alerts[0].explanation["signals"]) == {
        "handle_affixed",
        "name_identical",
        "copied_bio",
    }


# --- the defender's own account -----------------------------------------------------------------


def test_the_defenders_own_renames_never_alert_and_teach_their_avatar() -> None:
    stream = StreamBuilder()
    _created(stream, "amara_watch", "Amara Kora")
    _changed(stream, "amara_watch", display_name="Amara K.", avatar_phash=AVATAR)
    # A handle change: the index knows the account, so the new handle is still the defender's.
    _changed(stream, "amara_watch_2027", account="acct-amara_watch", display_name="Amara Kora")
    run, detector = _run(AMARA)
    assert run.process(stream.events).alerts == []
    assert detector.avatars[AMARA[0].defender_id] == [AVATAR]
    stream.events.clear()
    _created(stream, "kora_updates", "Amara Kora", avatar_phash=AVATAR)
    alerts = run.process(stream.events).alerts
    assert set(alerts[0].explanation["signals"]) == {"name_identical", "same_avatar"}


def test_an_account_renamed_to_look_like_a_defender_is_caught() -> None:
    stream = StreamBuilder()
    _created(stream, "plain_account", "Plain", account="acct-x")
    _changed(stream, "arnara_watch", account="acct-x")  # settings may come without a profile
    _changed(stream, "arnara_watch", account="acct-x", display_name="Amara Kora")
    run, _ = _run(AMARA)
    alerts = run.process(stream.events).alerts
    assert len(alerts) == 1  # one draft per alert and batch: the latest, with both signals
    assert set(alerts[0].explanation["signals"]) == {"handle_identical", "name_identical"}
    assert [event.id for event in alerts[0].events] == [event.id for event in stream.events[1:]]


# --- delivery, state, thresholds, scale ---------------------------------------------------------


def test_redelivery_changes_nothing_and_new_signals_update_the_same_alert() -> None:
    stream = StreamBuilder()
    _own_profile(stream, bio=BIO)
    _created(stream, "arnara_watch", "New here", account="acct-x")
    run, _ = _run(AMARA)
    first = run.process(stream.events).alerts
    assert run.process(stream.events).alerts == []
    stream.events.clear()
    _changed(stream, "arnara_watch", account="acct-x", display_name="New here")  # nothing new
    assert run.process(stream.events).alerts == []
    _changed(stream, "arnara_watch", account="acct-x", bio=BIO)
    later = run.process(stream.events[-1:]).alerts
    assert [alert.dedup_key for alert in later] == [first[0].dedup_key]
    assert set(later[0].explanation["signals"]) == {"handle_identical", "copied_bio"}


def test_a_poison_event_loses_no_alert() -> None:
    stream = StreamBuilder()
    _created(stream, "arnara_watch", "Fresh")
    poison = _created(stream, "plain_account", "Plain")
    _created(stream, "luc\u0456a_rios", "Fresh")
    run = pipeline(
        index_of(AMARA, LUCIA), failing_on(ImpersonationDetector(), poison.id, "_compare")
    )
    result = run.process(stream.events)
    assert [item.event.id for item in result.poisoned] == [poison.id]
    assert {alert.defender_id for alert in result.alerts} == {
        AMARA[0].defender_id,
        LUCIA[0].defender_id,
    }
    assert all(len(alert.events) == 1 for alert in result.alerts)  # evidence not doubled


def test_state_survives_a_snapshot_and_restore() -> None:
    stream = StreamBuilder()
    _own_profile(stream, avatar_phash=AVATAR, bio=BIO)
    _created(stream, "arnara_watch", "Fresh", account="acct-x")
    first = ImpersonationDetector()
    index = index_of(AMARA)
    assert len(pipeline(index, first).process(stream.events).alerts) == 1
    second = ImpersonationDetector()
    second.restore(json.loads(json.dumps(first.snapshot())))
    run = pipeline(index, second)
    assert run.process(stream.events).alerts == []  # redelivered after a restart
    stream.events.clear()
    _changed(stream, "arnara_watch", account="acct-x", avatar_phash=AVATAR)
    _created(stream, "kora_updates", "Amara Kora", avatar_phash=AVATAR)
    alerts = {alert.dedup_key: alert for alert in run.process(stream.events).alerts}
    renamed = alerts[f"impersonation:{AMARA[0].defender_id}:acct-x"]
    assert set(renamed.explanation["signals"]) == {"handle_identical", "same_avatar"}
    assert len(renamed.events) == 2  # the evidence from before the restart is kept
    assert len(alerts) == 2


def test_country_overrides_change_the_thresholds() -> None:
    book = ThresholdBook()
    book.set_country("GB", "impersonation", {"min_score": 0.8})
    stream = StreamBuilder()
    _created(stream, "arnara_watch", "Fresh")
    _created(stream, "luc\u0456a_rios", "Fresh")
    alerts = _run(AMARA, LUCIA, thresholds=book)[0].process(stream.events).alerts
    assert {alert.defender_id for alert in alerts} == {LUCIA[0].defender_id}


def test_the_lookalike_index_follows_enrolments_without_rebuilding() -> None:
    entries = [
        protected(f"@defender_{number:05d}", display_name=f"Person {number:05d}")
        for number in range(2000)
    ]
    lookalikes = LookalikeIndex()
    first = index_of(*entries)
    lookalikes.sync(first)
    found = lookalikes.by_handle("@defender_0l234")  # a small l and a zero: 01234
    assert {owner for owner, match in found.items() if match.how == "identical"} == {
        entries[1234][0].defender_id
    }
    assert {match.how for match in found.values()} == {"identical", "near"}  # 01235, 01244...
    renamed = protected(
        "@defender_01234", defender_id=entries[1234][0].defender_id, display_name="Zawadi"
    )
    second = DefenderIndex.build(
        test_hasher,
        [renamed[0], *(entry[0] for entry in entries[:1000])],
        [digest for entry in (renamed, *entries[:1000]) for digest in entry[1]],
    )
    lookalikes.sync(second)
    assert lookalikes.by_name(("zawadl",)) == {renamed[0].defender_id}
    gone = lookalikes.by_handle("@defender_01500")  # no longer enrolled
    assert entries[1500][0].defender_id not in gone
    assert all(match.how == "near" for match in gone.values())  # only 00500 and such remain
    assert len(lookalikes.entries) == 1001


def test_skeletons_fold_what_looks_alike_and_keep_what_does_not() -> None:
    assert skeleton("\U0001d41a\U0001d426\U0001d41a\U0001d42b\U0001d41a") == skeleton("amara")
    assert skeleton("AMARA") == skeleton("amara") == skeleton("am\u0430ra")
    assert skeleton("cl0ud") == skeleton("cloud")
    assert skeleton("amara") != skeleton("amaru")
    assert skeleton("rnarco") == skeleton("marco")


# --- the demo platform's scripted impersonation -------------------------------------------------


def test_the_demo_platforms_scripted_impersonation_is_caught_every_time() -> None:
    index, defenders = demo_index()
    world = demo_world()
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    own = [
        account_created_event(target, profile.bio, now - timedelta(days=900), f"own-{number}")
        for number, (target, profile) in enumerate(
            zip(world.defenders, DEMO_DEFENDERS, strict=True)
        )
    ]
    run = pipeline(index, ImpersonationDetector())
    assert run.process([schema.convert(event) for event in own]).alerts == []
    handles = []
    for attempt in range(45):  # later attempts collide with earlier handles: "_official" etc.
        target = world.defenders[attempt % 3]
        defender = defenders[attempt % 3]
        events = scripted_attack(
            AttackKind.IMPERSONATION, world, now + timedelta(hours=attempt), target=target
        )
        alerts = run.process([schema.convert(event) for event in events]).alerts
        assert {alert.defender_id for alert in alerts} == {defender.defender_id}
        signals = set().union(*(alert.explanation["signals"] for alert in alerts))
        assert {"name_identical", "copied_bio"} <= signals
        worst = max(alerts, key=lambda alert: alert.score)
        wanted = AlertSeverity.CRITICAL if defender.high_risk else AlertSeverity.HIGH
        assert worst.severity is wanted
        handles.append(events[0]["actor"]["handle"])
    assert any(handle.endswith(("_", "_official", "_new")) for handle in handles)
