"""Find the links, domains, addresses and e-mail addresses in free text, however disguised.

Attackers and the people warning about them write links so that they do not work or are not
recognised: ``hxxps://evil[.]example``, ``evil(.)example``, ``evil dot example``, ``name[@]...``,
Unicode full stops (U+3002, U+FF0E), zero-width characters inside a name, upper case, an
international name. One regular expression accepts each disguise in place, so that every
candidate keeps its span in the original text; the candidate is then put back in plain form.
This module only finds candidates: whether one is an indicator is the matcher's question.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from hrdshield.exchange.canonical import ascii_host

INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff"
_INVISIBLE = re.compile(f"[{INVISIBLE}]")
_DOT = r"(?:[.\u3002\uff0e\uff61]|\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\{dot\}|\x20dot\x20)"
_LABEL = r"\w[\w-]*"
_HOST = rf"{_LABEL}(?:{_DOT}{_LABEL})+"
_IPV6 = r"\[[0-9a-f:.]{2,45}\]"
_SCHEME = r"(?:h[tx]{2}ps?|f[tx]ps?)"
_SEPARATOR = r"(?:://|\[://\]|\[:\]//|\(:\)//|:\[//\]|\[:/\]/|:\\\\)"
_PORT = r"(?:(?::|\[:\])\d{1,5})?"
_PATH = r"(?:[/?#][^\s<>\"'`]*)?"
_AT = r"(?:@|\[@\]|\(@\)|\{@\}|\[at\]|\(at\)|\{at\})"
_CANDIDATE = re.compile(
    rf"""(?<![\w-])(?:
    (?P<url>{_SCHEME}{_SEPARATOR}(?:[^\s/@<>"'`\[\]]+@)?(?:{_IPV6}|{_HOST}){_PORT}{_PATH})
    |(?P<email>[\w+-]+(?:\.[\w+-]+)*{_AT}{_HOST})
    |(?P<host>{_HOST}(?:{_PORT}[/?#][^\s<>"'`]*|(?::\d{{1,5}})(?![\w.]))?)
    |(?P<ipv6>(?:(?:[0-9a-f]{{1,4}}:){{7}}[0-9a-f]{{1,4}}
        |(?:[0-9a-f]{{1,4}}:){{1,6}}:(?:[0-9a-f]{{1,4}}:){{0,5}}[0-9a-f]{{1,4}}
        |(?:[0-9a-f]{{1,4}}:){{1,7}}:)(?![\w:]))
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# What every candidate must contain: two name characters around a dot (plain or disguised), or
# the two colons of an IPv6 address. Most messages have neither and skip the full scan.
_ANCHOR = re.compile(
    r"\w(?:[.\u3002\uff0e\uff61]|[\[({](?:\.|dot)[\])}]|\x20dot\x20)\w"
    r"|[0-9a-f]:[0-9a-f]{0,4}:",
    re.IGNORECASE,
)
_ASCII_HOST = re.compile(r"(?<![a-z0-9_-])[a-z0-9_-]+(?:\.[a-z0-9_-]+)+", re.IGNORECASE)
_REFANG = re.compile(
    r"\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\{dot\}|\x20dot\x20|[\u3002\uff0e\uff61]"
    r"|\[://\]|\[:\]//|\(:\)//|:\[//\]|\[:/\]/|:\\\\|\[:\]"
    r"|\[@\]|\(@\)|\{@\}|\[at\]|\(at\)|\{at\}",
    re.IGNORECASE,
)
_SCHEME_REFANG = re.compile(r"^(?:h[tx]{2}p|f[tx]p)", re.IGNORECASE)  # links only: hxxp, fxp
_TRAILING = ".,;:!?'\"\u2026\u00bb\u201d\u2019"  # sentence ends, closing quotes
_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<"}
MAX_CANDIDATE = 2048


@dataclass(frozen=True, slots=True)
class Candidate:
    """Something in a text that may be an indicator, in plain form, with its original span."""

    kind: str  # "url" (a scheme or a path), "host" (a bare name or address), "email"
    host: str  # lower-case ASCII (punycode) name, or an address (IPv6 without brackets)
    port: int | None
    path: str  # "" for a bare host
    query: str
    local_part: str  # e-mails only
    start: int
    end: int
    defanged: bool


def _refang(text: str, *, link: bool) -> tuple[str, bool]:
    changed = False

    def plain(match: re.Match[str]) -> str:
        nonlocal changed
        found = match.group(0)
        lowered = found.lower()
        if lowered in {"http", "ftp"}:
            return found
        changed = True
        if lowered.startswith("h"):
            return "http"
        if lowered.startswith("f"):
            return "ftp"
        if "/" in lowered or "\\" in lowered:
            return "://"
        if ":" in lowered:
            return ":"
        if "@" in lowered or "at" in lowered:
            return "@"
        return "."

    if link:
        text = _SCHEME_REFANG.sub(plain, text, count=1)
    return _REFANG.sub(plain, text), changed


def _trim(text: str) -> str:
    """Drop what ends a sentence or closes a bracket opened before the candidate."""
    while text:
        last = text[-1]
        unbalanced = last in _CLOSERS and text.count(last) > text.count(_CLOSERS[last])
        if last in _TRAILING or unbalanced:
            text = text[:-1]
        else:
            break
    return text


def _split_port(netloc: str) -> tuple[str, int | None]:
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, colon, port_text = netloc.rpartition(":")
        if not colon:
            return netloc, None
    if port_text.isdigit() and int(port_text) <= 65535:
        return host, int(port_text)
    return host, None


def _parse(kind: str, text: str, span: tuple[int, int], defanged: bool) -> Candidate | None:
    start, end = span
    if kind == "email":
        local, _, domain = text.rpartition("@")
        host = ascii_host(domain)
        if host is None:
            return None
        return Candidate("email", host, None, "", "", local.lower(), start, end, defanged)
    rest = text.split("://", 1)[1] if kind == "url" else text
    cut = min((index for index in (rest.find(mark) for mark in "/?#") if index >= 0), default=-1)
    netloc, tail = (rest, "") if cut < 0 else (rest[:cut], rest[cut:])
    netloc = netloc.rpartition("@")[2]
    host_text, port = _split_port(netloc)
    host = ascii_host(host_text)
    if not host:
        return None
    path, _, query = tail.partition("?")
    path = path.partition("#")[0]
    query = query.partition("#")[0]
    shape = "url" if kind == "url" or tail else "host"
    return Candidate(shape, host, port, path, query, "", start, end, defanged)


def _from_match(match: re.Match[str], text: str) -> Iterator[Candidate]:
    kind = match.lastgroup or "host"
    raw = match.group(0)
    if kind in {"url", "host"}:
        raw = _trim(raw)
    if not raw or len(raw) > MAX_CANDIDATE:
        return
    span = (match.start(), match.start() + len(raw))
    if kind == "ipv6":
        yield Candidate("host", raw.lower(), None, "", "", "", *span, False)
        return
    plain, defanged = _refang(raw, link=kind == "url")
    found = _parse(kind, plain, span, defanged)
    if found is not None:
        yield found
    if not plain.isascii():
        # A name run together with text in another script ("見てevil.example"): the ASCII
        # part alone is a candidate too, since the regular expression cannot know where it
        # ends. Its span is the whole run, which is what a reviewer needs to see.
        for part in _ASCII_HOST.finditer(plain):
            ascii_found = _parse("host", part.group(0), span, defanged)
            if ascii_found is not None:
                yield ascii_found


def candidates(text: str) -> list[Candidate]:
    """Return the candidates in `text`, spans counted in `text` as given."""
    positions: list[int] | None = None
    if _INVISIBLE.search(text):
        positions = [index for index, character in enumerate(text) if character not in INVISIBLE]
        scanned = "".join(text[index] for index in positions)
    else:
        scanned = text
    if not _ANCHOR.search(scanned):
        return []
    found = [
        candidate
        for match in _CANDIDATE.finditer(scanned)
        for candidate in _from_match(match, scanned)
    ]
    if positions is None:
        return found
    return [_restore(candidate, positions) for candidate in found]


def _restore(candidate: Candidate, positions: list[int]) -> Candidate:
    start, end = positions[candidate.start], positions[candidate.end - 1] + 1
    hidden = end - start != candidate.end - candidate.start
    return Candidate(
        candidate.kind,
        candidate.host,
        candidate.port,
        candidate.path,
        candidate.query,
        candidate.local_part,
        start,
        end,
        candidate.defanged or hidden,
    )
