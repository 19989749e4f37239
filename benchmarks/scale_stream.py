"""The synthetic stream of `benchmarks.scale`: defenders, background traffic and pile-ons.

Which event of each pile-on crosses the detector's threshold is found by a dry run of the
pipeline, so alert latency is measured from that event's publish.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from hrdshield.demo_platform import phrases
from hrdshield.detection import schema
from hrdshield.detection.enums import DetectorKind
from hrdshield.detection.schema import Event
from hrdshield.detection.tasks import pipeline_factory
from hrdshield.security.crypto import Keyring

PLATFORM = "bench"
LANGUAGES = ("en", "es", "fr")
ATTACK_SIZE = 20  # accounts per pile-on: twice the default floor of 10 in 15 minutes
SPAN = timedelta(minutes=60)  # platform time the stream covers, ending when it is generated


@dataclass
class Stream:
    """The events to publish, the defenders to enrol and which accounts are attacked."""

    events: list[Event]
    defenders: list[tuple[str, str, str]]  # (account id, handle, language)
    attacked: list[str]  # account ids of the defenders a pile-on is aimed at
    # (defender account id, occurred_at) -> id of the event addressed to them at that instant
    addressed: dict[tuple[str, float], str] = field(default_factory=dict)


def _account(account_id: str, handle: str) -> dict[str, Any]:
    return {"account_id": account_id, "handle": handle}


def generate(events: int, defenders: int, accounts: int, attacks: int, seed: int = 11) -> Stream:
    """Build a mixed stream of about `events` events with `attacks` pile-ons in it."""
    rng = random.Random(seed)  # noqa: S311  (repeatable synthetic data)
    hrds = [
        (f"hrd{n:05d}", f"@bench_hrd_{n:04d}", LANGUAGES[n % len(LANGUAGES)])
        for n in range(1, defenders + 1)
    ]
    people = [(f"acc{n:06d}", f"@bench_acct_{n:06d}") for n in range(1, accounts + 1)]
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - SPAN
    raw: list[tuple[float, dict[str, Any]]] = []
    background = max(0, events - attacks * ATTACK_SIZE)
    step = SPAN.total_seconds() / max(1, background)
    for number in range(background):
        at = number * step
        raw.append((at, _background(rng, hrds, people, number)))
    attacked = rng.sample([account for account, _, _ in hrds], min(attacks, len(hrds)))
    by_account = {account: (handle, language) for account, handle, language in hrds}
    for number, target in enumerate(attacked):
        handle, language = by_account[target]
        begin = rng.uniform(0.1, 0.85) * SPAN.total_seconds()
        for member in range(ATTACK_SIZE):
            at = begin + member * 12.0 + rng.uniform(0.001, 0.999)
            lines = phrases.ABUSE[language] + phrases.MENTIONS[language]
            kind = "mention" if member % 3 else "reply"
            actor = _account(
                f"atk{number:04d}{member:02d}", f"@bench_atk_{number:04d}_{member:02d}"
            )
            raw.append((at, _text(kind, actor, [_account(target, handle)], language, lines, rng)))
    raw.sort(key=lambda item: item[0])
    stream = Stream(events=[], defenders=hrds, attacked=attacked)
    defender_accounts = set(by_account)
    for number, (at, value) in enumerate(raw):
        moment = start + timedelta(seconds=at)
        value.update(
            schema=schema.SCHEMA,
            id=f"bench-{number:08d}",
            platform=PLATFORM,
            occurred_at=schema.format_time(moment),
        )
        if "content" in value and value["type"] != "direct_message":
            value["content"]["post_id"] = f"bp{number}"
            if value["type"] == "reply":
                value["content"]["in_reply_to"] = f"bp{max(0, number - 7)}"
        event = schema.convert(value)
        stream.events.append(event)
        for target in event.targets:
            if target.account_id in defender_accounts:
                key = (target.account_id, event.occurred_at.timestamp())
                stream.addressed[key] = event.id
    return stream


def _text(  # noqa: PLR0917  (the parts of a text event, in the order they are read)
    kind: str,
    actor: dict[str, Any],
    targets: list[dict[str, Any]],
    language: str,
    lines: Sequence[str],
    rng: random.Random,
) -> dict[str, Any]:
    handle = targets[0]["handle"] if targets else ""
    line = rng.choice(lines).format(handle=handle)
    return {
        "type": kind,
        "actor": actor,
        "targets": targets,
        "content": {"text": line, "lang": language},
    }


def _background(
    rng: random.Random,
    hrds: list[tuple[str, str, str]],
    people: list[tuple[str, str]],
    number: int,
) -> dict[str, Any]:
    """One event of ordinary traffic: posts, replies and mentions, messages, sign-ins."""
    roll = rng.random()
    account, handle = people[number % len(people)] if roll < 0.55 else rng.choice(people)
    actor = _account(account, handle)
    language = LANGUAGES[number % len(LANGUAGES)]
    if roll < 0.55:
        return _text("post", actor, [], language, phrases.POSTS[language], rng)
    if roll < 0.83:  # among accounts; one in ten names two of them (two partitions)
        targets = [_account(*rng.choice(people)) for _ in range(2 if rng.random() < 0.1 else 1)]
        kind = rng.choice(("reply", "mention"))
        return _text(kind, actor, targets, language, phrases.MENTIONS[language], rng)
    if roll < 0.86:  # friendly replies and mentions to a defender (their baseline)
        target, target_handle, target_language = rng.choice(hrds)
        kind = rng.choice(("reply", "mention"))
        lines = phrases.MENTIONS[target_language]
        return _text(kind, actor, [_account(target, target_handle)], target_language, lines, rng)
    if roll < 0.93:
        value = {"type": "login", "actor": actor}
        value["login"] = {"country": "KE", "network": f"AS{64500 + number % 50}", "success": True}
        return value
    target = _account(*rng.choice(people))
    return _text(
        "direct_message", actor, [target], language, phrases.DIRECT_MESSAGES[language], rng
    )


def crossings(
    factory: sessionmaker[Session], keyring: Keyring, stream: Stream, accounts: dict[str, str]
) -> dict[str, str]:
    """Run the pipeline over the stream here; return defender account -> crossing event id."""
    pipeline = pipeline_factory(factory, keyring)(None)
    found: dict[str, str] = {}
    for start in range(0, len(stream.events), 1000):
        result = pipeline.process(stream.events[start : start + 1000])
        for draft in result.alerts:
            if draft.detector is not DetectorKind.PILE_ON or draft.defender_id is None:
                continue
            account = accounts[draft.defender_id]
            if account in found:
                continue
            key = (account, draft.triggered_at.timestamp())
            if key in stream.addressed:
                found[account] = stream.addressed[key]
    return found
