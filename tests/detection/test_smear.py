"""Smear campaigns: clusters of accounts posting near-duplicate texts, links or hashtags."""

from __future__ import annotations

import json
import random
from typing import Any

from hrdshield.defenders.enums import RiskLevel
from hrdshield.detection.detectors import smear
from hrdshield.detection.detectors.smear import SmearCampaignDetector
from hrdshield.detection.enums import AlertSeverity, DetectorKind
from hrdshield.detection.pipeline import AlertDraft, Pipeline
from hrdshield.detection.schema import Event
from hrdshield.detection.thresholds import ThresholdBook
from tests.detection.streams import StreamBuilder, index_of, pipeline, protected
from tests.detection.test_smear_text import bold

HANDLE = "demo_hrd_amara"
DEFENDER = protected(f"@{HANDLE}")
SMEAR = (
    "Everyone should know that @demo_hrd_amara takes money from foreign agents to spread lies"
    " about our country. Her so-called human rights work is a business. Do not trust her"
    " reports. https://smear.example/amara-exposed?utm_source=share"
)
OTHER_SMEAR = (
    "The lawyer @demo_hrd_amara was seen meeting criminals at night and hides it from the"
    " press; the community she claims to defend is ashamed of her. Ask her who pays her rent."
)
# Copies of SMEAR as a campaign writes them: edits, emoji, case, reordering, invisible and
# look-alike characters, number noise, the link with other tracking parameters.
EVASIONS = (
    SMEAR,
    "EVERYONE should know that @demo_hrd_amara TAKES MONEY from foreign agents to spread lies"
    " about our country!!! Her so-called human rights work is a business. Do not trust her"
    " reports!! https://www.smear.example/amara-exposed/?fbclid=XyZ123",
    "Everyone should know 🤬 that @demo_hrd_amara takes money 💰💰 from foreign agents to spread"
    " lies about our country 🤮. Her so-called human rights work is a business... Do not trust"
    " her reports 👎 http://smear.example/amara-exposed",
    "Her so-called human rights work is a business. Do not trust her reports. Everyone should"
    " know that @demo_hrd_amara takes money from foreign agents to spread lies about our"
    " country. smear.example/amara-exposed?utm_medium=social&utm_campaign=x",
    "Every\u200bone should know that @demo_hrd_amara takes "
    + bold("money")
    + " from f\u200boreign agents"
    " to spread lies about our country. Her so-called human rights work is a business. Do"
    " not trust her reports. 48213",
    "Everyone must know that @demo_hrd_amara takes money from foreign agents to spread lies"
    " about our nation. Her so-called human rights work is just a business. Don't trust her"
    " reports 2026",
    "Everyone should know that @demo_hrd_amara takes m o n e y from foreign agents to spread"
    " liiiiies about our country. Her so-called human rights work is a business. Do not trust"
    " her reports.",
    "Everyone should know that @demo_hrd_amara takes m\u043eney from f\u043ereign agents to"
    " spread lies about \u043eur c\u043euntry. Her so-called human rights w\u043erk is a"
    " business. Do not trust her reports.",
)
WORDS = (  # noqa: SIM905  (a word list reads better as running text)
    "budget council river school market harvest clinic festival bridge library election"
    " weather football concert museum garden train station teacher doctor nurse farmer"
    " bakery coffee morning evening holiday village city mountain beach forest rain sun"
    " cloud music theatre painting novel poetry science history language family friend"
    " neighbour street bicycle airport journey recipe kitchen window garden sunrise sunset"
    " lecture exam graduation wedding birthday picnic lantern harbour island valley desert"
    " orchard vineyard workshop studio gallery podcast interview documentary newspaper"
    " column editorial archive census survey report hearing verdict appeal petition"
).split()


def _ordinary(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 20)))


def _text(stream: StreamBuilder, kind: str, actor: str, text: str, **kw: Any) -> Event:
    """Add a post, reply or mention about the defender by `actor`."""
    if kind == "reply":
        return stream.reply(actor, HANDLE, text, **kw)
    ref = stream.account(actor, created_days_ago=kw.get("created_days_ago"))
    return stream.emit(
        kind,
        ref,
        targets=[stream.account(HANDLE)],
        content={"text": text, "lang": kw.get("lang", "en"), "post_id": f"p{len(stream.events)}"},
    )


def _campaign(
    stream: StreamBuilder,
    texts: tuple[str, ...] | list[str],
    accounts: int,
    *,
    prefix: str = "smear",
    every_minutes: float = 4,
    kinds: tuple[str, ...] = ("post", "reply", "mention"),
    **kw: Any,
) -> list[Event]:
    events = []
    for number in range(accounts):
        stream.tick(minutes=every_minutes)
        kind = kinds[number % len(kinds)]
        events.append(_text(stream, kind, f"{prefix}{number}", texts[number % len(texts)], **kw))
    return events


def _run(
    events: list[Event], detector: SmearCampaignDetector | None = None, **kw: Any
) -> list[AlertDraft]:
    run = pipeline(
        index_of(kw.pop("defender", DEFENDER)), detector or SmearCampaignDetector(), **kw
    )
    return run.process(events).alerts


def _last_by_key(alerts: list[AlertDraft]) -> dict[str, AlertDraft]:
    return {alert.dedup_key: alert for alert in alerts}


def test_near_duplicates_from_many_accounts_make_one_campaign_with_its_accounts() -> None:
    stream = StreamBuilder()
    rng = random.Random(7)
    for number in range(12):  # ordinary conversation around the defender, interleaved
        stream.tick(minutes=3)
        _text(stream, "reply", f"neighbour{number}", _ordinary(rng))
    campaign = _campaign(stream, (SMEAR,), 6, every_minutes=7)
    alerts = _last_by_key(_run(stream.events))
    assert len(alerts) == 1
    alert = next(iter(alerts.values()))
    assert alert.detector is DetectorKind.SMEAR_CAMPAIGN
    assert alert.rule == "near_duplicate_texts"
    assert alert.defender_id == DEFENDER[0].defender_id
    assert alert.dedup_key.startswith(f"smear_campaign:{DEFENDER[0].defender_id}:")
    explanation = alert.explanation
    assert explanation["account_ids"] == [f"acct-smear{number}" for number in range(6)]
    assert explanation["accounts"] == 6
    assert explanation["similarity"]["mean"] == 1.0
    assert explanation["shared_links"] == [{"link": "smear.example/amara-exposed", "accounts": 6}]
    assert explanation["spread_minutes"] == 35.0
    assert explanation["excerpt"].startswith("Everyone should know that")
    assert len(explanation["excerpt"]) <= 140
    assert {event.id for event in alert.events} == {event.id for event in campaign}
    assert DEFENDER[0].pseudonym in alert.summary
    assert HANDLE not in alert.summary
    assert "6 accounts posted near-duplicate texts" in alert.summary
    assert alert.actions == ("shield",)
    assert 0.0 < alert.score <= 1.0
    json.dumps(explanation)  # explanations are stored as JSON


def test_edited_copies_still_cluster_together() -> None:
    stream = StreamBuilder()
    _campaign(stream, EVASIONS, len(EVASIONS), every_minutes=20)
    alerts = _last_by_key(_run(stream.events))
    assert len(alerts) == 1
    explanation = next(iter(alerts.values())).explanation
    assert explanation["accounts"] == len(EVASIONS)
    assert explanation["near_duplicate_accounts"] == len(EVASIONS)
    assert explanation["similarity"]["min"] >= 0.5
    shared = explanation["shared_links"]
    assert shared == [{"link": "smear.example/amara-exposed", "accounts": 4}]


def test_a_link_pushed_by_many_accounts_at_once_is_a_campaign_even_with_varied_texts() -> None:
    stream = StreamBuilder()
    rng = random.Random(11)
    variants = (
        "https://smear.example/dossier?utm_source=a",
        "http://www.smear.example/dossier/",
        "smear.example/dossier?fbclid=Q1",
        "https://smear.example/dossier#top",
    )
    _text(stream, "mention", "pusher0", "https://elsewhere.example/page")
    for number in range(9):
        stream.tick(minutes=1)
        text = f"{_ordinary(rng)} {variants[number % 4]}" if number % 2 else variants[number % 4]
        _text(stream, "mention", f"pusher{number}", text)  # some with words, some the link alone
    alerts = _last_by_key(_run(stream.events))
    assert len(alerts) == 1
    alert = next(iter(alerts.values()))
    assert alert.rule == "shared_link_synchronised"
    assert alert.explanation["accounts"] == 9
    assert alert.explanation["burst_signal"] == "link:smear.example/dossier"
    assert alert.explanation["shared_links"][0] == {"link": "smear.example/dossier", "accounts": 9}
    assert alert.explanation["near_duplicate_accounts"] == 0


def test_a_new_hashtag_pushed_at_once_is_a_campaign_whatever_its_case() -> None:
    stream = StreamBuilder()
    rng = random.Random(5)
    tags = ("#AmaraTheTraitor", "#amarathetraitor", "#AMARATHETRAITOR", "#Amara_The_Traitor")
    for number in range(10):
        stream.tick(seconds=50)
        _text(stream, "post", f"tagger{number}", f"{_ordinary(rng)} {tags[number % 4]}")
    alerts = _last_by_key(_run(stream.events))
    assert len(alerts) == 1
    alert = next(iter(alerts.values()))
    assert alert.rule == "shared_hashtag_synchronised"
    assert alert.explanation["shared_hashtags"] == [{"hashtag": "amarathetraitor", "accounts": 10}]
    assert alert.actions == ()  # posts about the defender, not addressed to them


def test_organic_sharing_of_a_news_link_over_a_day_is_not_a_campaign() -> None:
    stream = StreamBuilder()
    rng = random.Random(3)
    for number in range(48):
        stream.tick(minutes=30)
        text = f"{_ordinary(rng)} https://news.example/2026/11/court-ruling?utm_source=app"
        _text(stream, "reply", f"reader{number}", text)
    assert _run(stream.events) == []


def test_a_popular_hashtag_is_not_a_campaign_even_at_its_busiest_moment() -> None:
    stream = StreamBuilder()
    rng = random.Random(9)
    for number in range(60):  # supporters use the hashtag all morning
        stream.tick(minutes=4)
        _text(stream, "post", f"supporter{number}", f"{_ordinary(rng)} #StandWithAmara")
    for number in range(12):  # then a busy quarter of an hour, as when news breaks
        stream.tick(seconds=60)
        _text(stream, "post", f"newcomer{number}", f"{_ordinary(rng)} #standwithamara")
    assert _run(stream.events) == []


def test_one_account_spamming_the_same_text_is_not_coordination() -> None:
    stream = StreamBuilder()
    for _ in range(30):
        stream.tick(minutes=1)
        _text(stream, "reply", "spammer", SMEAR)
    for variant in EVASIONS:
        stream.tick(minutes=1)
        _text(stream, "reply", "spammer", variant)
    for _ in range(20):  # and a second spammer: still two accounts, not a campaign
        stream.tick(minutes=1)
        _text(stream, "reply", "spammer-two", SMEAR)
    assert _run(stream.events) == []


def test_many_accounts_spamming_the_same_text_are_a_campaign_counted_once_each() -> None:
    stream = StreamBuilder()
    for _ in range(4):
        _campaign(stream, (SMEAR,), 5, every_minutes=2)
    alerts = _last_by_key(_run(stream.events))
    explanation = next(iter(alerts.values())).explanation
    assert explanation["accounts"] == 5
    assert explanation["texts"] == 5
    assert explanation["repeated_texts"] == 15


def test_short_common_phrases_are_not_compared() -> None:
    stream = StreamBuilder()
    _campaign(stream, ("Stay strong, we are with you! 💪", "stay strong we are with you"), 12)
    assert _run(stream.events) == []


def test_two_campaigns_against_one_defender_stay_separate() -> None:
    stream = StreamBuilder()
    for number in range(6):
        stream.tick(minutes=3)
        _text(stream, "post", f"first{number}", EVASIONS[number])
        stream.tick(minutes=2)
        _text(stream, "reply", f"second{number}", OTHER_SMEAR.replace("night", f"night {number}"))
    alerts = _last_by_key(_run(stream.events))
    assert len(alerts) == 2
    accounts = sorted(alert.explanation["account_ids"] for alert in alerts.values())
    assert accounts == [
        [f"acct-first{number}" for number in range(6)],
        [f"acct-second{number}" for number in range(6)],
    ]


def test_a_growing_cluster_updates_the_same_alert_and_redelivery_changes_nothing() -> None:
    stream = StreamBuilder()
    detector = SmearCampaignDetector()
    run = pipeline(index_of(DEFENDER), detector)
    _campaign(stream, EVASIONS, 5)
    first = run.process(stream.events).alerts
    again = run.process(stream.events).alerts  # the same batch delivered twice
    assert len(first) == 1
    assert again == []
    delivered = list(stream.events)
    stream.events.clear()
    _campaign(stream, EVASIONS[3:], 3, prefix="latecomer")
    later = run.process([*stream.events, delivered[0]]).alerts  # one old event redelivered
    assert [alert.dedup_key for alert in later] == [first[0].dedup_key]
    assert later[0].explanation["accounts"] == 8
    assert later[0].explanation["texts"] == 8
    assert later[0].explanation["account_ids"][-3:] == [f"acct-latecomer{n}" for n in range(3)]


def test_clusters_that_merge_keep_the_alerted_key_and_name_the_other() -> None:
    stream = StreamBuilder()
    run = pipeline(index_of(DEFENDER), SmearCampaignDetector())
    _campaign(stream, (SMEAR,), 5, prefix="first")
    _campaign(stream, (OTHER_SMEAR,), 5, prefix="second")
    alerts = _last_by_key(run.process(stream.events).alerts)
    assert len(alerts) == 2
    older = min(alerts.values(), key=lambda alert: alert.explanation["first_at"]).dedup_key
    younger = max(alerts.values(), key=lambda alert: alert.explanation["first_at"]).dedup_key
    stream.events.clear()
    bridge = SMEAR[:150] + " " + OTHER_SMEAR[:150]  # a copy of each, joined: shares both
    halves = (SMEAR[:220] + " " + OTHER_SMEAR[:60], OTHER_SMEAR[:220] + " " + SMEAR[:60])
    _campaign(stream, (bridge, *halves), 6, prefix="bridge")
    merged = _last_by_key(run.process(stream.events).alerts)
    assert list(merged) == [older]
    assert merged[older].explanation["merged_alerts"] == [younger]
    assert merged[older].explanation["accounts"] == 16


def test_texts_expire_with_the_window() -> None:
    stream = StreamBuilder()
    detector = SmearCampaignDetector()
    run = pipeline(index_of(DEFENDER), detector)
    _campaign(stream, (SMEAR,), 3)
    assert run.process(stream.events).alerts == []
    stream.events.clear()
    stream.tick(hours=7)
    _campaign(stream, (SMEAR,), 3, prefix="later")
    assert run.process(stream.events).alerts == []
    window = detector.windows[DEFENDER[0].defender_id]
    assert sorted({text.account for text in window.texts.values()}) == [
        f"acct-later{number}" for number in range(3)
    ]


def test_memory_is_bounded_per_defender_per_account_and_across_defenders(monkeypatch: Any) -> None:
    stream = StreamBuilder()
    rng = random.Random(1)
    book = ThresholdBook()
    book.set_country("KE", "smear_campaign", {"max_texts": 50, "max_texts_per_account": 3})
    for number in range(200):
        stream.tick(seconds=30)
        _text(stream, "reply", f"talker{number % 40}", _ordinary(rng))
    detector = SmearCampaignDetector()
    _run(stream.events, detector, thresholds=book)
    window = detector.windows[DEFENDER[0].defender_id]
    assert len(window.texts) == 50
    assert max(window.per_account.values()) <= 3
    assert len(window.seen) <= 4 * 50

    monkeypatch.setattr(smear, "MAX_DEFENDERS", 3)
    crowd = [protected(f"@demo_hrd_{number}") for number in range(5)]
    busy = StreamBuilder()
    for number in range(5):
        busy.tick(minutes=1)
        busy.reply(f"someone{number}", f"demo_hrd_{number}", _ordinary(rng))
    many = SmearCampaignDetector()
    pipeline(index_of(*crowd), many).process(busy.events)
    assert list(many.windows) == [crowd[number][0].defender_id for number in (2, 3, 4)]

    monkeypatch.setattr(smear, "MAX_DEFENDERS", 100)
    monkeypatch.setattr(smear, "MAX_TEXTS_HELD", 2)  # texts in all windows together
    capped = SmearCampaignDetector()
    pipeline(index_of(*crowd), capped).process(busy.events)
    assert list(capped.windows) == [crowd[number][0].defender_id for number in (3, 4)]


def test_the_defenders_own_words_quoted_or_retweeted_are_not_a_smear() -> None:
    stream = StreamBuilder()
    own = (
        "Today the court heard the families of the river villages; their land was taken"
        " without consent and we will keep documenting every case until justice is done."
    )
    stream.tick(minutes=1)
    stream.reply(HANDLE, HANDLE, own)  # the defender writing in their own thread
    for number in range(8):
        stream.tick(minutes=2)
        _text(stream, "mention", f"quoter{number}", f'"{own}" said @{HANDLE}')
    for number in range(8):
        stream.tick(minutes=2)
        _text(stream, "post", f"retweeter{number}", f"RT @{HANDLE}: {OTHER_SMEAR}")
    assert _run(stream.events) == []


def test_young_and_abusive_accounts_strengthen_a_small_cluster() -> None:
    spread = StreamBuilder()
    _campaign(spread, EVASIONS, 5, every_minutes=40, kinds=("reply",))
    old = _last_by_key(_run(spread.events))
    assert [alert.severity for alert in old.values()] == [AlertSeverity.MEDIUM]

    young = StreamBuilder()
    _campaign(young, EVASIONS, 5, every_minutes=40, kinds=("reply",), created_days_ago=3)
    alerts = _last_by_key(_run(young.events))
    alert = next(iter(alerts.values()))
    assert alert.severity is AlertSeverity.HIGH
    assert alert.explanation["young_accounts"] == 5
    assert alert.score > next(iter(old.values())).score

    abusive = Pipeline(detectors=[SmearCampaignDetector()], index=lambda: index_of(DEFENDER))
    for number in range(5):
        abusive.accounts.flag(f"acct-smear{number}")
    flagged = _last_by_key(abusive.process(spread.events).alerts)
    assert next(iter(flagged.values())).explanation["abusive_accounts"] == 5
    assert next(iter(flagged.values())).severity is AlertSeverity.HIGH

    both = StreamBuilder()  # two accounts both young and abusive are two of five, not four
    _campaign(both, EVASIONS[:2], 2, every_minutes=40, kinds=("reply",), created_days_ago=3)
    _campaign(both, EVASIONS[2:], 3, prefix="older", every_minutes=40, kinds=("reply",))
    mixed = Pipeline(detectors=[SmearCampaignDetector()], index=lambda: index_of(DEFENDER))
    for number in range(2):
        mixed.accounts.flag(f"acct-smear{number}")
    alert = next(iter(_last_by_key(mixed.process(both.events).alerts).values()))
    assert (alert.explanation["young_accounts"], alert.explanation["abusive_accounts"]) == (2, 2)
    assert alert.severity is AlertSeverity.MEDIUM


def test_synchronised_copies_are_high_and_large_clusters_on_high_risk_defenders_critical() -> None:
    stream = StreamBuilder()
    _campaign(stream, EVASIONS, 5, every_minutes=1)
    alerts = _last_by_key(_run(stream.events))
    assert next(iter(alerts.values())).severity is AlertSeverity.HIGH

    large = StreamBuilder()
    _campaign(large, EVASIONS, 24, every_minutes=2)
    at_risk = protected(f"@{HANDLE}", risk=RiskLevel.HIGH)
    critical = _last_by_key(_run(large.events, defender=at_risk))
    assert next(iter(critical.values())).severity is AlertSeverity.CRITICAL
    ordinary = _last_by_key(_run(large.events))
    assert next(iter(ordinary.values())).severity is AlertSeverity.HIGH


def test_high_risk_defenders_and_country_overrides_lower_the_floor() -> None:
    stream = StreamBuilder()
    _campaign(stream, EVASIONS, 4)
    assert _run(stream.events) == []
    assert _run(stream.events, defender=protected(f"@{HANDLE}", risk=RiskLevel.HIGH))

    three = StreamBuilder()
    _campaign(three, EVASIONS, 3)
    book = ThresholdBook()
    book.set_country("KE", "smear_campaign", {"min_accounts": 3})
    assert len(_last_by_key(_run(three.events, thresholds=book))) == 1
    elsewhere = protected(f"@{HANDLE}", country="MX")
    assert _run(three.events, defender=elsewhere, thresholds=book) == []


def test_campaigns_in_other_languages_are_found() -> None:
    spanish = (
        "Todos deben saber que @demo_hrd_amara recibe dinero de agentes extranjeros para"
        " difundir mentiras sobre nuestro país. No confíen en sus informes."
    )
    arabic = (
        "يجب أن يعرف الجميع أن @demo_hrd_amara تتلقى أموالاً من عملاء أجانب لنشر الأكاذيب"
        " عن بلدنا. لا تثقوا في تقاريرها."
    )
    stream = StreamBuilder()
    edits = ("", " 😡", "!!!", " ¡Compartan!")
    _campaign(stream, [spanish + edit for edit in edits], 5, prefix="es", lang="es")
    tashkeel = ("", "\u064e", "\u0651", "")  # diacritics strewn in
    texts = [arabic.replace("أن", "أن" + mark, 1) for mark in tashkeel]
    _campaign(stream, texts, 5, prefix="ar", lang="ar")
    alerts = _last_by_key(_run(stream.events))
    assert sorted(alert.explanation["account_ids"][0] for alert in alerts.values()) == [
        "acct-ar0",
        "acct-es0",
    ]


def test_state_survives_a_snapshot_and_restore() -> None:
    stream = StreamBuilder()
    uninterrupted = SmearCampaignDetector()
    first = SmearCampaignDetector()
    _campaign(stream, EVASIONS, 4)
    _campaign(stream, ("https://smear.example/dossier " + _ordinary(random.Random(2)),), 1)
    head = list(stream.events)
    assert _run(head, first) == []
    state = json.loads(json.dumps(first.snapshot()))
    second = SmearCampaignDetector()
    second.restore(state)
    stream.events.clear()
    _campaign(stream, EVASIONS[4:], 3, prefix="second-wave")
    tail = list(stream.events)
    restored = _last_by_key(_run([*tail, head[0]], second))
    expected = _last_by_key(_run(head, uninterrupted) + _run(tail, uninterrupted))
    assert list(restored) == list(expected)
    alert = next(iter(restored.values()))
    assert alert.explanation["accounts"] == 7
    assert alert.explanation == next(iter(expected.values())).explanation
    assert json.loads(json.dumps(second.snapshot())) == json.loads(
        json.dumps(uninterrupted.snapshot())
    )
