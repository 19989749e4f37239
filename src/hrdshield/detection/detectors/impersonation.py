"""Impersonation: accounts made or renamed to pass for a protected defender.

An impostor speaks in the defender's name to their contacts ("my old account was hacked, send me
the list"), discredits them, or harvests their network. This detector looks at every account
creation and profile change (scope EVERYONE) and compares the account with the defenders it
resembles, found through `lookalikes` without a scan: a handle whose look-alike skeleton is
identical to a defender's (Cyrillic letters, "rn" for "m", separators), the same once words like
"_official" are taken off, or one edit away; a display name with the same or nearly the same
words; the avatar (the platform's 64-bit perceptual hash) within a few bits of the defender's own;
a bio copied from the defender's. The defender's own avatars and bios are learnt from the
defender's own account events, which this detector also receives; those events never alert, so
a defender's rename is not an impersonation of themselves.

Each signal has a weight; an alert needs their sum to reach the threshold, so a name alone (a
namesake) is never enough, and a name shared by many accounts counts for less. The alert asks
the platform for nothing automatic: it says which signals matched, for a reviewer to judge.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from rapidfuzz import fuzz

from hrdshield.detection import schema
from hrdshield.detection.detectors.confusables import skeleton_tokens
from hrdshield.detection.detectors.lookalikes import HandleMatch, LookalikeIndex, name_key
from hrdshield.detection.enums import AlertSeverity, DetectorKind, EventType
from hrdshield.detection.index import ProtectedDefender
from hrdshield.detection.pipeline import AlertDraft, DetectorContext, Routed, Scope
from hrdshield.detection.schema import AccountCreated, Event, Profile, ProfileChanged

SEEN_EVENTS = 100_000  # event ids remembered against redelivery
SUSPECTS = 50_000  # accounts that resembled a defender, with their latest profile
LEARNT = 200_000  # defenders whose own avatars and bios are remembered
KEPT_PER_DEFENDER = 3  # avatars and bios remembered per defender (the latest)
EVIDENCE = 10  # events kept per suspect account
NAME_USERS_KEPT = 100  # accounts counted per defender name (common_name_accounts above: no effect)
MIN_BIO = 12  # a shorter bio ("journalist") is too generic to count as copied


@dataclass(frozen=True)
class ImpersonationThresholds:
    """Defaults: alert at a score of 0.6 (0.5 for high-risk defenders) from the weights below."""

    min_score: float = 0.6
    high_risk_min_score: float = 0.5
    min_handle_length: int = 4  # a shorter handle skeleton is not compared at all
    min_near_handle_length: int = 6  # one edit away counts only for handles this long
    name_similarity: float = 0.85  # token-sort similarity of the names' skeletons, 0 to 1
    avatar_max_distance: int = 8  # bits (of 64) in which two avatar hashes may differ
    common_name_accounts: int = 5  # other accounts seen with the name before it is common
    common_name_factor: float = 0.5  # a common name's weight is multiplied by this
    handle_identical: float = 0.7
    handle_affixed: float = 0.5
    handle_near: float = 0.45
    name_identical: float = 0.35
    name_similar: float = 0.25
    same_avatar: float = 0.35
    copied_bio: float = 0.3


DEFAULTS = ImpersonationThresholds()
_WEIGHTS = (
    "handle_identical",
    "handle_affixed",
    "handle_near",
    "name_identical",
    "name_similar",
    "same_avatar",
    "copied_bio",
)


@dataclass
class Suspect:
    """What is known of an account that resembled a defender: its latest profile, its events."""

    name: str | None = None
    avatar: str | None = None
    bio: str | None = None  # digest of the bio's skeleton, never the text
    events: deque[Event] = field(default_factory=lambda: deque(maxlen=EVIDENCE))

    def update(self, profile: Profile | None, event: Event) -> None:
        """Take the fields `profile` sets (a change may carry only some) and keep `event`."""
        if profile is not None:
            self.name = profile.display_name or self.name
            self.avatar = profile.avatar_phash or self.avatar
            self.bio = bio_digest(profile.bio) or self.bio
        if all(kept.id != event.id for kept in self.events):  # a retried batch adds it again
            self.events.append(event)


@dataclass(frozen=True)
class AccountName:
    """An account's display name as compared: word skeletons, their key, how common it is."""

    tokens: tuple[str, ...]
    text: str  # the word skeletons joined, for the similarity
    key: str  # order-free (see lookalikes.name_key)
    users: int  # other accounts seen with exactly this name, when it is a defender's
    joined: str  # the name's skeleton without separators, as a handle's ("amara_watch")


@dataclass(frozen=True)
class Reading:
    """The signals one account shows of resembling one defender, and their score."""

    signals: dict[str, float]  # signal -> weight it contributed
    score: float
    threshold: float
    details: dict[str, Any]


def _critical(defender: ProtectedDefender, reading: Reading) -> bool:
    """Return whether the look-alike copies the avatar or bio of a defender at high risk."""
    return defender.high_risk and bool({"same_avatar", "copied_bio"} & reading.signals.keys())


def _state(defender: ProtectedDefender, reading: Reading) -> list[str]:
    """Return what an alert says (its signals and severity), to send it again only on change."""
    return [*sorted(reading.signals), "critical" if _critical(defender, reading) else "high"]


def bio_digest(bio: str) -> str | None:
    """Return a short digest of a bio's look-alike skeleton, or None for a too short bio."""
    words = " ".join(skeleton_tokens(bio))
    if len(words) < MIN_BIO:
        return None
    return hashlib.blake2b(words.encode(), digest_size=8).hexdigest()


def avatar_distance(first: str, second: str) -> int:
    """Return in how many of their 64 bits two perceptual hashes differ."""
    return (int(first, 16) ^ int(second, 16)).bit_count()


def _remember(table: OrderedDict[str, Any], key: str, value: Any, capacity: int) -> None:
    table[key] = value
    table.move_to_end(key)
    if len(table) > capacity:
        table.popitem(last=False)


def _keep_latest(table: OrderedDict[str, list[str]], key: str, value: str | None) -> None:
    if not value:
        return
    kept = [item for item in table.get(key, []) if item != value]
    _remember(table, key, [*kept, value][-KEPT_PER_DEFENDER:], LEARNT)


class ImpersonationDetector:
    """Alert on accounts whose handle, name, avatar and bio pass for a protected defender's."""

    kind: ClassVar[DetectorKind] = DetectorKind.IMPERSONATION
    event_types: ClassVar[frozenset[EventType]] = frozenset(
        {EventType.ACCOUNT_CREATED, EventType.PROFILE_CHANGED}
    )
    scope: ClassVar[Scope] = Scope.EVERYONE

    def __init__(self) -> None:
        self.lookalikes = LookalikeIndex()
        self.avatars: OrderedDict[str, list[str]] = OrderedDict()  # defender id -> own hashes
        self.bios: OrderedDict[str, list[str]] = OrderedDict()  # defender id -> own bio digests
        self.suspects: OrderedDict[str, Suspect] = OrderedDict()  # account id -> profile
        self.name_users: OrderedDict[str, list[str]] = OrderedDict()  # defender name -> accounts
        self.emitted: OrderedDict[str, list[str]] = OrderedDict()  # account+defender -> signals
        self.seen: OrderedDict[str, None] = OrderedDict()

    def process(self, batch: Sequence[Routed], context: DetectorContext) -> list[AlertDraft]:
        """Learn defenders' own profiles; compare every other account with its look-alikes."""
        self.lookalikes.sync(context.index)
        drafts: dict[str, AlertDraft] = {}
        read: dict[str, None] = {}
        alerted: dict[str, list[str]] = {}  # what this batch alerted, kept once it succeeds
        for item in batch:
            event = item.event
            if not isinstance(event, AccountCreated | ProfileChanged):
                continue
            if event.id in self.seen or event.id in read:
                continue
            read[event.id] = None
            if item.actor is not None:  # the defender's own account: learn, never alert
                self._learn_own(item.actor, event.profile)
                continue
            for draft in self._compare(event, context, alerted):
                drafts[draft.dedup_key] = draft
        # Only now, with the whole batch read: a batch that fails is retried event by event by
        # the pipeline, and its alerts must then be drafted again, not taken as already sent.
        for event_id in read:
            _remember(self.seen, event_id, None, SEEN_EVENTS)
        for marker, state in alerted.items():
            _remember(self.emitted, marker, state, SUSPECTS)
        return list(drafts.values())

    def _learn_own(self, defender: ProtectedDefender, profile: Profile | None) -> None:
        if profile is not None:
            _keep_latest(self.avatars, defender.defender_id, profile.avatar_phash)
            _keep_latest(self.bios, defender.defender_id, bio_digest(profile.bio))

    def _compare(
        self,
        event: AccountCreated | ProfileChanged,
        context: DetectorContext,
        alerted: dict[str, list[str]],
    ) -> list[AlertDraft]:
        actor = event.actor
        assert actor is not None  # noqa: S101  (the schema requires an actor)
        known = self.suspects.get(actor.account_id)
        suspect = known or Suspect()
        suspect.update(event.profile, event)
        tokens = skeleton_tokens(suspect.name) if suspect.name else ()
        key = name_key(tokens)
        users = self._count_name_user(key, actor.account_id)
        name = AccountName(tokens, " ".join(tokens), key, users, "".join(tokens))
        candidates: dict[str, HandleMatch | None] = dict(self.lookalikes.by_handle(actor.handle))
        for defender_id in self.lookalikes.by_name(tokens, joined=name.joined):
            candidates.setdefault(defender_id, None)
        if known is None and not candidates:
            return []
        _remember(self.suspects, actor.account_id, suspect, SUSPECTS)
        drafts = []
        for defender_id, handle in candidates.items():
            defender = context.index.defenders.get(defender_id)
            if defender is None:
                continue
            limits = context.thresholds.get(self.kind.value, DEFAULTS, defender.country)
            reading = self._read(defender, limits, handle, suspect, name)
            if reading.score < reading.threshold:
                continue
            marker = f"{actor.account_id}\x1f{defender.defender_id}"
            state = _state(defender, reading)
            if alerted.get(marker, self.emitted.get(marker)) == state:
                continue  # nothing new about this account since the last alert
            alerted[marker] = state
            drafts.append(self._draft(event, defender, suspect, reading, limits))
        return drafts

    def _count_name_user(self, key: str, account_id: str) -> int:
        """Count the other accounts seen with a defender's exact name (to spot common names)."""
        if not key or not self.lookalikes.namesakes(key):
            return 0
        users = self.name_users.get(key, [])
        if account_id not in users and len(users) < NAME_USERS_KEPT:
            users = [*users, account_id]
        _remember(self.name_users, key, users, LEARNT)
        return len([user for user in users if user != account_id])

    def _read(
        self,
        defender: ProtectedDefender,
        limits: ImpersonationThresholds,
        handle: HandleMatch | None,
        suspect: Suspect,
        name: AccountName,
    ) -> Reading:
        signals: dict[str, float] = {}
        details: dict[str, Any] = {}
        long_enough = limits.min_near_handle_length if handle and handle.how == "near" else 0
        if handle is not None and handle.length >= max(limits.min_handle_length, long_enough):
            signals[f"handle_{handle.how}"] = getattr(limits, f"handle_{handle.how}")
            details["handle_distance"] = handle.distance
        self._read_name(defender, limits, name, into=(signals, details))
        own = self.avatars.get(defender.defender_id, [])
        if suspect.avatar and own:
            closest = min(avatar_distance(suspect.avatar, avatar) for avatar in own)
            details["avatar_distance"] = closest
            if closest <= limits.avatar_max_distance:
                signals["same_avatar"] = limits.same_avatar
        if suspect.bio and suspect.bio in self.bios.get(defender.defender_id, []):
            signals["copied_bio"] = limits.copied_bio
        threshold = limits.min_score
        if defender.high_risk:
            threshold = min(threshold, limits.high_risk_min_score)
        score = round(min(1.0, sum(signals.values())), 3)
        return Reading(signals, score, threshold, details)

    def _read_name(
        self,
        defender: ProtectedDefender,
        limits: ImpersonationThresholds,
        name: AccountName,
        *,
        into: tuple[dict[str, float], dict[str, Any]],
    ) -> None:
        signals, details = into
        entry = self.lookalikes.entries.get(defender.defender_id)
        if not name.tokens or entry is None or not entry.tokens:
            return
        similarity = fuzz.token_sort_ratio(name.text, entry.text) / 100
        common = (
            name.users >= limits.common_name_accounts or self.lookalikes.namesakes(entry.key) > 1
        )
        factor = limits.common_name_factor if common else 1.0
        if name.key == entry.key or name.joined in entry.handles:  # or named as their handle
            signals["name_identical"] = limits.name_identical * factor
        elif similarity >= limits.name_similarity:
            signals["name_similar"] = limits.name_similar * factor
        details["name_similarity"] = round(similarity, 3)
        details["common_name"] = common

    def _draft(
        self,
        event: AccountCreated | ProfileChanged,
        defender: ProtectedDefender,
        suspect: Suspect,
        reading: Reading,
        limits: ImpersonationThresholds,
    ) -> AlertDraft:
        actor = event.actor
        assert actor is not None  # noqa: S101  (the schema requires an actor)
        signals = sorted(reading.signals)
        critical = _critical(defender, reading)
        return AlertDraft(
            detector=DetectorKind.IMPERSONATION,
            rule="lookalike_account",
            dedup_key=f"impersonation:{defender.defender_id}:{actor.account_id}",
            severity=AlertSeverity.CRITICAL if critical else AlertSeverity.HIGH,
            score=reading.score,
            summary=(
                f"Account {actor.handle} looks like {defender.pseudonym}: "
                + ", ".join(signal.replace("_", " ") for signal in signals)
            ),
            explanation={
                "rule": "lookalike_account",
                "signals": {name: round(weight, 3) for name, weight in reading.signals.items()},
                "score": reading.score,
                "threshold": reading.threshold,
                "event_type": event.type,
                **reading.details,
                "thresholds": {
                    key: value for key, value in asdict(limits).items() if key not in _WEIGHTS
                },
            },
            events=list(suspect.events),
            defender_id=defender.defender_id,
        )

    def snapshot(self) -> dict[str, Any]:
        """Return the learnt avatars and bios, the suspects, and what was already alerted."""
        return {
            "avatars": dict(self.avatars),
            "bios": dict(self.bios),
            "suspects": {
                account: {
                    "name": suspect.name,
                    "avatar": suspect.avatar,
                    "bio": suspect.bio,
                    "events": [schema.to_dict(event) for event in suspect.events],
                }
                for account, suspect in self.suspects.items()
            },
            "name_users": dict(self.name_users),
            "emitted": dict(self.emitted),
            "seen": list(self.seen),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Take back a state returned by `snapshot` (the defenders' index is rebuilt)."""
        self.avatars = OrderedDict(state.get("avatars", {}))
        self.bios = OrderedDict(state.get("bios", {}))
        self.suspects = OrderedDict()
        for account, saved in state.get("suspects", {}).items():
            suspect = Suspect(saved["name"], saved["avatar"], saved["bio"])
            suspect.events.extend(schema.convert(event) for event in saved["events"])
            self.suspects[account] = suspect
        self.name_users = OrderedDict(state.get("name_users", {}))
        self.emitted = OrderedDict(state.get("emitted", {}))
        self.seen = OrderedDict.fromkeys(state.get("seen", []))
