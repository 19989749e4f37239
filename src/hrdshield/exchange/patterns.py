"""A parser for the STIX 2.1 patterning language (the part before anything is matched).

It reads the whole grammar (observation expressions joined by AND, OR and FOLLOWEDBY, with
WITHIN, REPEATS and START/STOP qualifiers; comparison expressions with every operator and
literal kind) into a small tree, so that the importer can say exactly what a pattern asks for
and skip, with a reason, what the text matcher cannot honour. It never evaluates a pattern.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

MAX_PATTERN = 10_000  # characters; real indicators are a few hundred at most
MAX_DEPTH = 32  # nested brackets and parentheses
Literal = str | int | float | bool | tuple[Any, ...] | None

_PROPERTY = r"(?:[A-Za-z_][A-Za-z0-9_-]*|'(?:[^'\\]|\\.)*')"
_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
    |(?P<string>(?P<prefix>[bht])?'(?P<body>(?:[^'\\]|\\.)*)')
    |(?P<path>[A-Za-z0-9][A-Za-z0-9-]*:"""
    + _PROPERTY
    + r"""(?:\."""
    + _PROPERTY
    + r"""|\[(?:\d+|\*)\])*)
    |(?P<number>[-+]?\d+(?:\.\d+)?)
    |(?P<operator>!=|<>|<=|>=|=|<|>)
    |(?P<punct>[\[\](),])
    |(?P<word>[A-Za-z_]+)
    """,
    re.VERBOSE | re.DOTALL,
)
_PATH_PART = re.compile(_PROPERTY + r"|\[(?:\d+|\*)\]")
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
KEYWORDS = {
    "AND",
    "OR",
    "NOT",
    "FOLLOWEDBY",
    "LIKE",
    "MATCHES",
    "ISSUBSET",
    "ISSUPERSET",
    "IN",
    "EXISTS",
    "WITHIN",
    "SECONDS",
    "REPEATS",
    "TIMES",
    "START",
    "STOP",
    "TRUE",
    "FALSE",
}
WORD_OPERATORS = {"LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET"}


class PatternSyntaxError(ValueError):
    """The text is not STIX patterning; the message says where."""


@dataclass(frozen=True)
class Comparison:
    """One comparison: ``object_type:path operator value``."""

    object_type: str
    path: tuple[str, ...]
    operator: str  # "=", "!=", "<", "LIKE", "MATCHES", "IN", "EXISTS", ...
    negated: bool
    value: Literal
    value_kind: str  # "string", "binary", "hex", "timestamp", "number", "boolean", "set", "none"


@dataclass(frozen=True)
class Combined:
    """Operands joined by AND, OR or (between observations only) FOLLOWEDBY."""

    operator: str
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Observation:
    """One bracketed observation expression, with the qualifiers that follow it."""

    expression: Node
    qualifiers: tuple[str, ...] = ()


Node = Comparison | Combined | Observation


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int
    value: Any = None


def _tokens(pattern: str) -> list[_Token]:
    found, position = [], 0
    while position < len(pattern):
        match = _TOKEN.match(pattern, position)
        if match is None:
            raise PatternSyntaxError(f"unexpected character at position {position}")
        kind = "string" if match.group("string") is not None else match.lastgroup or ""
        if kind != "space":
            found.append(_token(kind, match, position))
        position = match.end()
    found.append(_Token("end", "", len(pattern)))
    return found


def _token(kind: str, match: re.Match[str], position: int) -> _Token:
    text = match.group(0)
    if kind == "string":
        body = _ESCAPE.sub(r"\1", match.group("body"))
        prefix = match.group("prefix")
        literal_kind = {"b": "binary", "h": "hex", "t": "timestamp"}.get(prefix or "", "string")
        return _Token("string", text, position, (literal_kind, body))
    if kind == "word":
        upper = text.upper()
        if upper not in KEYWORDS:
            raise PatternSyntaxError(f"unknown word {text[:40]!r} at position {position}")
        return _Token("keyword", upper, position)
    return _Token(kind, text, position)


def split_path(path: str) -> tuple[str, tuple[str, ...]]:
    """Split ``file:hashes.'SHA-256'`` into its object type and unquoted property path."""
    object_type, _, properties = path.partition(":")
    parts = []
    for part in _PATH_PART.findall(properties):
        if part.startswith("'"):
            parts.append(_ESCAPE.sub(r"\1", part[1:-1]))
        else:
            parts.append(part)
    return object_type.lower(), tuple(parts)


class _Parser:
    def __init__(self, pattern: str) -> None:
        self.tokens = _tokens(pattern)
        self.index = 0
        self.depth = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at(self, kind: str, text: str | None = None) -> bool:
        token = self.current
        return token.kind == kind and (text is None or token.text == text)

    def expect(self, kind: str, text: str | None = None) -> _Token:
        if not self.at(kind, text):
            wanted = text or kind
            if self.current.kind == "end":
                raise PatternSyntaxError(f"expected {wanted}, the pattern ended")
            raise PatternSyntaxError(
                f"expected {wanted} at position {self.current.position}, "
                f"found {self.current.text[:40]!r}"
            )
        return self.take()

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise PatternSyntaxError("the pattern is nested too deeply")

    # Observation expressions: FOLLOWEDBY binds loosest, then OR, then AND.
    def observations(self) -> Node:
        return self._joined("FOLLOWEDBY", lambda: self._joined("OR", self._observation_and))

    def _observation_and(self) -> Node:
        return self._joined("AND", self._qualified)

    def _joined(self, keyword: str, operand: Any) -> Node:
        operands = [operand()]
        while self.at("keyword", keyword):
            self.take()
            operands.append(operand())
        return operands[0] if len(operands) == 1 else Combined(keyword, tuple(operands))

    def _qualified(self) -> Node:
        node = self._observation()
        qualifiers = []
        while self.at("keyword") and self.current.text in {"WITHIN", "REPEATS", "START"}:
            qualifiers.append(self._qualifier())
        if not qualifiers:
            return node
        if isinstance(node, Observation):
            return Observation(node.expression, node.qualifiers + tuple(qualifiers))
        return Observation(node, tuple(qualifiers))

    def _qualifier(self) -> str:
        keyword = self.take().text
        if keyword == "WITHIN":
            self.expect("number")
            self.expect("keyword", "SECONDS")
        elif keyword == "REPEATS":
            self.expect("number")
            self.expect("keyword", "TIMES")
        else:
            self.expect("string")
            self.expect("keyword", "STOP")
            self.expect("string")
        return keyword

    def _observation(self) -> Node:
        self.nest()
        if self.at("punct", "("):
            self.take()
            node = self.observations()
            self.expect("punct", ")")
        else:
            self.expect("punct", "[")
            expression = self.comparisons()
            self.expect("punct", "]")
            node = Observation(expression)
        self.depth -= 1
        return node

    # Comparison expressions inside brackets: OR binds looser than AND.
    def comparisons(self) -> Comparison | Combined:
        return self._joined("OR", lambda: self._joined("AND", self._test))  # type: ignore[return-value]

    def _test(self) -> Comparison | Combined:
        if self.at("punct", "("):
            self.nest()
            self.take()
            node = self.comparisons()
            self.expect("punct", ")")
            self.depth -= 1
            return node
        if self.at("keyword", "EXISTS"):
            self.take()
            object_type, path = split_path(self.expect("path").text)
            return Comparison(object_type, path, "EXISTS", False, None, "none")
        object_type, path = split_path(self.expect("path").text)
        negated = False
        if self.at("keyword", "NOT"):
            self.take()
            negated = True
        operator = self._operator()
        kind, value = self._set() if operator == "IN" else self._literal()
        return Comparison(object_type, path, operator, negated, value, kind)

    def _operator(self) -> str:
        token = self.current
        if token.kind == "operator":
            self.take()
            return "!=" if token.text == "<>" else token.text
        if token.kind == "keyword" and (token.text in WORD_OPERATORS or token.text == "IN"):
            self.take()
            return token.text
        raise PatternSyntaxError(f"expected a comparison operator at position {token.position}")

    def _literal(self) -> tuple[str, Literal]:
        token = self.take()
        if token.kind == "string":
            kind, body = token.value
            return kind, body
        if token.kind == "number":
            return "number", float(token.text) if "." in token.text else int(token.text)
        if token.kind == "keyword" and token.text in {"TRUE", "FALSE"}:
            return "boolean", token.text == "TRUE"
        raise PatternSyntaxError(f"expected a value at position {token.position}")

    def _set(self) -> tuple[str, Literal]:
        self.expect("punct", "(")
        values = [self._literal()[1]]
        while self.at("punct", ","):
            self.take()
            values.append(self._literal()[1])
        self.expect("punct", ")")
        return "set", tuple(values)


def parse(pattern: str) -> Node:
    """Parse a STIX 2.1 pattern into its tree, or raise PatternSyntaxError saying where."""
    if len(pattern) > MAX_PATTERN:
        raise PatternSyntaxError(f"the pattern is over {MAX_PATTERN} characters")
    parser = _Parser(pattern)
    node = parser.observations()
    if not parser.at("end"):
        raise PatternSyntaxError(
            f"unexpected {parser.current.text[:40]!r} at position {parser.current.position}"
        )
    return node


def comparisons_of(node: Node) -> list[Comparison]:
    """Return every comparison in a tree, left to right."""
    if isinstance(node, Comparison):
        return [node]
    if isinstance(node, Observation):
        return comparisons_of(node.expression)
    return [found for operand in node.operands for found in comparisons_of(operand)]
