"""Look-alike skeletons of handles and names, after Unicode TR39's confusable detection.

An impostor writes a defender's handle with letters that look the same: a Cyrillic a for the
Latin one, "rn" for "m", "1" for "l", zero-width characters between letters, accents and
separators. Two strings that look alike get the same *skeleton* here, the way TR39 (Unicode
Security Mechanisms, section 4) defines one: decompose (NFKD, which also folds full-width,
mathematical, circled and superscript forms), drop what does not show (combining marks, format
and control characters), then map every character to its prototype. The prototypes below are a
reviewed subset of TR39's ``confusables.txt``: the Cyrillic, Greek, Armenian and Latin-extension
letters that render like Latin letters and digits, kept in the repository so nothing is
downloaded. It is deliberately coarser than TR39 in three ways that suit handles: case is folded
first, "i", "l", "1", "I" and "|" all become "l" (after folding, a capital I is otherwise lost),
and the separators people put in handles ("_", ".", "-", spaces) disappear, so ``amara.k`` and
``amara_k`` are one skeleton.
A skeleton is for comparison only; it is never shown, stored in clear or logged.
"""

from __future__ import annotations

import unicodedata

# Prototype of each look-alike character, after NFKD and case folding (TR39 confusables, MA).
_LATIN = {
    "0": "o",
    "1": "l",
    "i": "l",
    "|": "l",
    "\u01c0": "l",  # LATIN LETTER DENTAL CLICK
    "\u0131": "l",  # LATIN SMALL LETTER DOTLESS I
    "\u0269": "l",  # LATIN SMALL LETTER IOTA
    "\u026a": "l",  # LATIN LETTER SMALL CAPITAL I
    "\u0268": "l",  # LATIN SMALL LETTER I WITH STROKE
    "\u0142": "l",  # LATIN SMALL LETTER L WITH STROKE
    "\u029f": "l",  # LATIN LETTER SMALL CAPITAL L
    "\u0251": "a",  # LATIN SMALL LETTER ALPHA
    "\u0180": "b",  # LATIN SMALL LETTER B WITH STROKE
    "\u023c": "c",  # LATIN SMALL LETTER C WITH STROKE
    "\u0111": "d",  # LATIN SMALL LETTER D WITH STROKE
    "\u0247": "e",  # LATIN SMALL LETTER E WITH STROKE
    "\u0261": "g",  # LATIN SMALL LETTER SCRIPT G
    "\u0127": "h",  # LATIN SMALL LETTER H WITH STROKE
    "\u0237": "j",  # LATIN SMALL LETTER DOTLESS J
    "\u029d": "j",  # LATIN SMALL LETTER J WITH CROSSED-TAIL
    "\u00f8": "o",  # LATIN SMALL LETTER O WITH STROKE
    "\u0275": "o",  # LATIN SMALL LETTER BARRED O
    "\u0167": "t",  # LATIN SMALL LETTER T WITH STROKE
}
_CYRILLIC = {
    "\u0430": "a",  # CYRILLIC SMALL LETTER A
    "\u0432": "b",  # CYRILLIC SMALL LETTER VE
    "\u0433": "r",  # CYRILLIC SMALL LETTER GHE
    "\u0435": "e",  # CYRILLIC SMALL LETTER IE
    "\u04bd": "e",  # CYRILLIC SMALL LETTER ABKHASIAN CHE
    "\u04bb": "h",  # CYRILLIC SMALL LETTER SHHA
    "\u043d": "h",  # CYRILLIC SMALL LETTER EN
    "\u0456": "l",  # CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I
    "\u04cf": "l",  # CYRILLIC SMALL LETTER PALOCHKA
    "\u0458": "j",  # CYRILLIC SMALL LETTER JE
    "\u043a": "k",  # CYRILLIC SMALL LETTER KA
    "\u043c": "m",  # CYRILLIC SMALL LETTER EM
    "\u043e": "o",  # CYRILLIC SMALL LETTER O
    "\u043f": "n",  # CYRILLIC SMALL LETTER PE
    "\u0440": "p",  # CYRILLIC SMALL LETTER ER
    "\u0441": "c",  # CYRILLIC SMALL LETTER ES
    "\u0455": "s",  # CYRILLIC SMALL LETTER DZE
    "\u0442": "t",  # CYRILLIC SMALL LETTER TE
    "\u0443": "y",  # CYRILLIC SMALL LETTER U
    "\u04af": "y",  # CYRILLIC SMALL LETTER STRAIGHT U
    "\u0445": "x",  # CYRILLIC SMALL LETTER HA
    "\u044c": "b",  # CYRILLIC SMALL LETTER SOFT SIGN
    "\u0475": "v",  # CYRILLIC SMALL LETTER IZHITSA
    "\u0501": "d",  # CYRILLIC SMALL LETTER KOMI DE
    "\u051b": "q",  # CYRILLIC SMALL LETTER QA
    "\u051d": "w",  # CYRILLIC SMALL LETTER WE
}
_GREEK = {
    "\u03b1": "a",  # GREEK SMALL LETTER ALPHA
    "\u03b2": "b",  # GREEK SMALL LETTER BETA
    "\u03b3": "y",  # GREEK SMALL LETTER GAMMA
    "\u03b5": "e",  # GREEK SMALL LETTER EPSILON
    "\u03b7": "n",  # GREEK SMALL LETTER ETA
    "\u03b9": "l",  # GREEK SMALL LETTER IOTA
    "\u03ba": "k",  # GREEK SMALL LETTER KAPPA
    "\u03bc": "u",  # GREEK SMALL LETTER MU
    "\u03bd": "v",  # GREEK SMALL LETTER NU
    "\u03bf": "o",  # GREEK SMALL LETTER OMICRON
    "\u03c1": "p",  # GREEK SMALL LETTER RHO
    "\u03c4": "t",  # GREEK SMALL LETTER TAU
    "\u03c5": "u",  # GREEK SMALL LETTER UPSILON
    "\u03c7": "x",  # GREEK SMALL LETTER CHI
    "\u03c9": "w",  # GREEK SMALL LETTER OMEGA
    "\u03f2": "c",  # GREEK LUNATE SIGMA SYMBOL
    "\u03f3": "j",  # GREEK LETTER YOT
}
_ARMENIAN = {
    "\u0570": "h",  # ARMENIAN SMALL LETTER HO
    "\u0578": "n",  # ARMENIAN SMALL LETTER VO
    "\u057d": "u",  # ARMENIAN SMALL LETTER SEH
    "\u0585": "o",  # ARMENIAN SMALL LETTER OH
    "\u0566": "q",  # ARMENIAN SMALL LETTER ZA
    "\u0581": "g",  # ARMENIAN SMALL LETTER CO
}
PROTOTYPES = {**_LATIN, **_CYRILLIC, **_GREEK, **_ARMENIAN}
# Letter pairs that read as one letter; replaced after the character mapping (TR39 maps m to rn).
SEQUENCES = (("rn", "m"), ("vv", "w"))

_CACHE_LIMIT = 50_000  # distinct code points remembered; beyond, each is worked out again


class _Folding(dict[int, str]):
    """``str.translate`` table that works out and remembers each code point's prototype."""

    def __init__(self, separator: str) -> None:
        super().__init__()
        self.separator = separator

    def __missing__(self, code: int) -> str:
        char = chr(code)
        mapped = PROTOTYPES.get(char)
        if mapped is None:
            group = unicodedata.category(char)[0]
            if group in "MC":  # combining marks, zero-width, format and control characters
                mapped = ""
            elif group in "PZ":  # punctuation and spaces: the separators of handles and names
                mapped = self.separator
            else:
                mapped = char
        if len(self) < _CACHE_LIMIT:
            self[code] = mapped
        return mapped


_JOINED = _Folding("")
_SPACED = _Folding(" ")


def _sequences(text: str) -> str:
    for pair, letter in SEQUENCES:
        if pair in text:
            text = text.replace(pair, letter)
    return text


def skeleton(text: str) -> str:
    """Return the look-alike skeleton of `text`: strings that look the same share it."""
    folded = unicodedata.normalize("NFKD", text).casefold().translate(_JOINED)
    return _sequences(folded)


def skeleton_tokens(text: str) -> tuple[str, ...]:
    """Return the skeletons of the words of `text` (a display name, a bio), in order."""
    folded = unicodedata.normalize("NFKD", text).casefold().translate(_SPACED)
    return tuple(_sequences(word) for word in folded.split())
