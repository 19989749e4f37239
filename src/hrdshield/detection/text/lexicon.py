"""The reviewable lexicon: threat templates, slurs and abuse phrases, one rule per entry.

Rules live in ``lexicons/<language>.toml``, one file per language, so that a reviewer who reads
the language can check every entry, its category, its weight and its comment, and so that a change
to a rule is a reviewable diff. Each rule lists the texts it must match (``examples``) and the
texts it must not (``counter_examples``); the test suite checks both for every rule.

A pattern is a small template, not a raw regular expression, so that reviewers can read it and a
typo cannot make matching slow:

- words are matched after normalisation (``normalise``), so write them plainly: ``où``, ``kill``;
  a stretched word still matches ("kiiill"), and a space matches any run of spaces or punctuation;
- ``(a|b c|)`` is a choice of words; an empty choice makes the group optional; no nesting;
- ``*`` at the start or end of a word matches any letters there: ``kill*``, ``*قتلك``;
- ``~`` stands for up to three words of any kind: ``i will ~ kill you``.

``[[context]]`` entries mark reported or condemned speech ("she received messages saying..."):
when one matches, the weights of the text's rule hits are multiplied by its ``factor``, so
journalism about threats and defenders quoting their abusers score lower than the threat itself.
They never silence a hit entirely.

Matching is fast because every pattern is indexed by one word it cannot match without (the rarest
of its fixed words): a text only runs the patterns whose anchor word it contains.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from hrdshield.detection.text.enums import LANGUAGES, Category
from hrdshield.detection.text.normalise import Normalised, normalise

_SEPARATOR = r"[\W_]+"
_GAP = r"\w+(?:[\W_]+\w+){0,2}"
_TOKEN_RE = re.compile(r"\(|\)|\||~|\s+|[^\s()|~]+")
_WORD_PIECE_RE = re.compile(r"\w+")
_REPEATS_RE = re.compile(r"(.)\1+")
_RULE_KEYS = {"id", "category", "weight", "patterns", "examples", "counter_examples", "note"}
_CONTEXT_KEYS = {"id", "factor", "patterns", "examples", "counter_examples", "note"}


class LexiconError(ValueError):
    """A lexicon file or pattern that cannot be used; the message names the file and the rule."""


def _squash(text: str) -> str:
    return _REPEATS_RE.sub(r"\1", text)


@dataclass(frozen=True)
class _Word:
    text: str
    open_start: bool
    open_end: bool

    def regex(self) -> str:
        body = "".join(
            re.escape(character) + ("+" if character.isalpha() else "")
            if character != " "
            else _SEPARATOR
            for character in self.text
        )
        return (r"\w*" if self.open_start else "") + body + (r"\w*" if self.open_end else "")

    def anchor(self) -> str | None:
        pieces = _WORD_PIECE_RE.findall(self.text)
        if not pieces:
            return None
        index, piece = max(enumerate(pieces), key=lambda item: len(item[1]))
        opened_start = index == 0 and self.open_start
        opened_end = index == len(pieces) - 1 and self.open_end
        key = _squash(piece)
        if opened_start and opened_end:
            return None
        if opened_end:
            return f"p:{key[:3]}" if len(key) >= 3 else None
        if opened_start:
            return f"s:{key[-3:]}" if len(key) >= 3 else None
        return f"w:{key}"


@dataclass(frozen=True)
class _Element:
    """A word, a choice of word sequences, or a gap, as one step of a pattern."""

    choices: tuple[tuple[_Word, ...], ...]
    optional: bool = False
    gap: bool = False

    def regex(self) -> str:
        if self.gap:
            return _GAP
        options = [_SEPARATOR.join(word.regex() for word in choice) for choice in self.choices]
        return options[0] if len(options) == 1 else "(?:" + "|".join(options) + ")"

    def anchors(self) -> frozenset[str] | None:
        if self.gap or self.optional:
            return None
        keys: set[str] = set()
        for choice in self.choices:
            found = [anchor for word in choice if (anchor := word.anchor())]
            if not found:
                return None
            keys.add(max(found, key=len))
        return frozenset(keys)


def _word(token: str, where: str) -> _Word:
    open_start, open_end = token.startswith("*"), token.endswith("*")
    core = token.strip("*")
    if not core or "*" in core:
        raise LexiconError(f"{where}: '*' belongs only at the start or end of a word: {token!r}")
    text = normalise(core)
    if not text:
        raise LexiconError(f"{where}: {token!r} is empty once normalised")
    return _Word(text, open_start, open_end)


def _parse(template: str, where: str) -> list[_Element]:
    elements: list[_Element] = []
    tokens = [part for part in _TOKEN_RE.findall(template) if not part.isspace()]
    position = 0
    while position < len(tokens):
        part = tokens[position]
        if part == "~":
            elements.append(_Element(choices=(), optional=True, gap=True))
        elif part == "(":
            closing = tokens.index(")", position) if ")" in tokens[position:] else -1
            inner = tokens[position + 1 : closing]
            if closing < 0 or "(" in inner or "~" in inner:
                raise LexiconError(f"{where}: unbalanced or nested group in {template!r}")
            choices: list[tuple[_Word, ...]] = [()]
            for item in inner:
                if item == "|":
                    choices.append(())
                else:
                    choices[-1] = (*choices[-1], _word(item, where))
            present = tuple(choice for choice in choices if choice)
            if not present:
                raise LexiconError(f"{where}: empty group in {template!r}")
            elements.append(_Element(present, optional=len(present) < len(choices)))
            position = closing
        elif part in {")", "|"}:
            raise LexiconError(f"{where}: {part!r} outside a group in {template!r}")
        else:
            elements.append(_Element(((_word(part, where),),)))
        position += 1
    if not elements or all(element.optional for element in elements):
        raise LexiconError(f"{where}: the pattern {template!r} can match nothing")
    return elements


def _compile(elements: list[_Element]) -> re.Pattern[str]:
    regex = ""
    first = True
    for element in elements:
        body = element.regex()
        if element.optional:
            regex += f"(?:{body}{_SEPARATOR})?" if first else f"(?:{_SEPARATOR}{body})?"
            continue
        regex += body if first else _SEPARATOR + body
        first = False
    return re.compile(rf"(?<!\w){regex}(?!\w)")


def _anchors(elements: list[_Element]) -> frozenset[str] | None:
    candidates = [keys for element in elements if (keys := element.anchors())]
    if not candidates:
        return None
    return min(candidates, key=lambda keys: (len(keys), -min(len(key) for key in keys)))


@dataclass(frozen=True)
class Rule:
    """One lexicon entry: what it matches, what kind of abuse it is and how strongly it counts."""

    id: str
    language: str
    category: Category | None  # None for a context entry
    weight: float  # for a context entry: the factor applied to the text's hits
    patterns: tuple[str, ...]
    examples: tuple[str, ...]
    counter_examples: tuple[str, ...]
    note: str
    compiled: tuple[re.Pattern[str], ...] = field(repr=False)
    anchors: tuple[frozenset[str] | None, ...] = field(repr=False)

    @property
    def is_context(self) -> bool:
        """Say whether this entry marks reported or condemned speech instead of abuse."""
        return self.category is None

    def search(self, text: str) -> tuple[int, int] | None:
        """Return the span of the first match in a normalised text, if any."""
        for pattern in self.compiled:
            found = pattern.search(text)
            if found:
                return found.span()
        return None


@dataclass(frozen=True)
class RuleHit:
    """A rule that matched a text, with where it matched in the normalised and original text."""

    rule_id: str
    category: Category
    weight: float
    span: tuple[int, int]  # in the original text
    normalised_span: tuple[int, int]


@dataclass(frozen=True)
class LexiconMatch:
    """Everything the lexicon found in one text."""

    hits: tuple[RuleHit, ...]
    contexts: tuple[str, ...]  # ids of context entries that matched
    factor: float  # product of the contexts' factors (1.0 when none matched)


def _strings(entry: dict[str, Any], key: str, where: str, *, required: bool) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise LexiconError(f"{where}: {key} must be a list of strings")
    if required and not value:
        raise LexiconError(f"{where}: {key} must not be empty")
    return tuple(value)


def _rule(entry: dict[str, Any], language: str, source: str, *, context: bool) -> Rule:
    rule_id = entry.get("id")
    where = f"{source}: {rule_id or 'an entry without id'}"
    if not isinstance(rule_id, str) or not rule_id.startswith(f"{language}."):
        raise LexiconError(f"{where}: id must be a string starting with {language!r} and a dot")
    unknown = set(entry) - (_CONTEXT_KEYS if context else _RULE_KEYS)
    if unknown:
        raise LexiconError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    weight = entry.get("factor" if context else "weight")
    if not isinstance(weight, int | float) or not 0 < weight <= 1:
        raise LexiconError(f"{where}: {'factor' if context else 'weight'} must be in (0, 1]")
    category = None
    if not context:
        try:
            category = Category(entry.get("category"))
        except ValueError as error:
            names = ", ".join(item.value for item in Category if item is not Category.ABUSE)
            raise LexiconError(f"{where}: category must be one of {names}") from error
    patterns = _strings(entry, "patterns", where, required=True)
    parsed = [_parse(pattern, where) for pattern in patterns]
    return Rule(
        id=rule_id,
        language=language,
        category=category,
        weight=float(weight),
        patterns=patterns,
        examples=_strings(entry, "examples", where, required=True),
        counter_examples=_strings(entry, "counter_examples", where, required=False),
        note=str(entry.get("note", "")),
        compiled=tuple(_compile(elements) for elements in parsed),
        anchors=tuple(_anchors(elements) for elements in parsed),
    )


def parse_lexicon(content: str, *, source: str) -> list[Rule]:
    """Parse one lexicon file's TOML text into rules, or raise LexiconError naming the problem."""
    try:
        document = tomllib.loads(content)
    except tomllib.TOMLDecodeError as error:
        raise LexiconError(f"{source}: not valid TOML: {error}") from error
    language = document.get("language")
    if language not in LANGUAGES:
        raise LexiconError(f"{source}: language must be one of {', '.join(LANGUAGES)}")
    unknown = set(document) - {"language", "rule", "context"}
    if unknown:
        raise LexiconError(f"{source}: unknown top-level keys {', '.join(sorted(unknown))}")
    return [_rule(entry, language, source, context=False) for entry in document.get("rule", [])] + [
        _rule(entry, language, source, context=True) for entry in document.get("context", [])
    ]


class Lexicon:
    """Rules of every language, indexed by anchor word for fast matching."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules: tuple[Rule, ...] = tuple(rules)
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise LexiconError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        self._indexes: dict[str | None, tuple[dict[str, list[Rule]], list[Rule]]] = {}
        for language in (*LANGUAGES, None):
            self._indexes[language] = self._index(
                [rule for rule in self.rules if language is None or rule.language == language]
            )

    @staticmethod
    def _index(rules: Sequence[Rule]) -> tuple[dict[str, list[Rule]], list[Rule]]:
        keyed: dict[str, list[Rule]] = {}
        always: list[Rule] = []
        for rule in rules:
            if any(anchor is None for anchor in rule.anchors):
                always.append(rule)
                continue
            for anchor in rule.anchors:
                for key in anchor or ():
                    if rule not in keyed.setdefault(key, []):
                        keyed[key].append(rule)
        return keyed, always

    @classmethod
    def from_directory(cls, directory: Path) -> Lexicon:
        """Load every ``*.toml`` lexicon file of a directory."""
        rules: list[Rule] = []
        for path in sorted(directory.glob("*.toml")):
            rules += parse_lexicon(path.read_text(encoding="utf-8"), source=path.name)
        return cls(rules)

    @classmethod
    def default(cls) -> Lexicon:
        """Load the lexicon that ships with HRD Shield."""
        folder = resources.files("hrdshield.detection.text") / "lexicons"
        rules: list[Rule] = []
        for item in sorted(folder.iterdir(), key=lambda entry: entry.name):
            if item.name.endswith(".toml"):
                rules += parse_lexicon(item.read_text(encoding="utf-8"), source=item.name)
        return cls(rules)

    def candidates(self, text: str, lang: str | None) -> list[Rule]:
        """Return the rules whose anchor word occurs in a normalised text."""
        keyed, always = self._indexes[lang if lang in LANGUAGES else None]
        tokens = set(_WORD_PIECE_RE.findall(_squash(text)))
        long = [token for token in tokens if len(token) >= 3]
        keys = {f"w:{token}" for token in tokens}
        keys.update([f"p:{token[:3]}" for token in long] + [f"s:{token[-3:]}" for token in long])
        found = list(always)
        for key in keys & keyed.keys():
            found.extend(rule for rule in keyed[key] if rule not in found)
        return found

    def match(self, normalised: Normalised, lang: str | None) -> LexiconMatch:
        """Match a normalised text against one language's rules, or every language's if None."""
        hits: list[RuleHit] = []
        contexts: list[str] = []
        factor = 1.0
        for rule in sorted(self.candidates(normalised.text, lang), key=lambda item: item.id):
            span = rule.search(normalised.text)
            if span is None:
                continue
            if rule.category is None:
                contexts.append(rule.id)
                factor *= rule.weight
                continue
            hits.append(
                RuleHit(
                    rule_id=rule.id,
                    category=rule.category,
                    weight=rule.weight,
                    span=normalised.original_span(*span),
                    normalised_span=span,
                )
            )
        return LexiconMatch(hits=tuple(hits), contexts=tuple(contexts), factor=factor)
