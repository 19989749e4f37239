"""The generator: repeatable with a seed, well-formed events, multilingual, and honest attacks."""

from __future__ import annotations

import copy
import random
import re
from collections import Counter
from datetime import timedelta

import phonenumbers
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrdshield.demo_platform import phrases, service
from hrdshield.demo_platform.attacks import CONFUSABLES, lookalike
from hrdshield.demo_platform.enums import AttackKind, EventType
from hrdshield.demo_platform.events import SCHEMA, Event, parse_time, validate_event
from hrdshield.demo_platform.generator import next_batch, scripted_attack, seed_platform
from hrdshield.demo_platform.models import DemoAccount, DemoEvent, DemoPost, DemoReport
from hrdshield.demo_platform.world import (
    DEMO_DEFENDERS,
    TRAFFIC_BASELINE,
    AccountRef,
    DemoWorld,
)

from .conftest import NOW

DEFENDER_HANDLES = {"@demo_hrd_amara", "@demo_hrd_lucia", "@demo_hrd_karim"}
EVENT_TYPES = {event_type.value for event_type in EventType}
RESERVED_DOMAIN = re.compile(r"(?:^|\.)(?:example\.(?:com|org|net)|[a-z0-9-]+\.(?:test|invalid))$")
PHONE_LIKE = re.compile(r"\+?\d[\d ()-]{7,}\d")
# Ofcom's drama range (+44 7700 900xxx) and the NANP's 555-01xx, with or without an area code.
FICTIONAL_PHONE = re.compile(r"^(?:447700900\d{3}|1(?:\d{3})?55501\d{2})$")


def _batches(world: DemoWorld, seed: int, count: int) -> list[Event]:
    rng = random.Random(seed)
    events: list[Event] = []
    for index in range(count):
        events += next_batch(world, rng, NOW + timedelta(seconds=2 * index))
    return events


def _all_attacks(world: DemoWorld) -> list[Event]:
    events: list[Event] = []
    for index, kind in enumerate(AttackKind):
        events += scripted_attack(kind, world, NOW + timedelta(hours=index))
    return events


def _skeleton(handle: str) -> str:
    for plain, confusable in sorted(CONFUSABLES.items(), key=lambda item: -len(item[1])):
        handle = handle.replace(confusable, plain)
    return handle


def _apply(session: Session, events: list[Event]) -> service.ApplyResult:
    result = service.apply(session=session, events=events)
    assert result.rejected == {}
    return result


def test_seed_platform_creates_the_fictional_cast(demo_session: Session, world: DemoWorld) -> None:
    assert {defender.handle for defender in world.defenders} == DEFENDER_HANDLES
    assert len(world.public) >= 20
    assert {account.language for account in world.public} == set(phrases.LANGUAGES)
    handles = set(demo_session.scalars(select(DemoAccount.handle)))
    assert handles >= DEFENDER_HANDLES
    assert world.moderator.handle in handles
    assert all(world.followers[d.account_id] for d in world.defenders)


def test_seed_platform_is_repeatable_and_reuses_existing_accounts(demo_session: Session) -> None:
    first = seed_platform(session=demo_session, rng=random.Random(3))
    accounts = demo_session.scalar(select(func.count()).select_from(DemoAccount))
    again = seed_platform(session=demo_session, rng=random.Random(3))
    assert again.defenders == first.defenders
    assert again.public == first.public
    assert again.followers == first.followers
    assert demo_session.scalar(select(func.count()).select_from(DemoAccount)) == accounts

    other_seed = seed_platform(session=demo_session, rng=random.Random(99))
    assert other_seed.public == first.public
    assert other_seed.followers == first.followers
    assert demo_session.scalar(select(func.count()).select_from(DemoAccount)) == accounts

    demo_session.rollback()
    fresh = seed_platform(session=demo_session, rng=random.Random(3))
    assert fresh.public == first.public


def test_same_seed_same_events(world: DemoWorld) -> None:
    twin = copy.deepcopy(world)
    assert _batches(world, 11, 40) == _batches(twin, 11, 40)
    assert _all_attacks(world) == _all_attacks(twin)


def test_different_seeds_differ(world: DemoWorld) -> None:
    twin = copy.deepcopy(world)
    assert _batches(world, 11, 10) != _batches(twin, 12, 10)


def test_every_event_has_the_shape(world: DemoWorld) -> None:
    events = _batches(world, 5, 200) + _all_attacks(world)
    for event in events:
        assert validate_event(event) is event
        assert event["schema"] == SCHEMA
        assert event["platform"] == "demo"
        assert event["type"] in EVENT_TYPES
        assert event["occurred_at"].endswith("Z")
        parse_time(event["occurred_at"])
    assert len({event["id"] for event in events}) == len(events)
    assert {event["type"] for event in events} == EVENT_TYPES


def test_background_is_multilingual_and_varied(world: DemoWorld) -> None:
    events = _batches(world, 9, 150)
    languages = Counter(e["content"]["lang"] for e in events if "content" in e)
    assert set(languages) == set(phrases.LANGUAGES)
    types = {event["type"] for event in events}
    assert {
        "post",
        "reply",
        "mention",
        "direct_message",
        "login",
        "report",
        "traffic_count",
    } <= types
    for event in (e for e in events if e["type"] == "traffic_count"):
        baseline = TRAFFIC_BASELINE[event["region"]]
        assert 0.85 * baseline <= event["count"] <= 1.15 * baseline


def test_background_applies_without_rejections(demo_session: Session, world: DemoWorld) -> None:
    events = _batches(world, 21, 60)
    result = _apply(demo_session, events)
    assert len(result.applied) == len(events)
    stored = demo_session.scalar(select(func.count()).select_from(DemoPost))
    assert stored == sum(e["type"] in {"post", "reply", "mention"} for e in events)


def test_no_real_looking_contact_data_anywhere(world: DemoWorld) -> None:
    texts = [
        e["content"]["text"]
        for e in _batches(world, 4, 100) + _all_attacks(world)
        if "content" in e
    ]
    for text in texts:
        assert "http://" not in text
        assert "https://" not in text
        for phone in PHONE_LIKE.findall(text):
            digits = re.sub(r"\D", "", phone)
            assert FICTIONAL_PHONE.match(digits), phone


@pytest.mark.parametrize("profile", DEMO_DEFENDERS, ids=lambda p: p.handle)
def test_defender_phone_numbers_are_in_fiction_ranges(profile) -> None:
    number = phonenumbers.parse(profile.phone)
    assert phonenumbers.is_possible_number(number)
    assert FICTIONAL_PHONE.match(f"{number.country_code}{number.national_number}")


def test_lookalike_handles_differ_but_read_the_same() -> None:
    rng = random.Random(1)
    for handle in DEFENDER_HANDLES:
        for _ in range(20):
            fake = lookalike(handle, rng)
            assert fake != handle
            assert _skeleton(fake) == handle


@pytest.mark.parametrize("kind", list(AttackKind), ids=lambda kind: kind.value)
def test_every_attack_is_ordered_valid_and_applies(
    demo_session: Session, world: DemoWorld, kind: AttackKind
) -> None:
    events = scripted_attack(kind, world, NOW)
    assert events
    times = [parse_time(event["occurred_at"]) for event in events]
    assert times == sorted(times)
    assert all(time <= NOW for time in times)
    for event in events:
        validate_event(event)
    _apply(demo_session, events)


def _target(world: DemoWorld, handle: str) -> AccountRef:
    return world.defender(handle)


def _young(session: Session, account_ids: set[str]) -> set[str]:
    rows = session.scalars(
        select(DemoAccount.id).where(
            DemoAccount.id.in_(account_ids), DemoAccount.created_at > NOW - timedelta(days=1)
        )
    )
    return set(rows)


def test_pile_on_is_many_young_accounts_replying_abusively(
    demo_session: Session, world: DemoWorld
) -> None:
    target = _target(world, "@demo_hrd_amara")
    events = scripted_attack(AttackKind.PILE_ON, world, NOW, target=target)
    _apply(demo_session, events)
    replies = [e for e in events if e["type"] == "reply"]
    senders = {e["actor"]["account_id"] for e in replies}
    assert len(senders) >= 10
    assert _young(demo_session, senders) == senders
    assert all(e["targets"] == [target.ref()] for e in replies)
    assert all(target.handle in e["content"]["text"] for e in replies)
    assert len({e["content"]["lang"] for e in replies}) >= 2
    abuse = {
        line.format(handle=target.handle) for lines in phrases.ABUSE.values() for line in lines
    }
    assert all(e["content"]["text"] in abuse for e in replies)
    parent = {e["content"]["in_reply_to"] for e in replies}
    assert len(parent) == 1
    post = demo_session.get(DemoPost, parent.pop())
    assert post is not None
    assert post.author_id == target.account_id


@pytest.mark.parametrize("handle", sorted(DEFENDER_HANDLES))
def test_doxxing_exposes_the_fictional_phone_and_address(world: DemoWorld, handle: str) -> None:
    target = _target(world, handle)
    profile = world.profile(target)
    events = scripted_attack(AttackKind.DOXXING, world, NOW, target=target)
    posts = [e for e in events if e["type"] == "mention"]
    assert posts
    for event in posts:
        assert profile.phone in event["content"]["text"]
        assert profile.address in event["content"]["text"]
        assert event["targets"] == [target.ref()]


def test_impersonation_uses_a_lookalike_handle(demo_session: Session, world: DemoWorld) -> None:
    target = _target(world, "@demo_hrd_lucia")
    events = scripted_attack(AttackKind.IMPERSONATION, world, NOW, target=target)
    _apply(demo_session, events)
    created = next(e for e in events if e["type"] == "account_created")
    handle = created["actor"]["handle"]
    assert handle != target.handle
    assert _skeleton(handle).startswith(target.handle)
    changed = next(e for e in events if e["type"] == "profile_changed")
    assert changed["actor"] == created["actor"]
    assert changed["profile"]["display_name"] == target.display_name
    impostor = service.account_by_handle(session=demo_session, handle=handle)
    assert impostor is not None
    assert impostor.display_name == target.display_name
    messages = [e for e in events if e["type"] == "direct_message"]
    followers = set(world.followers[target.account_id])
    assert messages
    assert all(e["targets"][0]["account_id"] in followers for e in messages)
    assert all(e["actor"]["handle"] == handle for e in messages)


def test_repeated_impersonations_never_reuse_a_handle(world: DemoWorld) -> None:
    target = _target(world, "@demo_hrd_amara")
    handles = [
        next(e for e in events if e["type"] == "account_created")["actor"]["handle"]
        for events in (
            scripted_attack(AttackKind.IMPERSONATION, world, NOW, target=target) for _ in range(30)
        )
    ]
    assert len(set(handles)) == len(handles)


def test_mass_reporting_silences_the_defender(demo_session: Session, world: DemoWorld) -> None:
    target = _target(world, "@demo_hrd_karim")
    events = scripted_attack(AttackKind.MASS_REPORTING, world, NOW, target=target)
    _apply(demo_session, events)
    reports = [e for e in events if e["type"] == "report"]
    reporters = {e["actor"]["account_id"] for e in reports}
    assert len(reporters) >= 10
    assert _young(demo_session, reporters) == reporters
    assert all(e["targets"] == [target.ref()] for e in reports)
    removed = [e for e in events if e["type"] == "content_removed"]
    assert len(removed) == 1
    post = demo_session.get(DemoPost, removed[0]["content"]["post_id"])
    assert post is not None
    assert post.removed
    assert post.author_id == target.account_id
    stored = demo_session.scalar(
        select(func.count()).where(DemoReport.target_account_id == target.account_id)
    )
    assert stored == len(reports)


def test_suspicious_login_fails_then_succeeds_from_elsewhere(world: DemoWorld) -> None:
    target = _target(world, "@demo_hrd_amara")
    events = scripted_attack(AttackKind.SUSPICIOUS_LOGIN, world, NOW, target=target)
    logins = [e["login"] for e in events]
    assert all(e["actor"] == target.ref() for e in events)
    assert sum(not login["success"] for login in logins) >= 3
    assert logins[-1]["success"]
    assert all(login["country"] != target.country for login in logins)
    assert all(login["network"] != target.network for login in logins)


def test_phishing_message_carries_a_defanged_reserved_link(world: DemoWorld) -> None:
    target = _target(world, "@demo_hrd_lucia")
    events = scripted_attack(AttackKind.PHISHING, world, NOW, target=target)
    messages = [e for e in events if e["type"] == "direct_message"]
    assert len(messages) == 1
    assert messages[0]["targets"] == [target.ref()]
    text = messages[0]["content"]["text"]
    match = re.search(r"hxxps?://(\S+?)/", text)
    assert match is not None
    assert RESERVED_DOMAIN.search(match.group(1).replace("[.]", "."))


def test_smear_is_a_chorus_of_near_identical_posts(demo_session: Session, world: DemoWorld) -> None:
    target = _target(world, "@demo_hrd_karim")
    events = scripted_attack(AttackKind.SMEAR, world, NOW, target=target)
    _apply(demo_session, events)
    posts = [e for e in events if e["type"] == "mention"]
    authors = {e["actor"]["account_id"] for e in posts}
    assert len(authors) >= 7
    assert _young(demo_session, authors) == authors
    assert len({e["content"]["text"] for e in posts}) <= len(phrases.SMEAR[target.language])
    assert all(e["targets"] == [target.ref()] for e in posts)


def test_traffic_drop_falls_far_below_the_baseline(world: DemoWorld) -> None:
    target = _target(world, "@demo_hrd_lucia")
    events = scripted_attack(AttackKind.TRAFFIC_DROP, world, NOW, target=target)
    assert len(events) >= 3
    for event in events:
        assert event["region"] == target.country
        assert event["count"] < 0.1 * TRAFFIC_BASELINE[target.country]
        assert event["actor"] is None


def test_attacks_rotate_over_defenders(world: DemoWorld) -> None:
    targets = set()
    for kind in AttackKind:
        events = scripted_attack(kind, world, NOW)
        targets |= {t["handle"] for e in events for t in e["targets"]}
        targets |= {e["actor"]["handle"] for e in events if e["type"] == "login"}
    assert targets >= DEFENDER_HANDLES


def test_applied_attacks_reach_the_feed(demo_session: Session, world: DemoWorld) -> None:
    events = _all_attacks(world)
    _apply(demo_session, events)
    recorded = set(demo_session.scalars(select(DemoEvent.event_id)))
    assert {event["id"] for event in events} <= recorded
