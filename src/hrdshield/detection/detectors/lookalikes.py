"""The defenders' handles and names, indexed for look-alike search without a scan.

Every account event must be compared with every protected defender, and there may be 100,000
of them, so nothing here walks the defenders per event. Handles are indexed by skeleton (see
`confusables`) and by their *deletion neighbourhood*: every skeleton with one character left
out. Two handles within one edit (a letter added, dropped, changed or two swapped) share an
entry of those neighbourhoods, so a query costs about as many dictionary lookups as the handle
has characters, and the candidates found are checked with the real edit distance. Display names
are indexed by their words' skeletons; a word shared by very many defenders (a common first
name) does not make candidates on its own.

The index follows the pipeline's `DefenderIndex`, which is rebuilt every few seconds: `sync`
only adds and removes the defenders whose handles or name changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz.distance import OSA

from hrdshield.defenders import identifiers
from hrdshield.defenders.enums import IdentifierKind
from hrdshield.detection.detectors.confusables import skeleton, skeleton_tokens
from hrdshield.detection.index import DefenderIndex

MIN_INDEXED_LENGTH = 5  # shorter skeletons are matched only when identical
MIN_NAME_WORD = 3  # shorter words of a name make no candidates (initials, particles)
MAX_WORD_OWNERS = 50  # a word in more defenders' names than this is too common to search by

# Words impostors put around a defender's handle ("amara_official", "the_real_amara").
_LONG_AFFIXES = "official|oficial|officiel|offical|backup|original|verified|updates"
_SHORT_AFFIXES = f"{_LONG_AFFIXES}|real|the|new|team|news|info|page|account|hq|tv|fan|fans|es|en|fr"
_PREFIX = re.compile(rf"^(?:(?:{_SHORT_AFFIXES})[_.\-]+)+")
_SUFFIX = re.compile(rf"(?:[_.\-]+(?:{_SHORT_AFFIXES}|\d+)|(?:{_LONG_AFFIXES})|[_.\-]*\d+)+$")


@dataclass(frozen=True, slots=True)
class HandleMatch:
    """How an account's handle resembles one of a defender's: identical, affixed or near."""

    how: str  # "identical" skeleton, "affixed" (identical once affixes are removed) or "near"
    distance: int  # edits between the skeletons (0 when identical or affixed)
    length: int  # length of the defender's handle skeleton


_RANK = {"identical": 0, "affixed": 1, "near": 2}


def _better(new: HandleMatch, old: HandleMatch | None) -> bool:
    return old is None or (_RANK[new.how], new.distance) < (_RANK[old.how], old.distance)


def deletions(text: str) -> set[str]:
    """Return every string made by leaving one character out of `text`."""
    return {text[:at] + text[at + 1 :] for at in range(len(text))}


def handle_skeleton(handle: str) -> str:
    """Return the skeleton of a handle written in any form (``@name``, a profile URL)."""
    try:
        return skeleton(identifiers.canonical(IdentifierKind.HANDLE, handle))
    except identifiers.InvalidIdentifierError:
        return ""


def without_affixes(handle: str) -> str:
    """Return the skeleton of `handle` without the words impostors add ("_official", "real_")."""
    try:
        canonical = identifiers.canonical(IdentifierKind.HANDLE, handle)
    except identifiers.InvalidIdentifierError:
        return ""
    return skeleton(_SUFFIX.sub("", _PREFIX.sub("", canonical)))


def name_key(tokens: Iterable[str]) -> str:
    """Return the order-free key of a name's word skeletons ("Kora Amara" = "Amara Kora")."""
    return " ".join(sorted(set(tokens)))


# Owners of a key: one defender id (the usual case, kept as a bare string to save memory) or more.
Owners = str | tuple[str, ...]
Table = dict[Any, Owners]


def _owners(table: Table, key: object) -> tuple[str, ...]:
    found = table.get(key)
    if found is None:
        return ()
    return (found,) if isinstance(found, str) else found


def _add(table: Table, key: object, owner: str) -> None:
    found = table.get(key)
    if found is None:
        table[key] = owner
    elif isinstance(found, str):
        if found != owner:
            table[key] = (found, owner)
    elif owner not in found:
        table[key] = (*found, owner)


def _remove(table: Table, key: object, owner: str) -> None:
    left = tuple(item for item in _owners(table, key) if item != owner)
    if not left:
        table.pop(key, None)
    else:
        table[key] = left[0] if len(left) == 1 else left


@dataclass(frozen=True, slots=True)
class _Entry:
    source: tuple[tuple[str, ...], str]  # the defender's handles and display name, as given
    handles: tuple[str, ...]  # skeletons
    tokens: tuple[str, ...]  # skeletons of the display name's words
    key: str
    text: str  # the words' skeletons joined, for similarity


@dataclass
class LookalikeIndex:
    """Skeleton handles (with their deletion neighbourhoods) and names of the defenders."""

    exact: Table = field(default_factory=dict)  # skeleton -> owners
    neighbours: Table = field(default_factory=dict)  # hash of a one-deletion variant -> owners
    names: Table = field(default_factory=dict)  # name key -> owners
    words: Table = field(default_factory=dict)  # word of a name -> owners
    entries: dict[str, _Entry] = field(default_factory=dict)
    _source: DefenderIndex | None = field(default=None, repr=False)

    def sync(self, index: DefenderIndex) -> None:
        """Follow `index`: index new and changed defenders, forget those who left."""
        if index is self._source:
            return
        current = index.defenders
        for defender_id in [known for known in self.entries if known not in current]:
            self._forget(defender_id)
        for defender_id, defender in current.items():
            source = (defender.handles, defender.display_name)
            old = self.entries.get(defender_id)
            if old is not None and old.source == source:
                continue
            if old is not None:
                self._forget(defender_id)
            self._learn(defender_id, source)
        self._source = index

    def _learn(self, defender_id: str, source: tuple[tuple[str, ...], str]) -> None:
        handles, display_name = source
        tokens = skeleton_tokens(display_name)
        skeletons = tuple(handle_skeleton(handle) for handle in handles)
        entry = _Entry(source, skeletons, tokens, name_key(tokens), " ".join(tokens))
        self._file(defender_id, entry, _add)
        self.entries[defender_id] = entry

    def _forget(self, defender_id: str) -> None:
        self._file(defender_id, self.entries.pop(defender_id), _remove)

    def _file(
        self, defender_id: str, entry: _Entry, change: Callable[[Table, object, str], None]
    ) -> None:
        """Add (or remove, as `change` does) a defender's keys in every table."""
        for handle in filter(None, entry.handles):
            change(self.exact, handle, defender_id)
            if len(handle) >= MIN_INDEXED_LENGTH:
                for variant in deletions(handle):
                    change(self.neighbours, hash(variant), defender_id)
        if entry.key:
            change(self.names, entry.key, defender_id)
        for word in set(entry.tokens):
            if len(word) >= MIN_NAME_WORD:
                change(self.words, word, defender_id)

    def by_handle(self, handle: str) -> dict[str, HandleMatch]:
        """Return the defenders whose handle `handle` resembles, with how it does."""
        found: dict[str, HandleMatch] = {}
        full = handle_skeleton(handle)
        if not full:
            return found
        self._search(full, "identical", found)
        bare = without_affixes(handle)
        if bare and bare != full:
            self._search(bare, "affixed", found)
        return found

    def _search(self, query: str, how: str, found: dict[str, HandleMatch]) -> None:
        for owner in _owners(self.exact, query):
            self._keep(found, owner, HandleMatch(how, 0, len(query)))
        if len(query) < MIN_INDEXED_LENGTH - 1:
            return
        # Variants are kept by hash to save memory; a collision only adds a candidate, which
        # the edit distance below then rejects.
        candidates = set(_owners(self.neighbours, hash(query)))  # the query lacks a character
        for variant in deletions(query):
            candidates.update(_owners(self.exact, variant))  # the query has one more
            candidates.update(_owners(self.neighbours, hash(variant)))  # one changed or swapped
        for owner in candidates:
            for theirs in self.entries[owner].handles:
                if len(theirs) < MIN_INDEXED_LENGTH:
                    continue
                distance = OSA.distance(query, theirs, score_cutoff=1)
                if distance == 0:
                    self._keep(found, owner, HandleMatch(how, 0, len(theirs)))
                elif distance == 1:
                    self._keep(found, owner, HandleMatch("near", 1, len(theirs)))

    @staticmethod
    def _keep(found: dict[str, HandleMatch], owner: str, match: HandleMatch) -> None:
        if _better(match, found.get(owner)):
            found[owner] = match

    def by_name(self, tokens: tuple[str, ...], *, joined: str = "") -> set[str]:
        """Return defenders sharing the name or a rare word of it, or whose handle is `joined`."""
        candidates = set(_owners(self.names, name_key(tokens)))
        if len(joined) >= MIN_INDEXED_LENGTH:
            candidates.update(_owners(self.exact, joined))
        for word in set(tokens):
            owners = _owners(self.words, word)
            if len(word) >= MIN_NAME_WORD and len(owners) <= MAX_WORD_OWNERS:
                candidates.update(owners)
        return candidates

    def namesakes(self, key: str) -> int:
        """Return how many defenders have exactly the name `key`."""
        return len(_owners(self.names, key))
