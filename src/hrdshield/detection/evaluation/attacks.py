"""The attacks mixed into an evaluation scenario: every kind, three intensities, with evasions.

Each function writes one attack's events through the scenario builder and returns its ground
truth. Intensities are chosen around the detectors' default thresholds: `low` is a small attack
that should still be caught, `high` an obvious one; variants are the evasions attackers use.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hrdshield.demo_platform import phrases
from hrdshield.detection.enums import DetectorKind
from hrdshield.detection.evaluation.scenarios import (
    FAR_ORIGINS,
    INDICATOR_DOMAINS,
    INTENSITIES,
    START,
    Attack,
    _Person,
    _profile,
    confusable,
    leet,
    spaced,
)

if TYPE_CHECKING:
    from hrdshield.detection.evaluation.scenarios import _Builder

AttackWriter = Callable[["_Builder", _Person, list[_Person], str, int], Attack]


def _crowd(
    builder: _Builder, size: int, at: datetime, *, young: bool, language: str
) -> list[_Person]:
    """Make `size` attacking accounts (young ones are created in the hours before `at`)."""
    rng = builder.rng
    crowd: list[_Person] = []
    for _ in range(size):
        word = rng.choice(phrases.HANDLE_WORDS)
        person = _Person(
            account_id=f"x{builder.count:08d}{len(crowd)}",
            handle=f"@{word}{rng.randrange(10**6, 10**7)}",
            display_name=f"{word.title()} {rng.randrange(100)}",
            language=language if rng.random() < 0.7 else rng.choice(phrases.LANGUAGES),
            country="KE",
        )
        if young:
            born = at - timedelta(hours=rng.uniform(1, 48))
            builder.event("account_created", born, person, profile=_profile(person))
        crowd.append(person)
    return crowd


def pile_on(
    builder: _Builder, target: _Person, accounts: list[_Person], intensity: str, variant: int
) -> Attack:
    """Many accounts reply to and mention the defender within minutes."""
    size = {"low": 12, "medium": 30, "high": 80}[intensity]
    minutes = {"low": 12.0, "medium": 14.0, "high": 15.0}[intensity]
    young = variant != 1  # variant 1: the brigade uses old accounts (they weigh less)
    if not young:
        size += 4
    start = builder.moment()
    attack = Attack(
        DetectorKind.PILE_ON,
        intensity,
        "old accounts" if not young else "young",
        start,
        defender_id=target.defender_id,
    )
    crowd = _crowd(builder, size, start, young=young, language=target.language)
    rng = builder.rng
    for person in crowd:
        at = start + timedelta(minutes=rng.uniform(0, minutes))
        line = rng.choice(phrases.REPLIES[person.language] + phrases.ABUSE[person.language])
        kind = rng.choice(("reply", "mention"))
        attack.event_ids.add(
            builder.text(kind, at, person, line.format(handle=target.handle), (target,))
        )
    return attack


def mass_reporting(
    builder: _Builder, target: _Person, accounts: list[_Person], intensity: str, variant: int
) -> Attack:
    """Many accounts report the defender within the hour; the platform may take a post down."""
    size = {"low": 10, "medium": 25, "high": 60}[intensity]
    start = builder.moment()
    attack = Attack(
        DetectorKind.MASS_REPORTING, intensity, "reports", start, defender_id=target.defender_id
    )
    rng = builder.rng
    for person in _crowd(builder, size, start, young=variant == 0, language=target.language):
        at = start + timedelta(minutes=rng.uniform(0, 45))
        attack.event_ids.add(
            builder.event(
                "report",
                at,
                person,
                targets=(target,),
                report={"reason": rng.choice(("harassment", "hate", "misinformation", "spam"))},
            )
        )
    if intensity == "high":
        moderator = _Person("platform-moderation", "@moderation", "Moderation", "en", "US")
        attack.event_ids.add(
            builder.event(
                "content_removed",
                start + timedelta(minutes=50),
                moderator,
                targets=(target,),
                content={"post_id": f"p-{target.account_id}"},
            )
        )
        attack.variant = "reports and a takedown"
    return attack


_PHONE_FORMS = (
    lambda phone: phone,  # +44 7700 900123
    lambda phone: phone.replace(" ", "."),  # +44.7700.900123
    lambda phone: "00" + phone[1:].replace(" ", "-"),  # 0044-7700-900123
    lambda phone: "0" + phone[4:],  # 07700 900123 (national form)
    lambda phone: "(+44) " + phone[4:].replace(" ", ""),
)


def doxxing(
    builder: _Builder, target: _Person, accounts: list[_Person], intensity: str, variant: int
) -> Attack:
    """A post exposing the defender's phone number or home address, written various ways."""
    rng = builder.rng
    author = rng.choice(accounts)
    start = builder.moment()
    forms = {"low": "address", "medium": "phone", "high": "phone and address"}
    attack = Attack(
        DetectorKind.DOXXING, intensity, forms[intensity], start, defender_id=target.defender_id
    )
    phone = _PHONE_FORMS[variant % len(_PHONE_FORMS)](target.phone or "+44 7700 900999")
    address = target.address or "1 Example Lane, Testville"
    if intensity == "low":
        text = f"Look who lives at {address.upper()} - drop by"
    elif intensity == "medium":
        text = f"Call them and tell them what you think: {phone}"
    else:
        text = phrases.DOXXING[author.language].format(
            handle=target.handle, address=address, phone=phone
        )
    targets = (target,) if variant % 2 == 0 else ()  # leaks need not mention the defender
    attack.event_ids.add(
        builder.text("post" if not targets else "mention", start, author, text, targets)
    )
    return attack


def smear(
    builder: _Builder, target: _Person, accounts: list[_Person], intensity: str, variant: int
) -> Attack:
    """Many accounts post near-copies of one smear about the defender within an hour or two."""
    rng = builder.rng
    size = {"low": 6, "medium": 12, "high": 30}[intensity]
    start = builder.moment()
    attack = Attack(
        DetectorKind.SMEAR_CAMPAIGN,
        intensity,
        "near-duplicates",
        start,
        defender_id=target.defender_id,
    )
    template = rng.choice(phrases.SMEAR[target.language])
    for person in _crowd(builder, size, start, young=True, language=target.language):
        text = template.format(handle=target.handle)
        edit = rng.randrange(4)
        if edit == 1:
            text = text.upper()
        elif edit == 2:
            text = text.replace(".", "!!") + " 😡"
        elif edit == 3:
            text = "Read this: " + text + " #truth"
        at = start + timedelta(minutes=rng.uniform(0, 90))
        attack.event_ids.add(builder.text("mention", at, person, text, (target,)))
    return attack


def impersonation(
    builder: _Builder, target: _Person, accounts: list[_Person], intensity: str, variant: int
) -> Attack:
    """An account made (or renamed) to look like the defender."""
    rng = builder.rng
    start = builder.moment()
    body = target.handle.lstrip("@")
    handle = {
        "low": "@" + body.replace("_", "."),
        "medium": confusable(target.handle, rng),
        "high": confusable(target.handle, rng),
    }[intensity]
    impostor = _Person(
        f"imp{builder.count:08d}",
        handle,
        target.display_name,
        target.language,
        target.country,
        avatar=target.avatar if intensity == "high" else "",
    )
    attack = Attack(
        DetectorKind.IMPERSONATION,
        intensity,
        "look-alike handle",
        start,
        defender_id=target.defender_id,
    )
    if variant == 1:  # an existing account renames itself
        impostor.display_name = f"{rng.choice(phrases.HANDLE_WORDS)} fan"
        builder.event(
            "account_created", start - timedelta(days=90), impostor, profile=_profile(impostor)
        )
        impostor.display_name = target.display_name
        attack.variant = "rename"
        attack.event_ids.add(
            builder.event("profile_changed", start, impostor, profile=_profile(impostor))
        )
    else:
        attack.event_ids.add(
            builder.event("account_created", start, impostor, profile=_profile(impostor))
        )
    return attack


def account_takeover(
    builder: _Builder, target: _Person, accounts: list[_Person], intensity: str, variant: int
) -> Attack:
    """Sign-ins on the defender's account from elsewhere: new country, far travel, guessing."""
    start = builder.moment()
    country, network = FAR_ORIGINS[variant % len(FAR_ORIGINS)]
    if country == target.country:
        country, network = FAR_ORIGINS[(variant + 1) % len(FAR_ORIGINS)]
    variants = {"low": "new country", "medium": "impossible travel", "high": "guessing, then in"}
    attack = Attack(
        DetectorKind.ACCOUNT_TAKEOVER,
        intensity,
        variants[intensity],
        start,
        defender_id=target.defender_id,
    )

    def login(at: datetime, where: str, net: str, success: bool = True) -> None:
        attack.event_ids.add(
            builder.event(
                "login", at, target, login={"country": where, "network": net, "success": success}
            )
        )

    if intensity == "medium":
        builder.event(
            "login",
            start - timedelta(minutes=40),
            target,
            login={"country": target.country, "network": target.network, "success": True},
        )
    if intensity == "high":
        for step in range(12):
            login(start + timedelta(seconds=30 * step), country, network, success=False)
        start += timedelta(minutes=7)
    login(start, country, network)
    return attack


def malicious_link(
    builder: _Builder, target: _Person, accounts: list[_Person], intensity: str, variant: int
) -> Attack:
    """A message to the defender carrying a known spyware or phishing domain."""
    rng = builder.rng
    domain = INDICATOR_DOMAINS[variant % len(INDICATOR_DOMAINS)]
    url = {
        "low": f"https://{domain}/login",
        "medium": "hxxps://" + domain.replace(".", "[.]") + "/confirm",
        "high": f"https://account.{domain}/reset?id={rng.randrange(10**6)}",
    }[intensity]
    start = builder.moment()
    author = rng.choice(accounts)
    attack = Attack(
        DetectorKind.MALICIOUS_LINK,
        intensity,
        url.split("/")[0],
        start,
        defender_id=target.defender_id,
    )
    text = phrases.PHISHING[author.language].format(url=url)
    attack.event_ids.add(builder.text("direct_message", start, author, text, (target,)))
    return attack


def shutdown(
    builder: _Builder, target: _Person, accounts: list[_Person], intensity: str, variant: int
) -> Attack:
    """Traffic from the defender's region collapses for most of an hour."""
    ratio = {"low": 0.3, "medium": 0.12, "high": 0.02}[intensity]
    regions = builder.traffic_regions
    region = regions[builder.shutdowns % len(regions)]
    # Spread shutdowns over the day so that two never overlap in one region.
    offset = 3 + (builder.shutdowns // len(regions)) * 7 + (builder.shutdowns % 3) * 2
    builder.shutdowns += 1
    start = START + timedelta(hours=offset % max(builder.config.hours - 2, 1), minutes=2)
    attack = Attack(
        DetectorKind.SHUTDOWN, intensity, f"to {int(ratio * 100)} %", start, region=region
    )
    stop = start + timedelta(minutes=50)
    for value in builder.raw:
        if value["type"] != "traffic_count" or value["region"] != region:
            continue
        at = value["occurred_at"]
        if builder.event_time(at) >= start and builder.event_time(at) < stop:
            value["count"] = int(value["count"] * ratio)
            attack.event_ids.add(value["id"])
    return attack


def targeted_abuse(
    builder: _Builder, target: _Person, accounts: list[_Person], intensity: str, variant: int
) -> Attack:
    """Threats and insults aimed at the defender, some written to slip past word lists."""
    rng = builder.rng
    start = builder.moment()
    attack = Attack(
        DetectorKind.TARGETED_ABUSE,
        intensity,
        ("plain", "leetspeak", "spaced letters")[variant % 3],
        start,
        defender_id=target.defender_id,
    )
    author = rng.choice(accounts)
    line = rng.choice(phrases.ABUSE[target.language]).format(handle=target.handle)
    if variant % 3 == 1:
        line = leet(line)
    elif variant % 3 == 2:
        line = spaced(line, rng)
    attack.event_ids.add(
        builder.text("reply", start, author, line, (target,), lang=target.language)
    )
    return attack


WRITERS: dict[DetectorKind, AttackWriter] = {
    DetectorKind.PILE_ON: pile_on,
    DetectorKind.MASS_REPORTING: mass_reporting,
    DetectorKind.DOXXING: doxxing,
    DetectorKind.SMEAR_CAMPAIGN: smear,
    DetectorKind.IMPERSONATION: impersonation,
    DetectorKind.ACCOUNT_TAKEOVER: account_takeover,
    DetectorKind.MALICIOUS_LINK: malicious_link,
    DetectorKind.SHUTDOWN: shutdown,
    DetectorKind.TARGETED_ABUSE: targeted_abuse,
}


def add_all(builder: _Builder, defenders: list[_Person], accounts: list[_Person]) -> None:
    """Write every attack kind at every intensity, `repeats` times, on distinct defenders."""
    order = list(defenders[2:])  # the first two have the busy and the organic background
    builder.rng.shuffle(order)
    slot = 0
    for writer in WRITERS.values():
        for intensity in INTENSITIES:
            for variant in range(builder.config.repeats):
                target = order[slot % len(order)]
                slot += 1
                builder.attacks.append(writer(builder, target, accounts, intensity, variant))
