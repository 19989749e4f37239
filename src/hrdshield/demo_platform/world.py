"""The demo platform's cast and the builders of its events, shared by background and attacks.

The demo defenders, their phone numbers and addresses are fictional: phones sit in ranges reserved
for fiction and addresses name no real street. Networks are documentation ASNs. This module must
never carry real people's data.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from hrdshield.demo_platform import service
from hrdshield.demo_platform.enums import EventType, ReportReason
from hrdshield.demo_platform.events import Event, account_ref, content_section, make_event

RECENT_POSTS = 60
PUBLIC_ACCOUNTS = 24

# Autonomous system numbers reserved for documentation (RFC 5398): they name no real network.
HOME_NETWORKS = tuple(f"AS{number}" for number in range(64496, 64512))
ATTACK_NETWORKS = tuple(f"AS{number}" for number in range(65536, 65552))
# Where suspicious sign-ins come from: any country the defender is not in.
LOGIN_ORIGINS = ("IS", "NL", "PA", "SG", "UY")

# Typical traffic per interval for the regions the demo watches; a drop far below it is a signal.
TRAFFIC_BASELINE = {
    "BR": 5200,
    "CO": 2400,
    "EG": 3900,
    "FR": 3100,
    "KE": 1800,
    "MA": 1500,
    "MX": 4100,
    "RU": 4700,
    "TN": 1400,
}


@dataclass(frozen=True)
class DemoDefenderProfile:
    """A fictional defender on the demo platform, with the identifiers a doxxing post exposes."""

    handle: str
    display_name: str
    bio: str
    country: str
    language: str
    network: str
    phone: str
    address: str


# Phones: +44 7700 900xxx is Ofcom's drama range and 555-01xx is reserved for fiction in the NANP.
# hrdshield.demo_data enrols the same handles, phones and addresses as protected identifiers.
DEMO_DEFENDERS = (
    DemoDefenderProfile(
        handle="@demo_hrd_amara",
        display_name="Amara (demo)",
        bio="Land rights lawyer. Fictional demo account.",
        country="KE",
        language="en",
        network="AS64496",
        phone="+44 7700 900123",
        address="12 Example Lane, Testville",
    ),
    DemoDefenderProfile(
        handle="@demo_hrd_lucia",
        display_name="Lucía (demo)",
        bio="Periodista ambiental. Cuenta ficticia de demostración.",
        country="MX",
        language="es",
        network="AS64497",
        phone="+1 555 0100",
        address="Calle Ficticia 123, Villa Ejemplo",
    ),
    DemoDefenderProfile(
        handle="@demo_hrd_karim",
        display_name="Karim (demo)",
        bio="Syndicaliste et défenseur des droits. Compte fictif de démonstration.",
        country="TN",
        language="ar",
        network="AS64498",
        phone="+44 7700 900388",
        address="9 Rue de l'Exemple, Villefictive",
    ),
)
MODERATOR = DemoDefenderProfile(
    handle="@demo_platform_safety",
    display_name="Demo platform safety team",
    bio="Automated moderation of the demo platform.",
    country="ZZ",  # user-assigned ISO code: the platform itself has no country
    language="en",
    network="AS64511",
    phone="",
    address="",
)


@dataclass(frozen=True)
class AccountRef:
    """What the generator knows of one account: enough to write events as it."""

    account_id: str
    handle: str
    display_name: str
    country: str
    language: str
    network: str

    def ref(self) -> dict[str, str]:
        """Return the account as an event's actor or target."""
        return account_ref(self.account_id, self.handle)


@dataclass(frozen=True)
class PostRef:
    """A recent post that background accounts may reply to or report."""

    post_id: str
    author: AccountRef
    text: str
    lang: str


@dataclass
class DemoWorld:
    """The accounts the generator writes as, and what it has posted recently."""

    seed: int
    defenders: list[AccountRef]
    public: list[AccountRef]
    moderator: AccountRef
    followers: dict[str, list[str]]  # account id -> ids of its followers, in a stable order
    handles: set[str] = field(default_factory=set)  # every handle in use, to avoid collisions
    attackers: list[AccountRef] = field(default_factory=list)
    recent_posts: deque[PostRef] = field(default_factory=lambda: deque(maxlen=RECENT_POSTS))
    batches: int = 0
    attacks: int = 0

    def defender(self, handle: str) -> AccountRef:
        """Return the demo defender with `handle`."""
        wanted = service.normal_handle(handle)
        for defender in self.defenders:
            if defender.handle == wanted:
                return defender
        raise KeyError(f"{handle} is not a demo defender")

    def profile(self, defender: AccountRef) -> DemoDefenderProfile:
        """Return the fictional profile (phone, address) of a demo defender."""
        for profile in DEMO_DEFENDERS:
            if profile.handle == defender.handle:
                return profile
        raise KeyError(f"{defender.handle} is not a demo defender")

    @property
    def everyone(self) -> list[AccountRef]:
        """Return defenders and background accounts (not attackers or the moderator)."""
        return [*self.defenders, *self.public]


def new_id(rng: random.Random) -> str:
    """Return a 32-hex-digit id drawn from `rng`, so ids repeat with the seed."""
    return f"{rng.getrandbits(128):032x}"


def account_created_event(account: AccountRef, bio: str, at: datetime, event_id: str) -> Event:
    """Return the event that creates `account` at `at`."""
    profile = {
        "display_name": account.display_name,
        "bio": bio,
        "country": account.country,
        "language": account.language,
    }
    return make_event(
        event_id=event_id,
        event_type=EventType.ACCOUNT_CREATED,
        occurred_at=at,
        actor=account.ref(),
        sections={"profile": profile},
    )


def content_event(
    rng: random.Random,
    event_type: EventType,
    at: datetime,
    author: AccountRef,
    text: str,
    *,
    lang: str | None = None,
    targets: tuple[AccountRef, ...] = (),
    in_reply_to: str | None = None,
) -> Event:
    """Return a post, reply, mention or direct message written by `author`."""
    post_id = None if event_type is EventType.DIRECT_MESSAGE else new_id(rng)
    return make_event(
        event_id=new_id(rng),
        event_type=event_type,
        occurred_at=at,
        actor=author.ref(),
        targets=[target.ref() for target in targets],
        sections={
            "content": content_section(
                text, lang or author.language, post_id=post_id, in_reply_to=in_reply_to
            )
        },
    )


def traffic_event(rng: random.Random, at: datetime, region: str, count: int) -> Event:
    """Return a count of the platform's traffic from `region` in the interval ending at `at`."""
    return make_event(
        event_id=new_id(rng),
        event_type=EventType.TRAFFIC_COUNT,
        occurred_at=at,
        actor=None,
        sections={"region": region, "count": count},
    )


def login_event(
    rng: random.Random, at: datetime, account: AccountRef, *, country: str, network: str, ok: bool
) -> Event:
    """Return a sign-in attempt on `account` from `country` and `network`."""
    return make_event(
        event_id=new_id(rng),
        event_type=EventType.LOGIN,
        occurred_at=at,
        actor=account.ref(),
        sections={"login": {"country": country, "network": network, "success": ok}},
    )


def report_event(
    rng: random.Random, at: datetime, reporter: AccountRef, post: PostRef, reason: ReportReason
) -> Event:
    """Return `reporter`'s report of `post` (and its author) for `reason`."""
    return make_event(
        event_id=new_id(rng),
        event_type=EventType.REPORT,
        occurred_at=at,
        actor=reporter.ref(),
        targets=[post.author.ref()],
        sections={"report": {"reason": reason.value, "post_id": post.post_id}},
    )


def remember(world: DemoWorld, event: Event, author: AccountRef) -> Event:
    """Keep a post event in the world's recent posts, so others can reply to it; return it."""
    content = event["content"]
    world.recent_posts.append(PostRef(content["post_id"], author, content["text"], content["lang"]))
    return event
