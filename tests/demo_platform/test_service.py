"""The demo platform service: idempotent apply, platform rules, settings operations and the feed."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.demo_platform import service
from hrdshield.demo_platform.enums import AttackKind, Audience, EventOutcome, EventType
from hrdshield.demo_platform.events import (
    Event,
    InvalidEventError,
    account_ref,
    content_section,
    make_event,
)
from hrdshield.demo_platform.generator import next_batch, scripted_attack
from hrdshield.demo_platform.models import (
    DemoAccount,
    DemoDirectMessage,
    DemoEvent,
    DemoLogin,
    DemoMention,
    DemoPost,
)
from hrdshield.demo_platform.world import AccountRef, DemoWorld

from .conftest import NOW


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _post(author: AccountRef, event_id: str, post_id: str, *, reply_to: str | None = None) -> Event:
    return make_event(
        event_id=event_id,
        event_type=EventType.REPLY if reply_to else EventType.POST,
        occurred_at=NOW,
        actor=author.ref(),
        targets=[],
        sections={
            "content": content_section("Hello.", "en", post_id=post_id, in_reply_to=reply_to)
        },
    )


def _batches(world: DemoWorld, count: int) -> list[Event]:
    rng = random.Random(1)
    return [e for i in range(count) for e in next_batch(world, rng, NOW + timedelta(seconds=i))]


def test_apply_is_idempotent(demo_session: Session, world: DemoWorld) -> None:
    events = _batches(world, 20) + scripted_attack(AttackKind.PILE_ON, world, NOW)
    first = service.apply(session=demo_session, events=events)
    counts = {model: _count(demo_session, model) for model in (DemoPost, DemoLogin, DemoEvent)}
    second = service.apply(session=demo_session, events=copy.deepcopy(events))
    assert len(first.applied) == len(events)
    assert second.applied == []
    assert second.duplicates == [event["id"] for event in events]
    assert {model: _count(demo_session, model) for model in counts} == counts


def test_an_event_repeated_within_a_batch_is_applied_once(
    demo_session: Session, world: DemoWorld
) -> None:
    event = _post(world.public[0], "e1", "p1")
    result = service.apply(session=demo_session, events=[event, copy.deepcopy(event)])
    assert result.applied == ["e1"]
    assert result.duplicates == ["e1"]
    assert demo_session.scalar(select(func.count()).where(DemoPost.id == "p1")) == 1


def test_a_malformed_batch_changes_nothing(demo_session: Session, world: DemoWorld) -> None:
    before = _count(demo_session, DemoEvent)
    good = _post(world.public[0], "e1", "p1")
    bad = {**_post(world.public[0], "e2", "p2"), "occurred_at": "yesterday"}
    with pytest.raises(InvalidEventError, match="occurred_at"):
        service.apply(session=demo_session, events=[good, bad])
    assert _count(demo_session, DemoEvent) == before
    assert demo_session.get(DemoPost, "p1") is None


def test_events_the_platform_refuses_are_recorded_as_rejected(
    demo_session: Session, world: DemoWorld
) -> None:
    event = _post(world.public[0], "e1", "p1", reply_to="no-such-post")
    event["targets"] = [world.public[1].ref()]
    result = service.apply(session=demo_session, events=[event])
    assert result.rejected == {"e1": "unknown post replied to"}
    record = demo_session.scalar(select(DemoEvent).where(DemoEvent.event_id == "e1"))
    assert record is not None
    assert record.outcome is EventOutcome.REJECTED
    assert record.payload == event
    assert demo_session.get(DemoPost, "p1") is None


def test_unknown_actor_is_rejected(demo_session: Session) -> None:
    stranger = AccountRef("f" * 32, "@nobody_here_00", "Nobody", "FR", "fr", "AS64500")
    result = service.apply(session=demo_session, events=[_post(stranger, "e1", "p1")])
    assert result.rejected == {"e1": "unknown actor account"}


def test_limiting_replies_stops_the_pile_on_but_not_followers(
    demo_session: Session, world: DemoWorld
) -> None:
    target = world.defender("@demo_hrd_amara")
    post = _post(target, "e-post", "p-post")
    service.apply(session=demo_session, events=[post])
    change = service.limit_replies(session=demo_session, account_id=target.account_id)
    assert change["before"]["replies_from"] == "everyone"
    assert change["after"]["replies_from"] == "followers"

    events = scripted_attack(AttackKind.PILE_ON, world, NOW, target=target)
    result = service.apply(session=demo_session, events=events)
    replies = [e["id"] for e in events if e["type"] == "reply"]
    assert set(replies) <= set(result.rejected)
    assert {result.rejected[r] for r in replies} == {"replies are limited to followers"}

    follower = next(a for a in world.public if a.account_id in world.followers[target.account_id])
    friendly = _post(follower, "e-friendly", "p-friendly", reply_to="p-post")
    friendly["targets"] = [target.ref()]
    assert service.apply(session=demo_session, events=[friendly]).applied == ["e-friendly"]
    mention = demo_session.get(DemoMention, ("p-friendly", target.account_id))
    assert mention is not None


def test_limiting_dms_blocks_phishing_from_strangers(
    demo_session: Session, world: DemoWorld
) -> None:
    target = world.defender("@demo_hrd_lucia")
    service.limit_dms(session=demo_session, account_id=target.account_id)
    events = scripted_attack(AttackKind.PHISHING, world, NOW, target=target)
    result = service.apply(session=demo_session, events=events)
    message = next(e for e in events if e["type"] == "direct_message")
    assert result.rejected[message["id"]] == "direct messages are limited to followers"
    assert _count(demo_session, DemoDirectMessage) == 0

    service.limit_dms(
        session=demo_session, account_id=target.account_id, audience=Audience.EVERYONE
    )
    again = {**copy.deepcopy(message), "id": "retry"}
    assert service.apply(session=demo_session, events=[again]).applied == ["retry"]
    assert _count(demo_session, DemoDirectMessage) == 1


def test_a_deactivated_account_cannot_post_until_reactivated(
    demo_session: Session, world: DemoWorld
) -> None:
    account = world.defender("@demo_hrd_karim")
    service.deactivate(session=demo_session, account_id=account.account_id)
    result = service.apply(session=demo_session, events=[_post(account, "e1", "p1")])
    assert result.rejected == {"e1": "the actor's account is deactivated"}
    service.reactivate(session=demo_session, account_id=account.account_id)
    assert service.apply(session=demo_session, events=[_post(account, "e2", "p2")]).applied == [
        "e2"
    ]


Operation = Callable[..., service.SettingsChange]
OPERATIONS: list[tuple[Operation, str, object, object]] = [
    (service.set_private, "is_private", False, True),
    (service.hide_followers, "followers_hidden", False, True),
    (service.limit_replies, "replies_from", "everyone", "followers"),
    (service.limit_dms, "dms_from", "everyone", "followers"),
    (service.set_discoverable, "discoverable", True, False),
    (service.require_two_factor, "two_factor_required", False, True),
    (service.deactivate, "deactivated", False, True),
]


@pytest.mark.parametrize("case", OPERATIONS, ids=[case[1] for case in OPERATIONS])
def test_settings_operations_report_before_and_after(
    demo_session: Session, world: DemoWorld, case: tuple[Operation, str, object, object]
) -> None:
    operation, setting, before, after = case
    account = world.defender("@demo_hrd_amara")
    change = operation(session=demo_session, account_id=account.account_id)
    assert change["account_id"] == account.account_id
    assert change["handle"] == "@demo_hrd_amara"
    assert change["before"][setting] == before
    assert change["after"][setting] == after
    changed = {key for key in change["after"] if change["after"][key] != change["before"][key]}
    assert changed <= {setting, "active_sessions"}
    stored = demo_session.get(DemoAccount, account.account_id)
    assert stored is not None
    assert service.account_settings(session=demo_session, account=stored) == change["after"]

    feed = service.recent_events(session=demo_session, limit=1)[0]
    assert feed.type is EventType.PROFILE_CHANGED
    assert feed.payload["settings"] == {"before": change["before"], "after": change["after"]}

    repeat = operation(session=demo_session, account_id=account.account_id)
    assert repeat["before"] == repeat["after"] == change["after"]
    assert service.recent_events(session=demo_session, limit=1)[0].seq == feed.seq


def test_settings_operations_can_be_reversed(demo_session: Session, world: DemoWorld) -> None:
    account_id = world.defender("@demo_hrd_lucia").account_id
    original = service.set_private(session=demo_session, account_id=account_id)["before"]
    service.set_private(session=demo_session, account_id=account_id, private=False)
    service.hide_followers(session=demo_session, account_id=account_id)
    restored = service.hide_followers(session=demo_session, account_id=account_id, hidden=False)
    assert restored["after"] == original


def test_sign_out_ends_every_session(demo_session: Session, world: DemoWorld) -> None:
    target = world.defender("@demo_hrd_karim")
    events = scripted_attack(AttackKind.SUSPICIOUS_LOGIN, world, clock.now(), target=target)
    service.apply(session=demo_session, events=events)
    change = service.sign_out_sessions(session=demo_session, account_id=target.account_id)
    assert change["before"]["active_sessions"] >= 1
    assert change["before"]["sessions_revoked_at"] is None
    assert change["after"]["active_sessions"] == 0
    assert change["after"]["sessions_revoked_at"] is not None


def test_unknown_account_is_a_clear_error(demo_session: Session) -> None:
    with pytest.raises(service.UnknownAccountError):
        service.set_private(session=demo_session, account_id="0" * 32)


def test_account_by_handle_accepts_the_at_sign_or_not(
    demo_session: Session, world: DemoWorld
) -> None:
    with_at = service.account_by_handle(session=demo_session, handle="@demo_hrd_amara")
    without = service.account_by_handle(session=demo_session, handle="demo_hrd_amara")
    assert with_at is not None
    assert with_at is without
    assert with_at.id == world.defender("demo_hrd_amara").account_id
    assert service.account_by_handle(session=demo_session, handle="@nobody_here") is None


def test_recent_events_are_newest_first_and_limited(
    demo_session: Session, world: DemoWorld
) -> None:
    events = _batches(world, 10)
    service.apply(session=demo_session, events=events)
    recent = service.recent_events(session=demo_session, limit=5)
    assert [record.event_id for record in recent] == [e["id"] for e in reversed(events[-5:])]
    after = service.events_after(session=demo_session, after_seq=recent[-1].seq)
    assert [record.event_id for record in after] == [e["id"] for e in events[-4:]]


def test_demo_account_ids_longer_than_the_table_allows_are_rejected(
    demo_session: Session, world: DemoWorld
) -> None:
    event = _post(world.public[0], "e1", "p" * 40)
    assert service.apply(session=demo_session, events=[event]).rejected == {
        "e1": "the demo platform's ids have at most 32 characters"
    }


def test_a_taken_handle_cannot_be_created_twice(demo_session: Session, world: DemoWorld) -> None:
    event = make_event(
        event_id="e1",
        event_type=EventType.ACCOUNT_CREATED,
        occurred_at=NOW,
        actor=account_ref("a" * 32, "@demo_hrd_amara"),
        sections={"profile": {"display_name": "Copy", "country": "KE", "language": "en"}},
    )
    assert service.apply(session=demo_session, events=[event]).rejected == {
        "e1": "the handle is taken"
    }
