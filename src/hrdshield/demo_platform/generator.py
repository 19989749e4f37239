"""Deterministic synthetic traffic for the demo platform: the cast, and everyday background chatter.

With the same seed, world and clock the generator writes the same events, so tests and detector
evaluations repeat exactly. Every handle and sentence is invented; scripted attacks live in
`attacks` and are re-exported here. This module must never carry real people's data.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.demo_platform import phrases, service
from hrdshield.demo_platform.attacks import lookalike, scripted_attack
from hrdshield.demo_platform.enums import EventType, ReportReason
from hrdshield.demo_platform.events import Event
from hrdshield.demo_platform.models import DemoAccount
from hrdshield.demo_platform.world import (
    DEMO_DEFENDERS,
    HOME_NETWORKS,
    MODERATOR,
    PUBLIC_ACCOUNTS,
    TRAFFIC_BASELINE,
    AccountRef,
    DemoDefenderProfile,
    DemoWorld,
    account_created_event,
    content_event,
    login_event,
    new_id,
    remember,
    report_event,
    traffic_event,
)

CAST_SEED = 2026

__all__ = ["lookalike", "next_batch", "scripted_attack", "seed_platform"]


def seed_platform(*, session: Session, rng: random.Random) -> DemoWorld:
    """Create the demo cast and its follows (reusing accounts that exist) and return the world."""
    now = clock.now()
    seed = rng.getrandbits(64)
    handles = set(session.scalars(select(DemoAccount.handle)))
    events: list[Event] = []

    def account(profile: DemoDefenderProfile, age_days: float) -> AccountRef:
        account_id, event_id = new_id(rng), new_id(rng)
        existing = service.account_by_handle(session=session, handle=profile.handle)
        if existing is not None:  # a restart, or another seed, keeps the accounts made before
            return AccountRef(
                existing.id,
                existing.handle,
                existing.display_name,
                existing.country,
                existing.language,
                profile.network,
            )
        ref = AccountRef(
            account_id,
            profile.handle,
            profile.display_name,
            profile.country,
            profile.language,
            profile.network,
        )
        born = now - timedelta(days=age_days)
        events.append(account_created_event(ref, profile.bio, born, event_id))
        handles.add(profile.handle)
        return ref

    moderator = account(MODERATOR, 3000)
    defenders = [account(profile, rng.uniform(800, 3000)) for profile in DEMO_DEFENDERS]
    public = [account(profile, rng.uniform(200, 3000)) for profile in _public_profiles()]
    service.apply(session=session, events=events)
    world = DemoWorld(
        seed=seed,
        defenders=defenders,
        public=public,
        moderator=moderator,
        followers={},
        handles=handles,
    )
    created = {event["actor"]["account_id"] for event in events}
    _seed_follows(session, world, rng, created)
    return world


def next_batch(world: DemoWorld, rng: random.Random, now: datetime) -> list[Event]:
    """Return the next few seconds of ordinary traffic, ending at `now`, plus one traffic count."""
    size = rng.randint(2, 5)
    events = []
    for index in range(size):
        at = now - timedelta(seconds=(size - index) * 0.2 + rng.uniform(0, 0.1))
        kind = rng.choices(_BACKGROUND_KINDS, weights=_BACKGROUND_WEIGHTS)[0]
        events.append(_BACKGROUND_WRITERS[kind](world, rng, at))
    regions = sorted(TRAFFIC_BASELINE)
    region = regions[world.batches % len(regions)]
    count = round(TRAFFIC_BASELINE[region] * rng.uniform(0.9, 1.1))
    events.append(traffic_event(rng, now, region, count))
    world.batches += 1
    return events


def _public_profiles() -> list[DemoDefenderProfile]:
    """Return the background cast, the same on every run whatever the traffic seed."""
    rng = random.Random(CAST_SEED)  # noqa: S311  (repeatable, not secret)
    profiles: list[DemoDefenderProfile] = []
    for index in range(PUBLIC_ACCOUNTS):
        language = phrases.LANGUAGES[index % len(phrases.LANGUAGES)]
        word, noun = rng.choice(phrases.HANDLE_WORDS), rng.choice(phrases.HANDLE_NOUNS)
        handle = f"@{word}_{noun}_{rng.randrange(100):02d}"
        while any(profile.handle == handle for profile in profiles):
            handle = f"@{word}_{noun}_{rng.randrange(100):02d}"
        profiles.append(
            DemoDefenderProfile(
                handle=handle,
                display_name=f"{word.title()} {noun.title()}",
                bio="",
                country=rng.choice(phrases.COUNTRIES[language]),
                language=language,
                network=rng.choice(HOME_NETWORKS),
                phone="",
                address="",
            )
        )
    return profiles


def _seed_follows(
    session: Session, world: DemoWorld, rng: random.Random, created: set[str]
) -> None:
    """Give new accounts followers and followees; the world then reads the follows stored."""
    for followee in world.everyone:
        chance = 0.6 if followee in world.defenders else 0.15
        fans = [a for a in world.public if a != followee and rng.random() < chance]
        for fan in fans:
            if fan.account_id in created or followee.account_id in created:
                service.follow(
                    session=session, follower_id=fan.account_id, followee_id=followee.account_id
                )
        world.followers[followee.account_id] = service.follower_ids(
            session=session, account_id=followee.account_id
        )


def _background_post(world: DemoWorld, rng: random.Random, at: datetime) -> Event:
    author = rng.choice(world.everyone)
    lines = phrases.DEFENDER_POSTS if author in world.defenders else phrases.POSTS
    text = rng.choice(lines[author.language])
    return remember(world, content_event(rng, EventType.POST, at, author, text), author)


def _background_reply(world: DemoWorld, rng: random.Random, at: datetime) -> Event:
    if not world.recent_posts:
        return _background_post(world, rng, at)
    parent = rng.choice(list(world.recent_posts))
    fans = set(world.followers.get(parent.author.account_id, ()))
    candidates = [a for a in world.public if a.account_id in fans] or world.public
    replier = rng.choice([a for a in candidates if a != parent.author] or world.public)
    text = rng.choice(phrases.REPLIES[replier.language])
    return content_event(
        rng,
        EventType.REPLY,
        at,
        replier,
        text,
        targets=(parent.author,),
        in_reply_to=parent.post_id,
    )


def _background_mention(world: DemoWorld, rng: random.Random, at: datetime) -> Event:
    author = rng.choice(world.public)
    target = rng.choice([a for a in world.everyone if a != author])
    text = rng.choice(phrases.MENTIONS[author.language]).format(handle=target.handle)
    event = content_event(rng, EventType.MENTION, at, author, text, targets=(target,))
    return remember(world, event, author)


def _background_message(world: DemoWorld, rng: random.Random, at: datetime) -> Event:
    sender = rng.choice(world.public)
    recipient = rng.choice([a for a in world.public if a != sender])
    text = rng.choice(phrases.DIRECT_MESSAGES[sender.language])
    return content_event(rng, EventType.DIRECT_MESSAGE, at, sender, text, targets=(recipient,))


def _background_login(world: DemoWorld, rng: random.Random, at: datetime) -> Event:
    account = rng.choice(world.everyone)
    ok = rng.random() > 0.05  # the odd mistyped password
    return login_event(rng, at, account, country=account.country, network=account.network, ok=ok)


def _background_report(world: DemoWorld, rng: random.Random, at: datetime) -> Event:
    reporter = rng.choice(world.public)
    posts = [post for post in world.recent_posts if post.author != reporter]
    if not posts:
        return _background_post(world, rng, at)
    return report_event(rng, at, reporter, rng.choice(posts), ReportReason.SPAM)


_BackgroundWriter = Callable[[DemoWorld, random.Random, datetime], Event]
_BACKGROUND_WRITERS: dict[EventType, _BackgroundWriter] = {
    EventType.POST: _background_post,
    EventType.REPLY: _background_reply,
    EventType.MENTION: _background_mention,
    EventType.DIRECT_MESSAGE: _background_message,
    EventType.LOGIN: _background_login,
    EventType.REPORT: _background_report,
}
_BACKGROUND_KINDS = list(_BACKGROUND_WRITERS)
_BACKGROUND_WEIGHTS = [35, 25, 15, 8, 14, 3]
