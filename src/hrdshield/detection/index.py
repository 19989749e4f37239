"""Who is protected: the in-memory index the pipeline routes every event through.

The cheap pre-filter of the whole pipeline: an event matters only if it involves an enrolled,
active defender, and finding that out must cost a dictionary lookup, not a query. Handles are
matched through the same keyed hashes the enrolment stored (``protected_identifiers``), and a
platform account id, once seen with a defender's handle, is remembered so a later rename does
not hide the account. Display names and handles are held in memory in clear only for the
look-alike comparison of the impersonation detector; nothing here is written anywhere.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from hrdshield.defenders import identifiers
from hrdshield.defenders.enums import ConsentScope, DefenderStatus, IdentifierKind, RiskLevel
from hrdshield.defenders.models import Defender
from hrdshield.detection.schema import Account

HANDLE_CACHE_SIZE = 200_000
REFRESH_SECONDS = 30.0

Hasher = Callable[[str, str], str]
"""``(identifier kind, canonical value) -> keyed hash``, e.g. ``Keyring.blind_index``."""


@dataclass(frozen=True, slots=True)
class ProtectedDefender:
    """What detectors may know of one defender: ids, context and, in memory only, names."""

    defender_id: str
    pseudonym: str
    country: str
    languages: tuple[str, ...]
    risk_level: RiskLevel
    handles: tuple[str, ...] = ()  # canonical handles, for look-alike comparison
    display_name: str = ""
    proactive_notification: bool = False

    @property
    def language(self) -> str:
        """Return the defender's first language (the one they are written to in)."""
        return self.languages[0] if self.languages else "en"

    @property
    def high_risk(self) -> bool:
        """Return whether the defender is judged at high or critical risk (lower thresholds)."""
        return self.risk_level in (RiskLevel.HIGH, RiskLevel.CRITICAL)


@dataclass
class DefenderIndex:
    """Enrolled defenders by keyed hash of each protected identifier, and by platform account."""

    hasher: Hasher
    defenders: dict[str, ProtectedDefender] = field(default_factory=dict)
    digests: dict[IdentifierKind, dict[str, frozenset[str]]] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)  # platform account id -> defender id
    _handles: OrderedDict[str, str | None] = field(default_factory=OrderedDict, repr=False)

    def __repr__(self) -> str:
        return f"DefenderIndex(defenders={len(self.defenders)})"

    @classmethod
    def build(
        cls,
        hasher: Hasher,
        defenders: Iterable[ProtectedDefender],
        digests: Iterable[tuple[str, IdentifierKind, str]] = (),
    ) -> DefenderIndex:
        """Build an index from defenders and their ``(defender id, kind, digest)`` identifiers."""
        index = cls(hasher=hasher, defenders={item.defender_id: item for item in defenders})
        grouped: dict[IdentifierKind, dict[str, set[str]]] = {}
        for defender_id, kind, digest in digests:
            if defender_id in index.defenders:
                grouped.setdefault(kind, {}).setdefault(digest, set()).add(defender_id)
        index.digests = {
            kind: {digest: frozenset(ids) for digest, ids in by_digest.items()}
            for kind, by_digest in grouped.items()
        }
        return index

    def defender_for(self, account: Account) -> ProtectedDefender | None:
        """Return the defender who owns `account`, if it is a protected defender's account."""
        defender_id = self.accounts.get(account.account_id)
        if defender_id is None:
            defender_id = self._by_handle(account.handle)
            if defender_id is not None:
                self.accounts[account.account_id] = defender_id
        return self.defenders.get(defender_id) if defender_id is not None else None

    def _by_handle(self, handle: str) -> str | None:
        if handle in self._handles:
            return self._handles[handle]
        found = self.owners(IdentifierKind.HANDLE, handle)
        defender_id = min(found) if found else None  # one handle, one owner; stable if shared
        self._handles[handle] = defender_id
        if len(self._handles) > HANDLE_CACHE_SIZE:
            self._handles.popitem(last=False)
        return defender_id

    def owners(self, kind: IdentifierKind, value: str, region: str | None = None) -> frozenset[str]:
        """Return the defenders protected by identifier `value` of `kind` (written any way)."""
        by_digest = self.digests.get(kind)
        if not by_digest:
            return frozenset()
        try:
            canonical = identifiers.canonical(kind, value, region=region)
        except identifiers.InvalidIdentifierError:
            return frozenset()
        return by_digest.get(self.hasher(kind.value, canonical), frozenset())

    def countries(self) -> frozenset[str]:
        """Return the countries where defenders are enrolled (for the shutdown detector)."""
        return frozenset(defender.country for defender in self.defenders.values())

    def in_country(self, country: str) -> list[ProtectedDefender]:
        """Return the defenders enrolled in `country`."""
        return [item for item in self.defenders.values() if item.country == country]


def load(session: Session, hasher: Hasher) -> DefenderIndex:
    """Read the active defenders and their identifier hashes into a new index."""
    rows = session.scalars(
        select(Defender)
        .where(Defender.status == DefenderStatus.ACTIVE)
        .options(selectinload(Defender.identifiers), selectinload(Defender.consents))
    )
    defenders: list[ProtectedDefender] = []
    digests: list[tuple[str, IdentifierKind, str]] = []
    for row in rows:
        consents = {consent.scope for consent in row.consents if consent.is_active}
        if ConsentScope.PROCESSING not in consents:
            continue  # no consent to processing: the defender is not watched over
        defenders.append(
            ProtectedDefender(
                defender_id=row.id,
                pseudonym=row.pseudonym,
                country=row.country,
                languages=tuple(code for code in row.languages.split(",") if code),
                risk_level=row.risk_level,
                handles=tuple(_canonical_handles(row.handles)),
                display_name=row.display_name,
                proactive_notification=ConsentScope.PROACTIVE_NOTIFICATION in consents,
            )
        )
        digests.extend((row.id, item.kind, item.digest) for item in row.identifiers)
    return DefenderIndex.build(hasher, defenders, digests)


def _canonical_handles(stored: str) -> list[str]:
    handles = []
    for value in json.loads(stored) if stored else []:
        try:
            handles.append(identifiers.canonical(IdentifierKind.HANDLE, str(value)))
        except identifiers.InvalidIdentifierError:
            continue
    return handles


@dataclass
class RefreshingIndex:
    """Hold the current index and rebuild it every `refresh_seconds` (enrolments change)."""

    loader: Callable[[], DefenderIndex]
    refresh_seconds: float = REFRESH_SECONDS
    _index: DefenderIndex | None = None
    _loaded_at: float = 0.0

    def current(self) -> DefenderIndex:
        """Return the index, rebuilding it first when it is older than the refresh interval."""
        if self._index is None or time.monotonic() - self._loaded_at > self.refresh_seconds:
            fresh = self.loader()
            if self._index is not None:  # keep what was learnt of account ids
                fresh.accounts.update(
                    (account, owner)
                    for account, owner in self._index.accounts.items()
                    if owner in fresh.defenders
                )
            self._index, self._loaded_at = fresh, time.monotonic()
        return self._index

    def invalidate(self) -> None:
        """Make the next `current` rebuild the index (after an enrolment or a withdrawal)."""
        self._loaded_at = float("-inf")
