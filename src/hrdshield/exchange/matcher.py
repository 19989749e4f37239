"""The indicator matcher: which spyware or phishing indicators a message's text contains.

Built once from the active indicators and used by the detector on every text sent to a
defender, so it must be fast: every lookup is a set (dictionary) lookup keyed by a candidate's
domain suffixes, its link forms or its address, never a scan over the indicators. Building it
reads the database once (``load_matcher``); the pipeline builds a new one after an import.
A link through a known URL shortener is reported apart, with low confidence: where it leads
cannot be known offline.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib.resources import files

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.exchange.canonical import URL_SCHEMES, key_of_canonical_url, normal_path, url_key
from hrdshield.exchange.enums import IndicatorType, MatchKind
from hrdshield.exchange.extract import Candidate, candidates
from hrdshield.exchange.models import Indicator, IndicatorValueRow

MAX_PATH_PREFIXES = 16  # a link's path is looked up at this many segment boundaries at most
_DEFAULT_PORTS = frozenset(URL_SCHEMES.values())


@dataclass(frozen=True, slots=True)
class IndicatorHit:
    """One indicator found in one text; a shortened link has no indicator (id and type None)."""

    indicator_id: str | None
    indicator_type: IndicatorType | None
    value: str  # the indicator's canonical value (for a shortened link: the shortener)
    start: int
    end: int
    matched: str  # the text as written, text[start:end]
    kind: MatchKind
    defanged: bool  # written disguised: hxxp, [.], " dot ", Unicode dots, zero-width characters

    @property
    def confidence(self) -> str:
        """Return "high" for an indicator, "low" for a shortened link."""
        return self.kind.confidence


@dataclass(frozen=True, slots=True)
class _Entry:
    indicator_id: str
    value: str


@cache
def reviewed_shorteners() -> frozenset[str]:
    """Return the reviewed list of URL shorteners kept with this module (shorteners.txt)."""
    text = files("hrdshield.exchange").joinpath("shorteners.txt").read_text(encoding="utf-8")
    names = (line.split("#", 1)[0].strip().lower() for line in text.splitlines())
    return frozenset(name for name in names if name)


class IndicatorMatcher:
    """Look indicators up in texts; build it from (indicator id, type, canonical value) rows."""

    def __init__(
        self,
        values: Iterable[tuple[str, IndicatorType, str]],
        *,
        shorteners: Iterable[str] | None = None,
    ) -> None:
        self._domains: dict[str, list[_Entry]] = {}
        self._urls: dict[str, list[_Entry]] = {}
        self._addresses: dict[str, list[_Entry]] = {}
        self._networks: dict[tuple[int, int], dict[int, list[_Entry]]] = {}
        self._emails: dict[str, list[_Entry]] = {}
        self._hashes: dict[str, list[_Entry]] = {}
        self._shorteners = frozenset(
            reviewed_shorteners() if shorteners is None else (name.lower() for name in shorteners)
        )
        self.size = 0
        for indicator_id, kind, value in values:
            self._add(indicator_id, kind, value)

    def _add(self, indicator_id: str, kind: IndicatorType, value: str) -> None:
        entry = _Entry(indicator_id, value)
        self.size += 1
        if kind is IndicatorType.DOMAIN:
            self._domains.setdefault(value, []).append(entry)
        elif kind is IndicatorType.URL:
            self._urls.setdefault(key_of_canonical_url(value), []).append(entry)
        elif kind is IndicatorType.EMAIL:
            self._emails.setdefault(value, []).append(entry)
        elif kind.is_hash:
            self._hashes.setdefault(value, []).append(entry)
        elif "/" in value:
            network = ipaddress.ip_network(value)
            by_prefix = self._networks.setdefault((network.version, network.prefixlen), {})
            by_prefix.setdefault(int(network.network_address), []).append(entry)
        else:
            self._addresses.setdefault(value, []).append(entry)

    def __len__(self) -> int:
        return self.size

    def match_texts(self, texts: Sequence[str]) -> list[list[IndicatorHit]]:
        """Return, for each text, the indicators it contains (in order of appearance)."""
        return [self.match_text(text) for text in texts]

    def match_text(self, text: str) -> list[IndicatorHit]:
        """Return the indicators `text` contains, and its links through URL shorteners."""
        hits: list[IndicatorHit] = []
        for candidate in candidates(text):
            found = self._match(candidate)
            if not found and candidate.kind == "url" and self._is_shortened(candidate):
                found = [(None, None, self._shortener_of(candidate.host), MatchKind.SHORTENED_LINK)]
            matched = text[candidate.start : candidate.end]
            hits.extend(
                IndicatorHit(
                    indicator_id,
                    kind,
                    value,
                    candidate.start,
                    candidate.end,
                    matched,
                    how,
                    candidate.defanged,
                )
                for indicator_id, kind, value, how in found
            )
        return _unique(hits)

    def match_hashes(self, digests: Iterable[str]) -> list[tuple[str, str]]:
        """Return (indicator id, digest) for each file hash that is an indicator."""
        return [
            (entry.indicator_id, entry.value)
            for digest in digests
            for entry in self._hashes.get(digest.strip().lower(), ())
        ]

    def _match(
        self, candidate: Candidate
    ) -> list[tuple[str | None, IndicatorType | None, str, MatchKind]]:
        found: list[tuple[str | None, IndicatorType | None, str, MatchKind]] = []
        if candidate.kind == "email":
            address = f"{candidate.local_part}@{candidate.host}"
            found += [
                (entry.indicator_id, IndicatorType.EMAIL, entry.value, MatchKind.EMAIL)
                for entry in self._emails.get(address, ())
            ]
        elif self._urls:
            found += [
                (entry.indicator_id, IndicatorType.URL, entry.value, MatchKind.FULL_URL)
                for key in _link_keys(candidate)
                for entry in self._urls.get(key, ())
            ]
        found += self._host_hits(candidate)
        return found

    def _host_hits(
        self, candidate: Candidate
    ) -> list[tuple[str | None, IndicatorType | None, str, MatchKind]]:
        host = candidate.host
        if host[-1].isdigit() or ":" in host:
            return self._address_hits(host)
        suffix = host
        while True:
            entries = self._domains.get(suffix)
            if entries:
                if suffix != host:
                    how = MatchKind.SUBDOMAIN
                elif candidate.kind == "host":
                    how = MatchKind.EXACT_DOMAIN
                else:
                    how = MatchKind.URL_HOST  # a link's or an e-mail address's host
                return [(e.indicator_id, IndicatorType.DOMAIN, e.value, how) for e in entries]
            dot = suffix.find(".")
            if dot < 0:
                return []
            suffix = suffix[dot + 1 :]

    def _address_hits(
        self, host: str
    ) -> list[tuple[str | None, IndicatorType | None, str, MatchKind]]:
        if not (self._addresses or self._networks):
            return []
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return []
        kind = IndicatorType.IPV4 if address.version == 4 else IndicatorType.IPV6
        entries = list(self._addresses.get(str(address), ()))
        number = int(address)
        for (version, prefix), networks in self._networks.items():
            if version == address.version:
                shift = address.max_prefixlen - prefix
                entries += networks.get((number >> shift) << shift, ())
        return [(entry.indicator_id, kind, entry.value, MatchKind.IP) for entry in entries]

    def _is_shortened(self, candidate: Candidate) -> bool:
        return bool(normal_path(candidate.path)) and self._shortener_of(candidate.host) != ""

    def _shortener_of(self, host: str) -> str:
        name = host.removeprefix("www.")
        return name if name in self._shorteners else ""


def _link_keys(candidate: Candidate) -> list[str]:
    """Return the forms under which a URL indicator would have stored this link.

    The link itself (with and without its query) and each parent path at a segment boundary, so
    that an indicator for ``evil.example/kit`` also matches ``evil.example/kit/login?id=1``.
    """
    port = None if candidate.port in _DEFAULT_PORTS else candidate.port
    if not candidate.path and not candidate.query:
        return [url_key(candidate.host, port, "", "")]  # a bare name: the most common case
    keys = [url_key(candidate.host, port, candidate.path, candidate.query)]
    path = normal_path(candidate.path)
    base = url_key(candidate.host, port, "", "")
    keys.append(base + path)
    segments = path.split("/")
    for cut in range(len(segments) - 1, max(len(segments) - 1 - MAX_PATH_PREFIXES, 0), -1):
        keys.append(base + "/".join(segments[:cut]))
    return list(dict.fromkeys(keys))


def _unique(hits: list[IndicatorHit]) -> list[IndicatorHit]:
    seen: set[tuple[str | None, str, int, int]] = set()
    unique = []
    for hit in hits:
        key = (hit.indicator_id, hit.value, hit.start, hit.end)
        if key not in seen:
            seen.add(key)
            unique.append(hit)
    return unique


def active_values(
    *, session: Session, at: datetime | None = None
) -> list[tuple[str, IndicatorType, str]]:
    """Return (indicator id, type, value) of every indicator in force at `at` (default now)."""
    moment = at or clock.now()
    rows = session.execute(
        select(IndicatorValueRow.indicator_id, IndicatorValueRow.type, IndicatorValueRow.value)
        .join(Indicator, Indicator.id == IndicatorValueRow.indicator_id)
        .where(
            Indicator.revoked.is_(False),
            or_(Indicator.valid_from.is_(None), Indicator.valid_from <= moment),
            or_(Indicator.valid_until.is_(None), Indicator.valid_until > moment),
        )
    ).all()
    return [(row[0], row[1], row[2]) for row in rows]


def load_matcher(
    *, session: Session, at: datetime | None = None, shorteners: Iterable[str] | None = None
) -> IndicatorMatcher:
    """Build a matcher from the indicators in force (call again after an import)."""
    return IndicatorMatcher(active_values(session=session, at=at), shorteners=shorteners)
