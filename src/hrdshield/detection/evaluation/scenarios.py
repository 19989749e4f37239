"""A scenario generator for evaluating detection: a realistic mixed stream with ground truth.

Background traffic in six languages (posts, benign replies and mentions to defenders, the odd
report, defenders' own sign-ins from their usual places, daily traffic curves per region, new
accounts, organic sharing of one link and hashtag) with every attack kind mixed in at several
intensities and with the evasions attackers use. Each attack records the ids of its events, so an
alert is a true positive exactly when it rests on an attack's events. Everything is synthetic
and repeatable from the seed; phone numbers are from fictional ranges and domains are reserved.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hrdshield.defenders import identifiers
from hrdshield.defenders.enums import IdentifierKind, RiskLevel
from hrdshield.demo_platform import phrases
from hrdshield.detection import schema
from hrdshield.detection.enums import DetectorKind
from hrdshield.detection.index import DefenderIndex, ProtectedDefender
from hrdshield.detection.schema import Event

START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
INTENSITIES = ("low", "medium", "high")
# Far-apart sign-in origins for takeovers (ISO country, network) and a reserved indicator domain.
FAR_ORIGINS = (("BR", "AS64600"), ("RU", "AS64601"), ("US", "AS64602"), ("ID", "AS64603"))
INDICATOR_DOMAINS = ("secure-account-check.example", "login-verify.test", "update-notice.invalid")
_CONFUSABLE = {"a": "\u0430", "o": "\u043e", "e": "\u0435", "i": "\u0456", "c": "\u0441"}
_LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5"}


@dataclass(frozen=True)
class ScenarioConfig:
    """Size and mix of a scenario; the defaults are the evaluation's."""

    seed: int = 2026
    defenders: int = 80
    accounts: int = 4000
    hours: int = 24
    posts_per_minute: int = 30
    repeats: int = 3  # attacks of each kind at each intensity
    regions_with_traffic: int = 8
    targeted_share: float = 0.02  # background events that reply to or mention a defender
    login_history_days: int = 20  # days of ordinary sign-ins before the stream starts


@dataclass
class Attack:
    """One attack and the events it is made of (ground truth)."""

    kind: DetectorKind
    intensity: str
    variant: str
    start: datetime
    defender_id: str | None = None
    region: str | None = None
    event_ids: set[str] = field(default_factory=set)


@dataclass
class Scenario:
    """A stream in time order, the defenders it targets and the attacks hidden in it."""

    events: list[Event]
    attacks: list[Attack]
    defenders: list[ProtectedDefender]
    digests: list[tuple[str, IdentifierKind, str]]
    indicators: tuple[str, ...] = INDICATOR_DOMAINS
    key: bytes = b""

    def hasher(self, kind: str, canonical: str) -> str:
        """Keyed hash standing in for the keyring's blind index during the evaluation."""
        return hmac.new(self.key, f"{kind}\x1f{canonical}".encode(), hashlib.sha256).hexdigest()

    def index(self) -> DefenderIndex:
        """Return a defender index for this scenario."""
        return DefenderIndex.build(self.hasher, self.defenders, self.digests)


@dataclass
class _Person:
    account_id: str
    handle: str
    display_name: str
    language: str
    country: str
    network: str = "AS64496"
    phone: str | None = None
    address: str | None = None
    avatar: str = ""
    defender_id: str | None = None


class _Builder:
    """Accumulates events; every event gets a unique, repeatable id."""

    def __init__(self, config: ScenarioConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)  # noqa: S311  (repeatable synthetic data)
        self.raw: list[dict[str, Any]] = []
        self.attacks: list[Attack] = []
        self.count = 0
        self.end = START + timedelta(hours=config.hours)
        self.traffic_regions: list[str] = []
        self.shutdowns = 0

    def event(self, event_type: str, at: datetime, actor: _Person | None, **sections: Any) -> str:
        self.count += 1
        event_id = f"ev{self.count:08d}"
        targets = sections.pop("targets", ())
        created = sections.pop("created_at", None)
        value: dict[str, Any] = {
            "schema": schema.SCHEMA,
            "id": event_id,
            "type": event_type,
            "occurred_at": schema.format_time(at),
            "platform": "eval",
            "actor": None if actor is None else _ref(actor, created),
            "targets": [_ref(target) for target in targets],
            **sections,
        }
        self.raw.append(value)
        return event_id

    def text(
        self,
        event_type: str,
        at: datetime,
        actor: _Person,
        text: str,
        targets: tuple[_Person, ...],
        *,
        lang: str | None = None,
    ) -> str:
        language = lang or actor.language
        content: dict[str, Any] = {"text": text[: schema.MAX_TEXT], "lang": language}
        if event_type != "direct_message":
            content["post_id"] = f"p{self.count + 1}"
        if event_type == "reply":
            content["in_reply_to"] = f"p{max(self.count - 5, 0)}"
        return self.event(event_type, at, actor, targets=targets, content=content)

    def event_time(self, text: str) -> datetime:
        """Return the time written in an event's ``occurred_at``."""
        return schema.parse_time(text)

    def moment(self, margin_hours: float = 1.0) -> datetime:
        span = self.config.hours - 2 * margin_hours
        return START + timedelta(hours=margin_hours + self.rng.uniform(0, span))


def _ref(person: _Person, created: datetime | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"account_id": person.account_id, "handle": person.handle}
    if created is not None:
        ref["created_at"] = schema.format_time(created)
    return ref


def _people(builder: _Builder) -> tuple[list[_Person], list[_Person]]:
    rng, config = builder.rng, builder.config
    words, nouns = phrases.HANDLE_WORDS, phrases.HANDLE_NOUNS
    defenders = []
    for number in range(config.defenders):
        language = phrases.LANGUAGES[number % len(phrases.LANGUAGES)]
        first, second = words[number % len(words)], nouns[(number // len(words)) % len(nouns)]
        defenders.append(
            _Person(
                account_id=f"d{number:06d}",
                handle=f"@{first}_{second}_{number}",
                display_name=f"{first.title()} {second.title()} {number}",
                language=language,
                country=phrases.COUNTRIES[language][number % 4],
                network=f"AS{64700 + number % 200}",
                phone=f"+44 7700 900{number % 1000:03d}" if number < 1000 else None,
                address=f"{number + 1} Example Lane, Testville",
                avatar=f"{rng.getrandbits(64):016x}",
                defender_id=f"defender{number:06d}",
            )
        )
    accounts = []
    for number in range(config.accounts):
        language = rng.choice(phrases.LANGUAGES)
        word, noun = rng.choice(words), rng.choice(nouns)
        accounts.append(
            _Person(
                account_id=f"a{number:07d}",
                handle=f"@{word}{noun}{number}",
                display_name=f"{word.title()} {noun}",
                language=language,
                country=rng.choice(phrases.COUNTRIES[language]),
            )
        )
    return defenders, accounts


def _protected(
    scenario_key: bytes, people: list[_Person]
) -> tuple[list[ProtectedDefender], list[tuple[str, IdentifierKind, str]]]:
    def keyed(kind: IdentifierKind, value: str, region: str) -> str:
        canonical = identifiers.canonical(kind, value, region=region)
        message = f"{kind.value}\x1f{canonical}".encode()
        return hmac.new(scenario_key, message, hashlib.sha256).hexdigest()

    defenders, digests = [], []
    for index, person in enumerate(people):
        assert person.defender_id is not None  # noqa: S101
        handle = identifiers.canonical(IdentifierKind.HANDLE, person.handle)
        defenders.append(
            ProtectedDefender(
                defender_id=person.defender_id,
                pseudonym=f"HRD-EVAL{index:04d}",
                country=person.country,
                languages=(person.language,),
                risk_level=RiskLevel.HIGH if index % 5 == 0 else RiskLevel.MEDIUM,
                handles=(handle,),
                display_name=person.display_name,
                proactive_notification=True,
            )
        )
        owned = [(IdentifierKind.HANDLE, person.handle)]
        if person.phone:
            owned.append((IdentifierKind.PHONE, person.phone))
        if person.address:
            owned.append((IdentifierKind.ADDRESS, person.address))
        for kind, value in owned:
            digests.append((person.defender_id, kind, keyed(kind, value, person.country)))
    return defenders, digests


def generate(config: ScenarioConfig | None = None) -> Scenario:
    """Build the scenario for `config`: background traffic with every attack mixed in."""
    config = config or ScenarioConfig()
    builder = _Builder(config)
    defenders, accounts = _people(builder)
    _background(builder, defenders, accounts)
    from hrdshield.detection.evaluation import attacks  # noqa: PLC0415  (attacks need _Builder)

    attacks.add_all(builder, defenders, accounts)
    builder.raw.sort(key=lambda value: (value["occurred_at"], value["id"]))
    events = [schema.convert(value) for value in builder.raw]
    key = hashlib.sha256(f"eval-key-{config.seed}".encode()).digest()
    protected, digests = _protected(key, defenders)
    return Scenario(
        events=events, attacks=builder.attacks, defenders=protected, digests=digests, key=key
    )


def _minutes(builder: _Builder) -> Iterator[datetime]:
    at = START
    while at < builder.end:
        yield at
        at += timedelta(minutes=1)


def _background(builder: _Builder, defenders: list[_Person], accounts: list[_Person]) -> None:
    rng, config = builder.rng, builder.config
    for person in defenders:
        builder.event(
            "account_created", START - timedelta(days=400), person, profile=_profile(person)
        )
    for minute in _minutes(builder):
        for _ in range(config.posts_per_minute):
            author = rng.choice(accounts)
            at = minute + timedelta(seconds=rng.uniform(0, 60))
            builder.text("post", at, author, rng.choice(phrases.POSTS[author.language]), ())
        expected = config.posts_per_minute * config.targeted_share  # benign replies/mentions
        for _ in range(int(expected) + (rng.random() < expected % 1)):
            _friendly(builder, minute, rng.choice(defenders), accounts)
        if rng.random() < 0.01:
            reporter, target = rng.choice(accounts), rng.choice(defenders)
            builder.event(
                "report",
                minute,
                reporter,
                targets=(target,),
                report={"reason": rng.choice(("spam", "other"))},
            )
        if rng.random() < 0.05:
            _newcomer(builder, minute, accounts)
    _sign_ins(builder, defenders)
    _traffic(builder, defenders)
    _organic_sharing(builder, defenders, accounts)


def _profile(person: _Person) -> dict[str, Any]:
    return {
        "display_name": person.display_name,
        "bio": "",
        "country": person.country,
        "language": person.language,
        "avatar_phash": person.avatar or None,
    }


def _friendly(builder: _Builder, at: datetime, defender: _Person, accounts: list[_Person]) -> None:
    rng = builder.rng
    author = rng.choice(accounts)
    kind = rng.choice(("reply", "mention"))
    bank = phrases.REPLIES if kind == "reply" else phrases.MENTIONS
    text = rng.choice(bank[author.language]).format(handle=defender.handle)
    builder.text(kind, at + timedelta(seconds=rng.uniform(0, 60)), author, text, (defender,))


def _newcomer(builder: _Builder, at: datetime, accounts: list[_Person]) -> None:
    rng = builder.rng
    word, noun = rng.choice(phrases.HANDLE_WORDS), rng.choice(phrases.HANDLE_NOUNS)
    person = _Person(
        account_id=f"n{builder.count:08d}",
        handle=f"@{noun}_{word}_{rng.randrange(10**5)}",
        display_name=f"{noun.title()} {word.title()}",
        language=rng.choice(phrases.LANGUAGES),
        country="KE",
    )
    builder.event("account_created", at, person, profile=_profile(person))
    accounts.append(person)


def _sign_ins(builder: _Builder, defenders: list[_Person]) -> None:
    rng = builder.rng
    days = builder.config.login_history_days
    for person in defenders:
        history = START - timedelta(days=days)
        for day in range(days + builder.config.hours // 24 + 1):  # ordinary daily sign-ins
            at = history + timedelta(days=day, hours=rng.uniform(7, 22))
            if at >= builder.end:
                break
            builder.event(
                "login",
                at,
                person,
                login={"country": person.country, "network": person.network, "success": True},
            )
        if rng.random() < 0.3:  # one mistyped password
            at = builder.moment()
            builder.event(
                "login",
                at,
                person,
                login={"country": person.country, "network": person.network, "success": False},
            )


def _traffic(builder: _Builder, defenders: list[_Person]) -> None:
    rng = builder.rng
    regions = sorted({person.country for person in defenders})[
        : builder.config.regions_with_traffic
    ]
    builder.traffic_regions = regions
    regions = [*regions, "IS"]  # and one region with no defenders
    warm = START - timedelta(days=2)
    at = warm
    while at < builder.end:
        for region in regions:
            daily = 1 + 0.45 * math.sin((at.hour + at.minute / 60 - 9) / 24 * 2 * math.pi)
            count = int(20_000 * daily * rng.uniform(0.95, 1.05))
            builder.event("traffic_count", at, None, region=region, count=count)
        at += timedelta(minutes=5)


def _organic_sharing(builder: _Builder, defenders: list[_Person], accounts: list[_Person]) -> None:
    """Many people sharing one news link and hashtag about a defender over a whole day."""
    rng = builder.rng
    defender = defenders[1]
    for _ in range(60):
        author = rng.choice(accounts)
        at = builder.moment(margin_hours=0.2)
        text = (
            f"{rng.choice(phrases.POSTS[author.language])} #ClimateWeek "
            f"https://news.example.org/story/{rng.randrange(3)} {defender.handle}"
        )
        builder.text("mention", at, author, text, (defender,))


def confusable(handle: str, rng: random.Random) -> str:
    """Swap one or two letters of `handle` for look-alike Cyrillic letters."""
    body = list(handle.lstrip("@"))
    positions = [index for index, letter in enumerate(body) if letter in _CONFUSABLE]
    for index in rng.sample(positions, k=min(2, len(positions))):
        body[index] = _CONFUSABLE[body[index]]
    return "@" + "".join(body)


def leet(text: str) -> str:
    """Write `text` in leetspeak, an evasion of word lists."""
    return "".join(_LEET.get(letter, letter) for letter in text)


def spaced(text: str, rng: random.Random) -> str:
    """Insert dots into longer words (``k.i.l.l``), another evasion."""
    return " ".join(
        ".".join(word) if len(word) > 3 and rng.random() < 0.5 else word for word in text.split()
    )
