"""Scripted attacks on the demo defenders, one per threat the detectors must catch.

Each attack is a short, time-ordered burst of events ending at the given instant. The abusive
lines are mild synthetic stand-ins, doxxing exposes only the fictional phone numbers and addresses
of `world.DEMO_DEFENDERS`, and phishing links are defanged and on reserved domains.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from hrdshield.demo_platform import phrases
from hrdshield.demo_platform.enums import AttackKind, EventType, ReportReason
from hrdshield.demo_platform.events import Event, content_section, make_event
from hrdshield.demo_platform.world import (
    ATTACK_NETWORKS,
    LOGIN_ORIGINS,
    TRAFFIC_BASELINE,
    AccountRef,
    DemoWorld,
    PostRef,
    account_created_event,
    content_event,
    login_event,
    new_id,
    remember,
    report_event,
    traffic_event,
)

# Look-alike letters for impersonation handles (Cyrillic a, o, e, i, c; "rn" for "m"; "1" for "l").
CONFUSABLES = {
    "a": "\u0430",
    "o": "\u043e",
    "e": "\u0435",
    "i": "\u0456",
    "c": "\u0441",
    "m": "rn",
    "l": "1",
}


def scripted_attack(
    kind: AttackKind,
    world: DemoWorld,
    now: datetime,
    *,
    target: AccountRef | None = None,
    rng: random.Random | None = None,
) -> list[Event]:
    """Return one scripted attack of `kind` on a demo defender, ending at `now`, in time order."""
    if target is None:
        target = world.defenders[world.attacks % len(world.defenders)]
    if rng is None:
        # Repeatable, not secret: the same world and instant must script the same attack.
        seed = f"{world.seed}:{kind.value}:{world.attacks}:{now.isoformat()}"
        rng = random.Random(seed)  # noqa: S311
    world.attacks += 1
    events = _ATTACKS[kind](world, target, rng, now)
    return sorted(events, key=lambda event: str(event["occurred_at"]))


def lookalike(handle: str, rng: random.Random) -> str:
    """Return `handle` with one or two letters swapped for confusable ones."""
    body = handle.lstrip("@")
    positions = [index for index, letter in enumerate(body) if letter in CONFUSABLES]
    chosen = sorted(rng.sample(positions, k=min(len(positions), rng.randint(1, 2))), reverse=True)
    for index in chosen:
        body = body[:index] + CONFUSABLES[body[index]] + body[index + 1 :]
    return "@" + body


def _young_accounts(
    world: DemoWorld,
    rng: random.Random,
    count: int,
    *,
    born: tuple[datetime, datetime],
    language: str,
) -> tuple[list[AccountRef], list[Event]]:
    """Create `count` throwaway accounts between the two instants of `born`."""
    accounts, events = [], []
    span = (born[1] - born[0]).total_seconds()
    for _ in range(count):
        word = rng.choice(phrases.HANDLE_WORDS)
        handle = f"@{word}{rng.randrange(10**6, 10**7)}"
        while handle in world.handles:
            handle = f"@{word}{rng.randrange(10**6, 10**7)}"
        speaks = language if rng.random() < 0.6 else rng.choice(phrases.LANGUAGES)
        account = AccountRef(
            new_id(rng),
            handle,
            f"{word.title()} {handle[-3:]}",
            rng.choice(phrases.COUNTRIES[speaks]),
            speaks,
            rng.choice(ATTACK_NETWORKS),
        )
        at = born[0] + timedelta(seconds=rng.uniform(0, span))
        events.append(account_created_event(account, "", at, new_id(rng)))
        world.handles.add(handle)
        world.attackers.append(account)
        accounts.append(account)
    return accounts, events


def _spread(rng: random.Random, start: datetime, end: datetime, count: int) -> list[datetime]:
    span = (end - start).total_seconds()
    return sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in range(count))


def _defender_post(
    world: DemoWorld, rng: random.Random, target: AccountRef, at: datetime
) -> tuple[PostRef, Event]:
    text = rng.choice(phrases.DEFENDER_POSTS[target.language])
    event = remember(world, content_event(rng, EventType.POST, at, target, text), target)
    return world.recent_posts[-1], event


def _pile_on(
    world: DemoWorld, target: AccountRef, rng: random.Random, now: datetime
) -> list[Event]:
    born = (now - timedelta(hours=3), now - timedelta(minutes=30))
    mob, events = _young_accounts(
        world, rng, rng.randint(10, 14), born=born, language=target.language
    )
    post, post_event = _defender_post(world, rng, target, now - timedelta(minutes=25))
    events.append(post_event)
    senders = mob + rng.sample(mob, k=len(mob) // 2)
    for sender, at in zip(
        senders, _spread(rng, now - timedelta(minutes=20), now, len(senders)), strict=True
    ):
        text = rng.choice(phrases.ABUSE[sender.language]).format(handle=target.handle)
        events.append(
            content_event(
                rng, EventType.REPLY, at, sender, text, targets=(target,), in_reply_to=post.post_id
            )
        )
    return events


def _doxxing(
    world: DemoWorld, target: AccountRef, rng: random.Random, now: datetime
) -> list[Event]:
    profile = world.profile(target)
    born = (now - timedelta(hours=2), now - timedelta(minutes=15))
    sharers, events = _young_accounts(world, rng, 3, born=born, language=target.language)
    text = phrases.DOXXING[target.language].format(
        handle=target.handle, address=profile.address, phone=profile.phone
    )
    times = _spread(rng, now - timedelta(minutes=10), now, len(sharers))
    for sharer, at in zip(sharers, times, strict=True):
        events.append(
            content_event(
                rng, EventType.MENTION, at, sharer, text, lang=target.language, targets=(target,)
            )
        )
    return events


def _impersonation(
    world: DemoWorld, target: AccountRef, rng: random.Random, now: datetime
) -> list[Event]:
    handle = lookalike(target.handle, rng)
    while handle in world.handles:
        handle = lookalike(target.handle, rng) + rng.choice(("_", "_official", "_new"))
    world.handles.add(handle)
    impostor = AccountRef(
        new_id(rng),
        handle,
        target.display_name,
        target.country,
        target.language,
        rng.choice(ATTACK_NETWORKS),
    )
    world.attackers.append(impostor)
    # Made with a blank profile, then dressed up as the defender: how impostors usually work.
    blank = replace(impostor, display_name=handle.lstrip("@"))
    events = [
        account_created_event(blank, "", now - timedelta(minutes=40), new_id(rng)),
        make_event(
            event_id=new_id(rng),
            event_type=EventType.PROFILE_CHANGED,
            occurred_at=now - timedelta(minutes=35),
            actor=impostor.ref(),
            sections={
                "profile": {"display_name": target.display_name, "bio": world.profile(target).bio}
            },
        ),
    ]
    text = phrases.IMPERSONATION_POSTS[target.language]
    events.append(content_event(rng, EventType.POST, now - timedelta(minutes=30), impostor, text))
    fans = world.followers.get(target.account_id, [])
    by_id = {account.account_id: account for account in world.public}
    recipients = [by_id[fan] for fan in rng.sample(fans, k=min(3, len(fans)))]
    times = _spread(rng, now - timedelta(minutes=20), now, len(recipients))
    message = phrases.IMPERSONATION_MESSAGES[target.language]
    for recipient, at in zip(recipients, times, strict=True):
        events.append(
            content_event(
                rng, EventType.DIRECT_MESSAGE, at, impostor, message, targets=(recipient,)
            )
        )
    return events


def _mass_reporting(
    world: DemoWorld, target: AccountRef, rng: random.Random, now: datetime
) -> list[Event]:
    born = (now - timedelta(hours=2), now - timedelta(minutes=50))
    reporters, events = _young_accounts(
        world, rng, rng.randint(14, 18), born=born, language=target.language
    )
    post, post_event = _defender_post(world, rng, target, now - timedelta(minutes=45))
    events.append(post_event)
    reasons = (
        ReportReason.SPAM,
        ReportReason.IMPERSONATION,
        ReportReason.HATE,
        ReportReason.MISINFORMATION,
    )
    times = _spread(rng, now - timedelta(minutes=40), now - timedelta(minutes=2), len(reporters))
    for reporter, at in zip(reporters, times, strict=True):
        events.append(report_event(rng, at, reporter, post, rng.choice(reasons)))
    events.append(
        make_event(
            event_id=new_id(rng),
            event_type=EventType.CONTENT_REMOVED,
            occurred_at=now - timedelta(minutes=1),
            actor=world.moderator.ref(),
            targets=[target.ref()],
            sections={"content": content_section(post.text, post.lang, post_id=post.post_id)},
        )
    )
    return events


def _suspicious_login(
    world: DemoWorld, target: AccountRef, rng: random.Random, now: datetime
) -> list[Event]:
    country = rng.choice([code for code in LOGIN_ORIGINS if code != target.country])
    network = rng.choice(ATTACK_NETWORKS)
    failures = rng.randint(4, 6)
    times = _spread(rng, now - timedelta(minutes=12), now - timedelta(minutes=3), failures)
    events = [
        login_event(rng, at, target, country=country, network=network, ok=False) for at in times
    ]
    events.append(
        login_event(
            rng, now - timedelta(minutes=2), target, country=country, network=network, ok=True
        )
    )
    return events


def _phishing(
    world: DemoWorld, target: AccountRef, rng: random.Random, now: datetime
) -> list[Event]:
    born = (now - timedelta(minutes=40), now - timedelta(minutes=20))
    (sender,), events = _young_accounts(world, rng, 1, born=born, language=target.language)
    url = rng.choice(phrases.PHISHING_URLS)
    text = phrases.PHISHING[target.language].format(url=url)
    events.append(
        content_event(
            rng,
            EventType.DIRECT_MESSAGE,
            now - timedelta(minutes=5),
            sender,
            text,
            lang=target.language,
            targets=(target,),
        )
    )
    return events


def _smear(world: DemoWorld, target: AccountRef, rng: random.Random, now: datetime) -> list[Event]:
    born = (now - timedelta(hours=6), now - timedelta(hours=1))
    chorus, events = _young_accounts(
        world, rng, rng.randint(7, 10), born=born, language=target.language
    )
    lines = phrases.SMEAR[target.language]
    times = _spread(rng, now - timedelta(minutes=30), now, len(chorus))
    for author, at in zip(chorus, times, strict=True):
        text = rng.choice(lines).format(handle=target.handle)
        events.append(
            content_event(
                rng, EventType.MENTION, at, author, text, lang=target.language, targets=(target,)
            )
        )
    return events


def _traffic_drop(
    world: DemoWorld, target: AccountRef, rng: random.Random, now: datetime
) -> list[Event]:
    region = target.country if target.country in TRAFFIC_BASELINE else sorted(TRAFFIC_BASELINE)[0]
    baseline = TRAFFIC_BASELINE[region]
    return [
        traffic_event(
            rng, now - timedelta(minutes=minutes), region, round(baseline * rng.uniform(0.02, 0.06))
        )
        for minutes in (2, 1, 0)
    ]


_Attack = Callable[[DemoWorld, AccountRef, random.Random, datetime], list[Event]]
_ATTACKS: dict[AttackKind, _Attack] = {
    AttackKind.PILE_ON: _pile_on,
    AttackKind.DOXXING: _doxxing,
    AttackKind.IMPERSONATION: _impersonation,
    AttackKind.MASS_REPORTING: _mass_reporting,
    AttackKind.SUSPICIOUS_LOGIN: _suspicious_login,
    AttackKind.PHISHING: _phishing,
    AttackKind.SMEAR: _smear,
    AttackKind.TRAFFIC_DROP: _traffic_drop,
}
