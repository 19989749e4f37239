"""Read STIX 2.1 bundles of indicators: strict about structure, lenient about content.

A bundle that is not what it claims (not JSON, not a bundle, an object without a type or id, a
property of the wrong JSON type, a timestamp that is not one, characters no database can store)
is refused as a whole, with a message naming the object, so nothing of it is stored. Content
that is well-formed but not usable by the text matcher (other pattern languages, process or app
patterns, AND, MATCHES, qualifiers) is skipped with a reason, and the rest is imported.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hrdshield.errors import RequestTooLarge, ValidationProblem
from hrdshield.exchange.canonical import InvalidValue, canonical
from hrdshield.exchange.enums import IndicatorType, SkipReason
from hrdshield.exchange.patterns import (
    Combined,
    Comparison,
    Node,
    Observation,
    PatternSyntaxError,
    comparisons_of,
    parse,
)

MAX_BUNDLE_BYTES = 32 * 1024 * 1024
MAX_OBJECTS = 250_000
MAX_NAME = 500
MAX_LABELS = 100
MAX_LABEL = 250
MAX_PATTERN = 10_000
_ID = re.compile(
    r"([a-z0-9][a-z0-9-]{0,249})--[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"
)
_TYPE = re.compile(r"[a-z0-9][a-z0-9-]{0,249}")
_TIMESTAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z")
_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_HASH_NAMES = {"SHA256": IndicatorType.SHA256, "SHA1": IndicatorType.SHA1, "MD5": IndicatorType.MD5}
_VALUE_OBJECTS = {
    "domain-name": IndicatorType.DOMAIN,
    "url": IndicatorType.URL,
    "ipv4-addr": IndicatorType.IPV4,
    "ipv6-addr": IndicatorType.IPV6,
    "email-addr": IndicatorType.EMAIL,
}
_SENDER_REFS = {("from_ref", "value"), ("sender_ref", "value")}  # email-message senders


@dataclass(frozen=True)
class Skip:
    """Part of a feed not imported: the object type it was about, and why."""

    object_type: str
    reason: SkipReason


@dataclass(frozen=True)
class IndicatorValue:
    """One canonical value an indicator's pattern matches."""

    type: IndicatorType
    value: str


@dataclass
class StixIndicator:
    """An ``indicator`` object as the importer needs it."""

    stix_id: str
    pattern: str
    pattern_type: str
    modified: datetime
    created: datetime | None = None
    name: str | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    revoked: bool = False
    labels: list[str] = field(default_factory=list)
    indicator_types: list[str] = field(default_factory=list)
    confidence: int | None = None
    malware: list[str] = field(default_factory=list)
    values: list[IndicatorValue] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)


@dataclass
class Bundle:
    """A parsed bundle: its indicators (newest version of each) and the malware they indicate."""

    bundle_id: str
    sha256: str
    object_count: int
    indicators: list[StixIndicator]
    malware_names: list[str]


def _problem(where: str, message: str) -> ValidationProblem:
    return ValidationProblem(f"{where}: {message}")


def _where(index: int, item: Any) -> str:
    identifier = item.get("id") if isinstance(item, dict) else None
    if isinstance(identifier, str) and _ID.fullmatch(identifier):
        return f"objects[{index}] ({identifier})"
    return f"objects[{index}]"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_json(data: bytes, *, max_bytes: int = MAX_BUNDLE_BYTES) -> Any:
    """Decode a bundle's bytes as JSON, refusing what is too large, not UTF-8 or not JSON."""
    if len(data) > max_bytes:
        raise RequestTooLarge(f"the bundle is over {max_bytes:,} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationProblem("the bundle is not UTF-8 text") from error
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError as error:
        raise ValidationProblem("the bundle is nested too deeply to be STIX") from error
    except ValueError as error:
        raise ValidationProblem(f"the bundle is not valid JSON ({error})") from error


def parse_bundle(data: bytes, *, max_bytes: int = MAX_BUNDLE_BYTES) -> Bundle:
    """Parse a STIX 2.1 bundle of indicators, or raise a problem naming the faulty object."""
    bundle_id, objects = _envelope(load_json(data, max_bytes=max_bytes))
    indicators: dict[str, StixIndicator] = {}
    malware: dict[str, str] = {}
    indicates: list[tuple[str, str]] = []
    for index, item in enumerate(objects):
        where = _where(index, item)
        object_type = _header(item, where)
        if object_type == "indicator":
            found = _indicator(item, where)
            known = indicators.get(found.stix_id)
            if known is None or found.modified > known.modified:
                indicators[found.stix_id] = found
        elif object_type == "malware":
            name = _text(item, "name", where, MAX_NAME)
            if name:
                malware[item["id"]] = name
        elif object_type == "relationship" and item.get("relationship_type") == "indicates":
            source = _text(item, "source_ref", where, 300, required=True) or ""
            target = _text(item, "target_ref", where, 300, required=True) or ""
            indicates.append((source, target))
    for source, target in indicates:
        names = indicators[source].malware if source in indicators else None
        if names is not None and target in malware and malware[target] not in names:
            names.append(malware[target])
    return Bundle(
        bundle_id=bundle_id,
        sha256=hashlib.sha256(data).hexdigest(),
        object_count=len(objects),
        indicators=list(indicators.values()),
        malware_names=sorted(set(malware.values())),
    )


def _envelope(document: Any) -> tuple[str, list[Any]]:
    if not isinstance(document, dict) or document.get("type") != "bundle":
        raise ValidationProblem('the file is not a STIX bundle (no "type": "bundle" object)')
    bundle_id = document.get("id")
    valid = isinstance(bundle_id, str) and _ID.fullmatch(bundle_id) is not None
    if not valid or not str(bundle_id).startswith("bundle--"):
        raise ValidationProblem('the bundle has no valid "id" (bundle--<uuid>)')
    objects = document.get("objects", [])
    if not isinstance(objects, list):
        raise ValidationProblem('the bundle\'s "objects" is not a list')
    if len(objects) > MAX_OBJECTS:
        raise ValidationProblem(f"the bundle has over {MAX_OBJECTS:,} objects")
    return str(bundle_id), objects


def _header(item: Any, where: str) -> str:
    if not isinstance(item, dict):
        raise _problem(where, "is not a JSON object")
    object_type = item.get("type")
    if not isinstance(object_type, str) or not _TYPE.fullmatch(object_type):
        raise _problem(where, 'has no valid "type"')
    identifier = item.get("id")
    if not isinstance(identifier, str) or not _ID.fullmatch(identifier):
        raise _problem(where, 'has no valid "id" (<type>--<uuid>)')
    if identifier.split("--", 1)[0] != object_type:
        raise _problem(where, f'"id" does not start with its type "{object_type}--"')
    return object_type


def _check_storable(value: str, where: str, key: str) -> str:
    if _UNSTORABLE.search(value):
        raise _problem(where, f'"{key}" holds control characters or invalid Unicode')
    return value


def _text(
    item: dict[str, Any], key: str, where: str, limit: int, *, required: bool = False
) -> str | None:
    value = item.get(key)
    if value is None:
        if required:
            raise _problem(where, f'has no "{key}"')
        return None
    if not isinstance(value, str):
        raise _problem(where, f'"{key}" is not a string')
    if len(value) > limit:
        raise _problem(where, f'"{key}" is over {limit:,} characters')
    return _check_storable(value, where, key)


def _strings(item: dict[str, Any], key: str, where: str) -> list[str]:
    value = item.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(entry, str) for entry in value):
        raise _problem(where, f'"{key}" is not a list of strings')
    if len(value) > MAX_LABELS or any(len(entry) > MAX_LABEL for entry in value):
        raise _problem(where, f'"{key}" has over {MAX_LABELS} entries or an overlong one')
    return [_check_storable(entry, where, key) for entry in dict.fromkeys(value)]


def parse_timestamp(value: str) -> datetime | None:
    """Return a STIX timestamp (RFC 3339, UTC, ``Z``) as an aware datetime, or None."""
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        return datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            min(int(second), 59),  # a leap second is kept as the second before it
            int((fraction or "0").ljust(6, "0")[:6]),
            tzinfo=UTC,
        )
    except ValueError:
        return None


def _timestamp(item: dict[str, Any], key: str, where: str) -> datetime | None:
    value = item.get(key)
    if value is None:
        return None
    parsed = parse_timestamp(value) if isinstance(value, str) else None
    if parsed is None:
        raise _problem(where, f'"{key}" is not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z)')
    return parsed


def _indicator(item: dict[str, Any], where: str) -> StixIndicator:
    pattern = _text(item, "pattern", where, MAX_PATTERN, required=True) or ""
    pattern_type = _text(item, "pattern_type", where, 100) or "stix"  # absent in STIX 2.0
    created = _timestamp(item, "created", where)
    modified = _timestamp(item, "modified", where) or created
    if modified is None:
        raise _problem(where, 'has neither "modified" nor "created"')
    revoked = item.get("revoked", False)
    if not isinstance(revoked, bool):
        raise _problem(where, '"revoked" is not true or false')
    confidence = item.get("confidence")
    if confidence is not None and (
        isinstance(confidence, bool)
        or not isinstance(confidence, int)
        or not 0 <= confidence <= 100
    ):
        raise _problem(where, '"confidence" is not a whole number from 0 to 100')
    found = StixIndicator(
        stix_id=item["id"],
        pattern=pattern,
        pattern_type=pattern_type,
        created=created,
        modified=modified,
        name=_text(item, "name", where, MAX_NAME),
        valid_from=_timestamp(item, "valid_from", where),
        valid_until=_timestamp(item, "valid_until", where),
        revoked=revoked,
        labels=_strings(item, "labels", where),
        indicator_types=_strings(item, "indicator_types", where),
        confidence=confidence,
    )
    if pattern_type.lower() != "stix":
        found.skips = [Skip(pattern_type.lower()[:40], SkipReason.PATTERN_TYPE)]
    else:
        found.values, found.skips = interpret(pattern)
    return found


def interpret(pattern: str) -> tuple[list[IndicatorValue], list[Skip]]:
    """Return the values a STIX pattern matches on text, and what of it was skipped and why.

    Only alternatives (OR) of equality comparisons can be matched one text at a time: any one
    of them appearing is a match. An alternative that needs more (AND, a sequence, a time
    window) or that compares something else is skipped, and the other alternatives stay.
    """
    try:
        tree = parse(pattern)
    except PatternSyntaxError:
        return [], [Skip("stix", SkipReason.SYNTAX)]
    values: list[IndicatorValue] = []
    skips: list[Skip] = []
    _alternatives(tree, values, skips)
    return sorted(set(values), key=lambda found: (found.type.value, found.value)), skips


def _types(node: Node) -> str:
    return "+".join(sorted({comparison.object_type for comparison in comparisons_of(node)}))


def _alternatives(node: Node, values: list[IndicatorValue], skips: list[Skip]) -> None:
    if isinstance(node, Comparison):
        _comparison(node, values, skips)
    elif isinstance(node, Observation):
        if node.qualifiers:
            skips.append(Skip(_types(node), SkipReason.QUALIFIER))
        else:
            _alternatives(node.expression, values, skips)
    elif isinstance(node, Combined) and node.operator == "OR":
        for operand in node.operands:
            _alternatives(operand, values, skips)
    elif isinstance(node, Combined):
        reason = SkipReason.AND if node.operator == "AND" else SkipReason.FOLLOWED_BY
        skips.append(Skip(_types(node), reason))


def indicator_type_of(comparison: Comparison) -> IndicatorType | SkipReason:
    """Return what a comparison's object path is, for the matcher, or why it cannot be used."""
    object_type, path = comparison.object_type, comparison.path
    if object_type in _VALUE_OBJECTS:
        return _VALUE_OBJECTS[object_type] if path == ("value",) else SkipReason.PROPERTY
    if object_type == "email-message":
        return IndicatorType.EMAIL if path in _SENDER_REFS else SkipReason.PROPERTY
    if object_type == "file":
        if len(path) == 2 and path[0] == "hashes":
            kind = _HASH_NAMES.get(path[1].upper().replace("-", "").replace("_", ""))
            if kind is not None:
                return kind
        return SkipReason.PROPERTY
    return SkipReason.OBJECT_TYPE


def _comparison(comparison: Comparison, values: list[IndicatorValue], skips: list[Skip]) -> None:
    kind = indicator_type_of(comparison)
    label = comparison.object_type[:40]
    if isinstance(kind, SkipReason):
        skips.append(Skip(label, kind))
    elif comparison.operator != "=" or comparison.negated:
        skips.append(Skip(label, SkipReason.OPERATOR))
    elif comparison.value_kind != "string" or not isinstance(comparison.value, str):
        skips.append(Skip(label, SkipReason.INVALID_VALUE))
    else:
        try:
            values.append(IndicatorValue(*canonical(kind, comparison.value)))
        except InvalidValue:
            skips.append(Skip(label, SkipReason.INVALID_VALUE))
