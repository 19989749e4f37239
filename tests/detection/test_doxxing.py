"""Doxxing: enrolled identifiers in any written form, and personal data aimed at a defender."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from hrdshield.defenders.enums import IdentifierKind, RiskLevel
from hrdshield.demo_platform.enums import AttackKind
from hrdshield.demo_platform.generator import scripted_attack
from hrdshield.detection import schema
from hrdshield.detection.detectors.doxxing import DoxxingDetector
from hrdshield.detection.enums import AlertSeverity, DetectorKind
from hrdshield.detection.pipeline import AlertDraft
from hrdshield.detection.schema import Event
from hrdshield.detection.thresholds import ThresholdBook
from tests.detection.demo_cast import demo_index, demo_world
from tests.detection.faults import failing_on
from tests.detection.streams import StreamBuilder, index_of, pipeline, protected

PHONE = "+44 20 7946 0456"  # Ofcom's drama range for London: valid, and reserved for fiction
EMAIL = "amara@example.test"
ADDRESS = "12 Example Lane, Testville"
NATIONAL_ID = "AB-123.456/7"
AMARA = protected(
    "@amara_watch",
    country="GB",
    identifiers_in=[
        (IdentifierKind.PHONE, PHONE),
        (IdentifierKind.EMAIL, EMAIL),
        (IdentifierKind.ADDRESS, ADDRESS),
        (IdentifierKind.NATIONAL_ID, NATIONAL_ID),
    ],
)
LUCIA = protected(
    "@lucia_rios",
    country="MX",
    risk=RiskLevel.HIGH,
    identifiers_in=[(IdentifierKind.PHONE, "+1 555 0100")],
)
KARIM = protected(  # enrolled in Kenya with a UK mobile
    "@karim_sadiq", country="KE", identifiers_in=[(IdentifierKind.PHONE, "+44 7700 900123")]
)
VALUES = (PHONE, "7946", "0456", EMAIL, "example lane", "testville", "123.456")


def _post(stream: StreamBuilder, text: str, *, actor: str = "leaker", **kw: Any) -> Event:
    targets = [stream.account(name) for name in kw.pop("targets", ())]
    return stream.emit(
        "post",
        stream.account(actor),
        targets=targets,
        content={"text": text, "lang": kw.pop("lang", "en"), "post_id": f"p{len(stream.events)}"},
    )


def _message(stream: StreamBuilder, text: str, target: str, actor: str = "stranger") -> Event:
    return stream.emit(
        "direct_message",
        stream.account(actor),
        targets=[stream.account(target)],
        content={"text": text, "lang": "en"},
    )


def _alerts(*texts: str, book: ThresholdBook | None = None, **kw: Any) -> list[AlertDraft]:
    stream = StreamBuilder()
    for text in texts:
        stream.tick(seconds=5)
        _post(stream, text, **kw)
    run = pipeline(index_of(AMARA, LUCIA, KARIM), DoxxingDetector(), thresholds=book)
    return run.process(stream.events).alerts


def _kinds(alerts: list[AlertDraft]) -> set[tuple[str, str]]:
    return {(alert.explanation["kind"], alert.defender_id or "") for alert in alerts}


def _never_names_the_value(alert: AlertDraft) -> None:
    written = (json.dumps(alert.explanation) + alert.summary).casefold()
    for value in VALUES:
        assert value.casefold() not in written


# --- enrolled identifiers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "severity"),
    [
        (f"Call her on {PHONE} any time", "phone", AlertSeverity.HIGH),
        (f"Her mail is {EMAIL}, spread it", "email", AlertSeverity.HIGH),
        (f"She lives at {ADDRESS}. Pay a visit.", "address", AlertSeverity.CRITICAL),
        (f"Her ID is {NATIONAL_ID} if anyone needs it", "national_id", AlertSeverity.HIGH),
    ],
)
def test_an_enrolled_identifier_alerts_its_owner_even_when_the_post_does_not_name_them(
    text: str, kind: str, severity: AlertSeverity
) -> None:
    alerts = _alerts(text)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.detector is DetectorKind.DOXXING
    assert alert.defender_id == AMARA[0].defender_id
    assert alert.rule == "enrolled_identifier"
    assert alert.severity is severity
    assert alert.explanation["kind"] == kind
    assert alert.explanation["aimed_at_defender"] is False
    assert AMARA[0].pseudonym in alert.summary
    assert "amara_watch" not in alert.summary
    _never_names_the_value(alert)
    json.dumps(alert.explanation)


@pytest.mark.parametrize(
    ("written", "form"),
    [
        ("+44 20 7946 0456", "international"),
        ("+442079460456", "international"),
        ("0044 20 7946 0456", "international"),
        ("0044-20-7946-0456", "international"),
        ("+44 (0)20 7946 0456", "international"),
        ("+44.20.7946.0456", "international"),
        (
            "\uff0b\uff14\uff14 \uff12\uff10 \uff17\uff19\uff14\uff16 \uff10\uff14\uff15\uff16",
            "international",
        ),
        ("020 7946 0456", "national"),
        ("(020) 7946-0456", "national"),
        ("020.7946.0456", "national"),
        ("020/7946/0456", "national"),
        ("0 2 0 7 9 4 6 0 4 5 6", "national"),
        ("020 dash 7946 dash 0456", "national"),
        ("\u0660\u0662\u0660 \u0667\u0669\u0664\u0666 \u0660\u0664\u0665\u0666", "national"),
        ("zero two zero seven nine four six zero four five six", "spelled_out"),
        ("cero dos cero siete nueve cuatro seis cero cuatro cinco seis", "spelled_out"),
        ("plus four four two zero seven nine four six zero four five six", "spelled_out"),
    ],
)
def test_every_written_form_of_an_enrolled_phone_matches(written: str, form: str) -> None:
    alerts = _alerts(f"her number: {written} - call and tell her what you think")
    assert _kinds(alerts) == {("phone", AMARA[0].defender_id)}
    assert form in alerts[0].explanation["written_forms"]


def test_a_foreign_number_written_locally_is_read_in_the_enrolled_countries() -> None:
    # Karim is in Kenya with a UK mobile; with a defender enrolled in GB, "07700 900123" is
    # read as a British number too, and the international form matches from anywhere.
    for text in ("ring 07700 900123 tonight", "ring +44 7700 900123 tonight"):
        assert _kinds(_alerts(text)) == {("phone", KARIM[0].defender_id)}


def test_a_fiction_range_number_with_a_country_code_matches() -> None:
    alerts = _alerts("Teléfono: +1 555 0100. Vayan a visitarla.", lang="es")
    assert _kinds(alerts) == {("phone", LUCIA[0].defender_id)}


@pytest.mark.parametrize(
    "written",
    [
        "amara@example.test",
        "Amara@Example.TEST",
        "\uff41\uff4d\uff41\uff52\uff41\uff20example.test",
        "amara at example dot test",
        "amara [at] example [dot] test",
        "amara(at)example(dot)test",
        "amara {at} example {dot} test",
        "amara @ example . test",
        "amara arroba example punto test",
        "amara at example.test",
    ],
)
def test_every_written_form_of_an_enrolled_email_matches(written: str) -> None:
    alerts = _alerts(f"write to {written}. Tell her.")
    assert _kinds(alerts) == {("email", AMARA[0].defender_id)}
    plain = written.casefold() == EMAIL or "\uff20" in written
    assert alerts[0].explanation["written_forms"] == ["plain" if plain else "obfuscated"]


@pytest.mark.parametrize(
    "written",
    [
        "12 Example Lane, Testville",
        "12 example lane testville",
        "12 EXAMPLE LANE -- TESTVILLE!",
        "12, Example Lane \u2014 Testville.",
        "\u00ab12 Example Lane, Testville\u00bb",
        "12\nExample   Lane,\nTestville",
    ],
)
def test_every_written_form_of_an_enrolled_address_matches(written: str) -> None:
    alerts = _alerts(f"found where she lives: {written} go there")
    assert _kinds(alerts) == {("address", AMARA[0].defender_id)}
    assert alerts[0].severity is AlertSeverity.CRITICAL


def test_an_enrolled_address_inside_a_long_text_in_another_script_matches() -> None:
    filler = " ".join(["كلام"] * 60)
    alerts = _alerts(f"{filler} يسكن في {ADDRESS}. {filler}", lang="ar")
    assert _kinds(alerts) == {("address", AMARA[0].defender_id)}


@pytest.mark.parametrize("written", ["AB-123.456/7", "ab 123 456 7", "AB1234567", "(AB 1234567)"])
def test_every_written_form_of_an_enrolled_national_id_matches(written: str) -> None:
    assert _kinds(_alerts(f"her id {written} lol")) == {("national_id", AMARA[0].defender_id)}


def test_one_post_with_several_identifiers_raises_one_alert_per_kind() -> None:
    alerts = _alerts(f"{ADDRESS}. Phone {PHONE}. Mail {EMAIL}.")
    assert _kinds(alerts) == {
        (kind, AMARA[0].defender_id) for kind in ("address", "phone", "email")
    }
    assert len({alert.dedup_key for alert in alerts}) == 3


def test_an_identifier_shared_by_two_defenders_alerts_both() -> None:
    family = protected(
        "@amara_sister", country="GB", identifiers_in=[(IdentifierKind.ADDRESS, ADDRESS)]
    )
    stream = StreamBuilder()
    _post(stream, f"They both live at {ADDRESS}")
    alerts = pipeline(index_of(AMARA, family), DoxxingDetector()).process(stream.events).alerts
    assert {alert.defender_id for alert in alerts} == {AMARA[0].defender_id, family[0].defender_id}


# --- what must not alert ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Call the office on +44 20 7946 0999 tomorrow",  # someone else's number
        "The hearing is on 2026-11-30 at 10:30, and again 30/11/2026",
        "Tickets cost £1,234.56 or KSh 12,000 at the door",
        "Order #20794604 shipped, tracking 207946045600",
        "I walked down the street for 3 hours, 12 people came to the lane",
        "Room 12, Example Hall; lane 3 of the pool",
        "just an ordinary post about the weather",
        "meet me at the park at noon",
        "amara at example dot com",  # an address that is not hers
        "AB-123.456/8 is a different id",
    ],
)
def test_texts_without_an_enrolled_identifier_do_not_alert(text: str) -> None:
    assert _alerts(text) == []


def test_a_defenders_own_post_with_their_own_number_does_not_alert() -> None:
    stream = StreamBuilder()
    _post(stream, f"Press can reach me on {PHONE}", actor="amara_watch")
    run = pipeline(index_of(AMARA, LUCIA), DoxxingDetector())
    assert run.process(stream.events).alerts == []


def test_a_defender_posting_another_defenders_address_is_still_an_alert() -> None:
    stream = StreamBuilder()
    _post(stream, f"she lives at {ADDRESS}", actor="lucia_rios")
    alerts = pipeline(index_of(AMARA, LUCIA), DoxxingDetector()).process(stream.events).alerts
    assert _kinds(alerts) == {("address", AMARA[0].defender_id)}


def test_the_leaker_is_remembered_as_abusive() -> None:
    stream = StreamBuilder()
    _post(stream, f"She lives at {ADDRESS}")
    run = pipeline(index_of(AMARA), DoxxingDetector())
    run.process(stream.events)
    assert run.accounts.abuse_count("acct-leaker") == 1


# --- personal data aimed at a defender ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "severity"),
    [
        ("we know where you are: -1.2921, 36.8219", "coordinates", AlertSeverity.CRITICAL),
        ("you are at 1°17'31.6\"S 36°49'18.8\"E", "coordinates", AlertSeverity.CRITICAL),
        ("see https://maps.example/?q=-1.2921,36.8219", "coordinates", AlertSeverity.CRITICAL),
        ("geo:-1.2921,36.8219 tonight", "coordinates", AlertSeverity.CRITICAL),
        ("you live at 44 Imaginary Road", "street_address", AlertSeverity.HIGH),
        ("vives en Calle Inventada 742, ¿verdad?", "street_address", AlertSeverity.HIGH),
        ("tu habites 9 rue de l'Exemple", "street_address", AlertSeverity.HIGH),
        ("ты живёшь: ул. Примерная, д. 5", "street_address", AlertSeverity.HIGH),
        ("نعرف عنوانك شارع المثال 12", "street_address", AlertSeverity.HIGH),
        ("your number is +44 7700 900999, right?", "phone_number", AlertSeverity.MEDIUM),
        ("your number is 020 7946 0999, right?", "phone_number", AlertSeverity.MEDIUM),
        ("your DNI is 12345678Z", "id_number", AlertSeverity.MEDIUM),
        ("passport no. X1234567 lol", "id_number", AlertSeverity.MEDIUM),
    ],
)
def test_personal_data_in_a_text_aimed_at_a_defender_alerts_with_less_confidence(
    text: str, kind: str, severity: AlertSeverity
) -> None:
    stream = StreamBuilder()
    stream.reply("stranger", "amara_watch", text)
    alerts = pipeline(index_of(AMARA), DoxxingDetector()).process(stream.events).alerts
    assert _kinds(alerts) == {(kind, AMARA[0].defender_id)}
    alert = alerts[0]
    assert alert.rule == "personal_data_aimed_at_defender"
    assert alert.severity is severity
    assert alert.explanation["matched"] == "shape only"
    assert "possible personal data about a defender" in alert.summary
    assert alert.score < 0.9  # less sure than a match of an enrolled identifier


@pytest.mark.parametrize(
    "text",
    [
        "we know where you are: -1.2921, 36.8219",
        "you live at 44 Imaginary Road",
        "your number is +44 7700 900999, right?",
        "your DNI is 12345678Z",
    ],
)
def test_the_same_data_in_a_post_aimed_at_nobody_does_not_alert(text: str) -> None:
    assert _alerts(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "see you on 2026-11-30 at 10:30",
        "it costs $1,500.00, or 1.500, 2.750 in the old money",
        "your order #12345678 shipped",
        "Main Street is closed for 3 hours today",
        "Top 10 street foods in town",
        "la rue est fermée depuis 2 jours",
        "we walked 3 blocks down Main Street",
        "you had 12.5 percent of the votes",
        "see you in 5 minutes on the avenue",
    ],
)
def test_dates_prices_order_numbers_and_street_talk_aimed_at_a_defender_do_not_alert(
    text: str,
) -> None:
    stream = StreamBuilder()
    stream.reply("stranger", "amara_watch", text)
    assert pipeline(index_of(AMARA), DoxxingDetector()).process(stream.events).alerts == []


def test_a_high_risk_defender_gets_high_severity_for_a_number_and_messages_count() -> None:
    stream = StreamBuilder()
    _message(stream, "I have your number +44 7700 900999", "lucia_rios")
    alerts = pipeline(index_of(LUCIA), DoxxingDetector()).process(stream.events).alerts
    assert _kinds(alerts) == {("phone_number", LUCIA[0].defender_id)}
    assert alerts[0].severity is AlertSeverity.HIGH


def test_an_enrolled_address_aimed_at_its_owner_is_one_critical_alert_not_two() -> None:
    stream = StreamBuilder()
    stream.mention("stranger", "amara_watch", f"we know: {ADDRESS}")
    alerts = pipeline(index_of(AMARA), DoxxingDetector()).process(stream.events).alerts
    assert _kinds(alerts) == {("address", AMARA[0].defender_id)}
    assert alerts[0].explanation["aimed_at_defender"] is True
    assert "aimed at them" in alerts[0].summary


def test_a_defender_replying_in_their_own_thread_with_a_place_does_not_alert() -> None:
    stream = StreamBuilder()
    stream.reply("amara_watch", "amara_watch", "the meeting is at 44 Imaginary Road")
    assert pipeline(index_of(AMARA), DoxxingDetector()).process(stream.events).alerts == []


# --- delivery, state, thresholds ----------------------------------------------------------------


def test_a_redelivered_event_changes_nothing_and_keys_are_per_event_defender_and_kind() -> None:
    stream = StreamBuilder()
    _post(stream, f"She lives at {ADDRESS}")
    _post(stream, f"She lives at {ADDRESS}, share it")
    run = pipeline(index_of(AMARA), DoxxingDetector())
    first = run.process(stream.events).alerts
    assert len(first) == 2
    assert len({alert.dedup_key for alert in first}) == 2
    assert run.process(stream.events).alerts == []
    assert run.accounts.abuse_count("acct-leaker") == 2


def test_a_poison_event_loses_no_alert_and_counts_no_leaker_twice() -> None:
    stream = StreamBuilder()
    _post(stream, f"She lives at {ADDRESS}")
    poison = _post(stream, f"Her phone {PHONE}")
    _post(stream, f"Mail her {EMAIL}")
    run = pipeline(index_of(AMARA), failing_on(DoxxingDetector(), poison.id, "_findings"))
    result = run.process(stream.events)
    assert [item.event.id for item in result.poisoned] == [poison.id]
    assert {alert.explanation["kind"] for alert in result.alerts} == {"address", "email"}
    assert run.accounts.abuse_count("acct-leaker") == 2


def test_state_survives_a_snapshot_and_restore() -> None:
    stream = StreamBuilder()
    _post(stream, f"She lives at {ADDRESS}")
    first = DoxxingDetector()
    assert len(pipeline(index_of(AMARA), first).process(stream.events).alerts) == 1
    second = DoxxingDetector()
    second.restore(json.loads(json.dumps(first.snapshot())))
    run = pipeline(index_of(AMARA), second)
    assert run.process(stream.events).alerts == []  # redelivered after a restart
    _post(stream, f"Her phone {PHONE}")
    assert _kinds(run.process(stream.events[-1:]).alerts) == {("phone", AMARA[0].defender_id)}


def test_country_overrides_change_the_thresholds() -> None:
    coarse = "you are around -1.29, 36.82 tonight"
    book = ThresholdBook()
    book.set_country("GB", "doxxing", {"coordinate_decimals": 2})
    book.set_country("MX", "doxxing", {"generic_personal_data": False})
    for target, wanted in (("amara_watch", {"coordinates"}), ("lucia_rios", set())):
        stream = StreamBuilder()
        stream.reply("stranger", target, coarse)
        stream.reply("stranger", target, "you live at 44 Imaginary Road")
        run = pipeline(index_of(AMARA, LUCIA), DoxxingDetector(), thresholds=book)
        kinds = {kind for kind, _ in _kinds(run.process(stream.events).alerts)}
        assert kinds == wanted | ({"street_address"} if target == "amara_watch" else set())
    # Without the override two decimals are not precise enough.
    stream = StreamBuilder()
    stream.reply("stranger", "amara_watch", coarse)
    assert pipeline(index_of(AMARA), DoxxingDetector()).process(stream.events).alerts == []


# --- the demo platform's scripted doxxing -------------------------------------------------------


def test_the_demo_platforms_scripted_doxxing_is_caught() -> None:
    world = demo_world()
    index, defenders = demo_index()
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    for number, (target, defender) in enumerate(zip(world.defenders[:2], defenders, strict=False)):
        events = [
            schema.convert(event)
            for event in scripted_attack(AttackKind.DOXXING, world, now, target=target)
        ]
        alerts = pipeline(index, DoxxingDetector()).process(events).alerts
        kinds = {
            alert.explanation["kind"]
            for alert in alerts
            if alert.defender_id == defender.defender_id
        }
        shared = [event for event in events if event.type == "mention"]
        assert "phone" in kinds  # both have an enrolled phone
        if number == 0:
            assert "address" in kinds  # Amara's address is enrolled: critical
            assert any(alert.severity is AlertSeverity.CRITICAL for alert in alerts)
        else:
            assert "street_address" in kinds  # Lucía's is not, but the post is aimed at her
        assert {event.id for alert in alerts for event in alert.events} == {e.id for e in shared}
