"""Undo the tricks people use to slip abuse past filters, so rules and models see plain words.

Attackers write "k1ll", "kіll" with a Cyrillic "і", "k i l l", "𝐤𝐢𝐥𝐥", "ki\u200bll" or "kiiiill";
every lexicon rule and every model feature would need a variant for each. Normalising first means
they need none: `normalise` folds case, compatibility forms (full-width and mathematical letters),
diacritics (and Arabic short vowels, hamza forms and the elongation stroke), look-alike letters
from another script, digits and symbols used as letters, letters split by spaces or punctuation,
stretched letters and runs of whitespace. The lexicon compiles its own templates with the same
function, so both sides always agree.

`normalise_with_evasions` also says which tricks it undid (shown to reviewers: an evasion is a sign
of intent) and maps a span of the normalised text back to the original text. The mapping is
computed only when asked for, by a second pass over the same steps, because most texts match
nothing and need no map.

This module must stay free of I/O and of any state but its caches (of characters, and of the
most recent short texts, in memory only), and must never lose
text: every original character either survives, is folded, or is an invisible or combining
character that carries no meaning.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache

from hrdshield.detection.text.enums import Evasion

#: Part of every model directory: a change to what normalisation outputs invalidates models.
NORMALISER_VERSION = 1

_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e007f"
)
_INVISIBLE_RE = re.compile(f"[{_INVISIBLE}]")
# Full-width forms, circled and parenthesised letters, mathematical alphanumerics, squared,
# negative and regional-indicator letters, and small capitals.
_STYLED_RE = re.compile(
    "[\uff01-\uff5e\u2460-\u24ff\U0001d400-\U0001d7ff\U0001f130-\U0001f189\U0001f1e6-\U0001f1ff"
    "\u1d00-\u1d22\u0262\u026a\u0274\u0280\u028f\u029c\u029f\ua730\ua731]"
)
# Two or more combining marks in a row (stacked "zalgo" text) or strike-through overlays. A single
# decomposed accent is ordinary text and not an evasion.
_COMBINING_RE = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]{2,}|[\u0334-\u0338]"
)
_TATWEEL_RE = re.compile("\u0640")

_SMALL_CAPITALS = "ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ"
_SMALL_CAPITAL_LETTERS = "abcdefghijklmnoprstuvwyz"
_SPECIAL: dict[str, str] = {
    # Arabic: taa marbuta and alef maqsura are written for one another; Persian letter forms,
    # Arabic-Indic digits and punctuation fold to the common ones; the elongation stroke goes.
    "\u0629": "\u0647",
    "\u0649": "\u064a",
    "\u06a9": "\u0643",
    "\u06cc": "\u064a",
    "\u0640": "",
    "\u061f": "?",
    "\u060c": ",",
    "\u061b": ";",
    **{chr(0x0660 + digit): str(digit) for digit in range(10)},
    **{chr(0x06F0 + digit): str(digit) for digit in range(10)},
    # Quotes, apostrophes and dashes have one form each.
    **dict.fromkeys("\u2018\u2019\u201b\u02bc\u02bb\u0060\u00b4\u2032", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    # Latin look-alikes that compatibility folding leaves alone.
    "\u0131": "i",
    "\u0251": "a",
    "\u0261": "g",
    "\u01c0": "l",
    **dict(zip(_SMALL_CAPITALS, _SMALL_CAPITAL_LETTERS, strict=True)),
    **{chr(0x1F150 + index): chr(0x61 + index) for index in range(26)},  # negative circled
    **{chr(0x1F170 + index): chr(0x61 + index) for index in range(26)},  # negative squared
    **{chr(0x1F1E6 + index): chr(0x61 + index) for index in range(26)},  # regional indicators
}
_CONFUSABLE_CHAR_RE = re.compile("[\u0131\u0251\u0261\u01c0]")

# Cyrillic and Greek letters that look like Latin ones, and the reverse, for words that mix
# scripts ("kіll" with a Cyrillic i, "xуй" with a Latin x).
_TO_LATIN = dict(zip("аеорсухкмтвнізјѕԁαοικρτυεχνω", "aeopcyxkmtbhi3jsdaoikptuexvw", strict=True))
_TO_CYRILLIC = dict(zip("aeopcyxkmtbh3u", "аеорсухкмтвнзи", strict=True))
_CYRILLIC_OR_GREEK_RE = re.compile("[\u0370-\u03ff\u0400-\u04ff]")
_LATIN_RE = re.compile("[a-z]")
_MIXED_SCRIPT_RE = re.compile(r"(?<!\w)(?=\w*[a-z])(?=\w*[\u0370-\u03ff\u0400-\u04ff])\w+")

_LATIN_LEET = dict(zip("0134578@$!|€9", "oieastbasileg", strict=True))
_CYRILLIC_LEET = dict(zip("0346@", "озчба", strict=True))
_LEET_SYMBOLS = frozenset("@$!|€")
# A digit or a symbol that may stand for a letter. (A pattern for "a word with a letter and a
# digit" would backtrack quadratically on a long word; the step's own pattern does not.)
_LEET_CANDIDATE_RE = re.compile(r"[\d@$!|€]")
# Words holding a digit or a symbol used as a letter (only those need a look).
_LEET_WORD_RE = re.compile(r"(?<![\w@$!|€])[\w@$!|€]*[\d@$!|€][\w@$!|€]*")
# Words whose digits are digits: ordinals and units ("21st", "5km", "3eme"), names with a number
# ("covid19", "g20"), and a digit before a word ("4chan").
_NOT_LEET_RE = re.compile(
    r"\d+(?:st|nd|rd|th|er|eme|e|o|a|s|k|m|km|kg|g|gb|mb|h|hs|hrs?|min|x|am|pm|px|p|d|v)"
    r"|[^\W\d_]+\d+|\d{2,}[^\W\d_]+|\d[^\W\d_]{3,}"
)

# Three or more single letters split by one separator each: "k i l l", "k.i.l.l", "k-1-l-l".
_SPACED_RE = re.compile(r"(?<!\w)\w(?:[ .\-_·•~^+*/\\]\w(?!\w)){2,}")
# One separator inside a word next to a one- or two-letter piece: "ki.ll", "f_uck", "k.ill".
_SPLIT_WORD_RE = re.compile(r"(?<![\w.])([^\W\d_]+)[._·•~^+]([^\W\d_]+)(?![\w.])")
_ELONGATED_RE = re.compile(r"([^\W\d_])\1{2,}")
_SPACE_RE = re.compile(r"\s+")

_CACHE_LIMIT = 60_000


def _fold_char(character: str) -> str:
    if _INVISIBLE_RE.match(character):
        return ""
    if character in _SPECIAL:
        return _SPECIAL[character]
    folded = unicodedata.normalize("NFKC", character).casefold()
    decomposed = unicodedata.normalize("NFD", folded)
    kept = "".join(
        _SPECIAL.get(part, part)
        for part in decomposed
        if unicodedata.category(part) not in {"Mn", "Me"}
    )
    return unicodedata.normalize("NFC", kept)


class _FoldTable(dict[int, str]):
    """Per-character folding for `str.translate`, computed on first sight and cached."""

    def __missing__(self, code: int) -> str:
        folded = _fold_char(chr(code))
        if len(self) < _CACHE_LIMIT:
            self[code] = folded
        return folded


_FOLD = _FoldTable({code: chr(code).lower() for code in range(128)})


def _unconfuse(match: re.Match[str]) -> str:
    word = match.group()
    latin = len(_LATIN_RE.findall(word))
    other = len(_CYRILLIC_OR_GREEK_RE.findall(word))
    table = _TO_CYRILLIC if other > latin else _TO_LATIN
    return "".join(table.get(character, character) for character in word)


def _unleet(match: re.Match[str]) -> str:
    word = match.group()
    core = word.strip("!|")
    if not core or core[0] in "@$" or _NOT_LEET_RE.fullmatch(core):
        return word
    letters = [character for character in core if character.isalpha()]
    has_symbol = any(character in _LEET_SYMBOLS for character in core)
    if len(letters) < 2 and not (letters and has_symbol and len(core) >= 3):
        return word
    cyrillic = sum(1 for character in letters if "\u0400" <= character <= "\u04ff")
    table = _CYRILLIC_LEET if cyrillic * 2 > len(letters) else _LATIN_LEET
    start = word.index(core)
    converted = "".join(table.get(character, character) for character in core)
    return word[:start] + converted + word[start + len(core) :]


def _unspace(match: re.Match[str]) -> str:
    pieces = [character for character in match.group() if character.isalnum()]
    if sum(1 for character in pieces if character.isalpha()) < 2:
        return match.group()
    return "".join(pieces)


def _unsplit(match: re.Match[str]) -> str:
    left, right = match.group(1), match.group(2)
    if min(len(left), len(right)) > 2 or max(len(left), len(right)) < 2:
        return match.group()
    return left + right


def _squash(match: re.Match[str]) -> str:
    return match.group(1) * 2


@dataclass(frozen=True)
class _Step:
    pattern: re.Pattern[str]
    replace: Callable[[re.Match[str]], str]
    evasion: Evasion | None
    needs: re.Pattern[str] | None = None  # skip the step unless this matches somewhere

    def applies(self, text: str) -> bool:
        return self.needs is None or self.needs.search(text) is not None


_STEPS: tuple[_Step, ...] = (
    _Step(_MIXED_SCRIPT_RE, _unconfuse, Evasion.CONFUSABLE, _CYRILLIC_OR_GREEK_RE),
    _Step(_SPACED_RE, _unspace, Evasion.SPACING),
    _Step(_SPLIT_WORD_RE, _unsplit, Evasion.SPACING),
    _Step(_LEET_WORD_RE, _unleet, Evasion.LEETSPEAK, _LEET_CANDIDATE_RE),
    _Step(_ELONGATED_RE, _squash, Evasion.ELONGATION),
    _Step(_SPACE_RE, lambda _match: " ", None),
)
_CHARACTER_EVASIONS: tuple[tuple[re.Pattern[str], Evasion], ...] = (
    (_INVISIBLE_RE, Evasion.INVISIBLE),
    (_STYLED_RE, Evasion.STYLED),
    (_COMBINING_RE, Evasion.COMBINING),
    (_CONFUSABLE_CHAR_RE, Evasion.CONFUSABLE),
    (_TATWEEL_RE, Evasion.ELONGATION),
)


def _analyse(text: str) -> tuple[str, frozenset[Evasion]]:
    evasions = {evasion for pattern, evasion in _CHARACTER_EVASIONS if pattern.search(text)}
    folded = text.lower() if text.isascii() else text.translate(_FOLD)
    for step in _STEPS:
        if not step.applies(folded):
            continue
        changed = step.pattern.sub(step.replace, folded)
        if step.evasion is not None and changed != folded:
            evasions.add(step.evasion)
        folded = changed
    return folded.strip(), frozenset(evasions)


# The scorer and the classifier both normalise each text of a batch; the second time is free.
# Only short texts are kept, and only the most recent ones, in this process's memory.
_analyse_recent = lru_cache(maxsize=4096)(_analyse)
_CACHED_CHARS = 2_000


def _analysed(text: str) -> tuple[str, frozenset[Evasion]]:
    return _analyse_recent(text) if len(text) <= _CACHED_CHARS else _analyse(text)


def normalise(text: str) -> str:
    """Return the text folded for matching: lower case, plain letters, evasions undone."""
    return _analysed(text)[0]


def forget_recent() -> None:
    """Drop the cache of recently normalised texts (for benchmarks and memory-shy callers)."""
    _analyse_recent.cache_clear()


@dataclass(frozen=True)
class Normalised:
    """A text, its normalised form, the evasions undone, and a map back to the original."""

    original: str
    text: str
    evasions: frozenset[Evasion]

    @cached_property
    def _spans(self) -> tuple[list[int], list[int]]:
        return _tracked(self.original)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Return the span of the original text that normalised characters start..end came from."""
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"span {start}..{end} is outside the normalised text")
        starts, ends = self._spans
        return starts[start], ends[end - 1]


def normalise_with_evasions(text: str) -> Normalised:
    """Normalise a text and say which evasions were undone."""
    folded, evasions = _analysed(text)
    return Normalised(original=text, text=folded, evasions=evasions)


def _tracked(text: str) -> tuple[list[int], list[int]]:
    """Return, for every normalised character, the original span it came from."""
    characters: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for index, character in enumerate(text):
        folded = _FOLD[ord(character)]
        characters.extend(folded)
        starts.extend([index] * len(folded))
        ends.extend([index + 1] * len(folded))
    current = "".join(characters)
    for step in _STEPS:
        if step.applies(current):
            current, starts, ends = _tracked_sub(step, current, starts, ends)
    leading = len(current) - len(current.lstrip())
    trailing = len(current.rstrip())
    return starts[leading:trailing], ends[leading:trailing]


def _tracked_sub(
    step: _Step, text: str, starts: list[int], ends: list[int]
) -> tuple[str, list[int], list[int]]:
    pieces: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    position = 0
    for match in step.pattern.finditer(text):
        begin, finish = match.span()
        pieces.append(text[position:begin])
        new_starts.extend(starts[position:begin])
        new_ends.extend(ends[position:begin])
        replacement = step.replace(match)
        pieces.append(replacement)
        if len(replacement) == finish - begin:
            new_starts.extend(starts[begin:finish])
            new_ends.extend(ends[begin:finish])
        else:
            new_starts.extend([starts[begin]] * len(replacement))
            new_ends.extend([ends[finish - 1]] * len(replacement))
        position = finish
    pieces.append(text[position:])
    new_starts.extend(starts[position:])
    new_ends.extend(ends[position:])
    return "".join(pieces), new_starts, new_ends
