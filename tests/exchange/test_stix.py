"""STIX patterning and bundle parsing: what is understood, what is skipped, what is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hrdshield.errors import RequestTooLarge, ValidationProblem
from hrdshield.exchange import patterns, stix
from hrdshield.exchange.canonical import InvalidValue, canonical_domain, canonical_ip, canonical_url
from hrdshield.exchange.enums import IndicatorType, SkipReason
from tests.exchange.bundles import SUPPORTED, bundle, encode, indicator, stix_id


def _values(pattern: str) -> list[tuple[str, str]]:
    values, _ = stix.interpret(pattern)
    return [(value.type.value, value.value) for value in values]


def _skips(pattern: str) -> list[tuple[str, str]]:
    _, skips = stix.interpret(pattern)
    return [(skip.object_type, skip.reason.value) for skip in skips]


@pytest.mark.parametrize(("pattern", "expected"), SUPPORTED)
def test_each_supported_pattern_gives_its_canonical_value(
    pattern: str, expected: tuple[str, str] | None
) -> None:
    if expected is None:
        assert _values(pattern) == []
        assert [reason for _, reason in _skips(pattern)] == ["invalid_value"]
    else:
        assert _values(pattern) == [expected]
        assert _skips(pattern) == []


def test_an_or_of_comparisons_gives_every_value() -> None:
    pattern = (
        "[domain-name:value = 'a.example' OR domain-name:value = 'b.example' "
        "OR url:value = 'https://c.example/x']"
    )
    assert _values(pattern) == [
        ("domain-name", "a.example"),
        ("domain-name", "b.example"),
        ("url", "https://c.example/x"),
    ]


def test_an_or_of_observations_gives_every_value() -> None:
    pattern = "[ipv4-addr:value = '198.51.100.1'] OR ([domain-name:value = 'd.example'])"
    assert _values(pattern) == [("domain-name", "d.example"), ("ipv4-addr", "198.51.100.1")]


@pytest.mark.parametrize(
    ("pattern", "skipped"),
    [
        (
            "[domain-name:value = 'a.example'] AND [url:value = 'http://b.example/']",
            ("domain-name+url", "and"),
        ),
        ("[file:hashes.MD5 = '" + "d" * 32 + "' AND file:name = 'x.apk']", ("file", "and")),
        ("[process:name = 'spy']", ("process", "object_type")),
        ("[app:id = 'com.example.spy']", ("app", "object_type")),
        ("[url:value MATCHES '^https?://evil']", ("url", "operator")),
        ("[domain-name:value LIKE '%.example']", ("domain-name", "operator")),
        ("[domain-name:value != 'a.example']", ("domain-name", "operator")),
        ("[domain-name:value NOT = 'a.example']", ("domain-name", "operator")),
        ("[ipv4-addr:value IN ('198.51.100.1', '198.51.100.2')]", ("ipv4-addr", "operator")),
        ("[domain-name:resolves_to_refs[*].value = '198.51.100.1']", ("domain-name", "property")),
        ("[file:name = 'report.pdf']", ("file", "property")),
        ("[domain-name:value = 'a.example'] WITHIN 300 SECONDS", ("domain-name", "qualifier")),
        ("[domain-name:value = 'a.example'] REPEATS 5 TIMES", ("domain-name", "qualifier")),
        (
            "[url:value = 'http://a.example/'] START t'2026-01-01T00:00:00Z' "
            "STOP t'2026-02-01T00:00:00Z'",
            ("url", "qualifier"),
        ),
        (
            "[domain-name:value = 'a.example'] FOLLOWEDBY [url:value = 'http://b.example/x']",
            ("domain-name+url", "followed_by"),
        ),
        ("[domain-name:value = 1]", ("domain-name", "invalid_value")),
        ("[domain-name:value = 'localhost']", ("domain-name", "invalid_value")),
        ("[ipv4-addr:value = '192.168.1.1']", ("ipv4-addr", "invalid_value")),
        ("[ipv4-addr:value = '198.0.0.0/8']", ("ipv4-addr", "invalid_value")),
        ("[ipv4-addr:value = '2001:db8::1']", ("ipv4-addr", "invalid_value")),
        ("[file:hashes.'SHA-256' = 'abc']", ("file", "invalid_value")),
        ("[domain-name:value = 'a.example'", ("stix", "syntax")),
        ("domain-name:value = 'a.example'", ("stix", "syntax")),
        ("[domain-name:value = 'a.example'] nonsense", ("stix", "syntax")),
    ],
)
def test_patterns_the_text_matcher_cannot_honour_are_skipped_with_a_reason(
    pattern: str, skipped: tuple[str, str]
) -> None:
    assert _values(pattern) == []
    assert _skips(pattern) == [skipped]


def test_an_or_keeps_the_alternatives_it_understands_and_reports_the_others() -> None:
    pattern = (
        "[domain-name:value = 'kept.example' OR process:name = 'spy' OR url:value MATCHES 'x']"
    )
    assert _values(pattern) == [("domain-name", "kept.example")]
    assert _skips(pattern) == [("process", "object_type"), ("url", "operator")]


def test_the_parser_reads_escapes_keywords_and_paths() -> None:
    tree = patterns.parse(
        "[network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' "
        "= 'it\\'s \\\\ odd'] or [x-custom:prop[0] = h'ff']"
    )
    assert isinstance(tree, patterns.Combined)
    first, second = patterns.comparisons_of(tree)
    assert first.path == ("extensions", "http-request-ext", "request_header", "User-Agent")
    assert first.value == "it's \\ odd"
    assert second.object_type == "x-custom"
    assert second.value_kind == "hex"


@pytest.mark.parametrize(
    "pattern",
    [
        "",
        "[]",
        "[domain-name:value =]",
        "[a:b = 'x' AND]",
        "[" * 100 + "a:b = 'x'" + "]" * 100,
        "[a:b = 'x'] WITHIN SECONDS",
        "[a:b = 'unterminated]",
        "[a:b ~ 'x']",
    ],
)
def test_malformed_patterns_raise_a_syntax_error(pattern: str) -> None:
    with pytest.raises(patterns.PatternSyntaxError):
        patterns.parse(pattern)


def test_an_overlong_pattern_is_refused_before_parsing() -> None:
    with pytest.raises(patterns.PatternSyntaxError, match="over"):
        patterns.parse("[domain-name:value = '" + "a" * 20_000 + "']")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("Evil.Example.", "evil.example"),
        ("evil\u3002example", "evil.example"),
        ("ПРИМЕР.испытание", "xn--e1afmkfd.xn--80akhbyknj4f"),
        ("xn--e1afmkfd.example", "xn--e1afmkfd.example"),
        ("under_score.example", "under_score.example"),
    ],
)
def test_domains_are_stored_in_one_canonical_form(given: str, expected: str) -> None:
    assert canonical_domain(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "example",
        "-bad.example",
        "a..example",
        "1.2.3.4",
        "xn--zz-.example",
        "a b.example",
        "a" * 64 + ".example",
        "<script>.example",
    ],
)
def test_unusable_domains_are_refused(given: str) -> None:
    with pytest.raises(InvalidValue):
        canonical_domain(given)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("HTTP://Kit.Example:80/Path/?q=1#frag", "http://kit.example/Path?q=1"),
        ("https://user:pw@kit.example/", "https://kit.example"),
        ("kit.example/a%2fb", "http://kit.example/a%2Fb"),
        ("https://kit.example:8443/x", "https://kit.example:8443/x"),
        ("http://[2001:db8::1]/x", "http://[2001:db8::1]/x"),
        ("https://kit.example/ruta/ñ", "https://kit.example/ruta/%C3%B1"),
    ],
)
def test_urls_are_normalised(given: str, expected: str) -> None:
    assert canonical_url(given) == expected


def test_addresses_are_canonical_and_local_ones_refused() -> None:
    assert canonical_ip("198.51.100.7/32") == (IndicatorType.IPV4, "198.51.100.7")
    assert canonical_ip("::ffff:198.51.100.7") == (IndicatorType.IPV4, "198.51.100.7")
    assert canonical_ip("203.0.113.9/24") == (IndicatorType.IPV4, "203.0.113.0/24")
    for local in ("127.0.0.1", "10.1.2.3", "::1", "fe80::1", "0.0.0.0", "224.0.0.1"):  # noqa: S104  (refused, not bound)
        with pytest.raises(InvalidValue):
            canonical_ip(local)


def _refused(document: Any, match: str) -> None:
    with pytest.raises(ValidationProblem, match=match):
        stix.parse_bundle(document if isinstance(document, bytes) else encode(document))


def test_real_shapes_parse_with_malware_names_linked() -> None:
    parsed = stix.parse_bundle(encode(bundle(indicator(1, "[domain-name:value='a.example']"))))
    [found] = parsed.indicators
    assert found.malware == ["Test Spyware"]
    assert found.values == [stix.IndicatorValue(IndicatorType.DOMAIN, "a.example")]
    assert parsed.malware_names == ["Test Spyware"]


def test_the_newest_version_of_an_indicator_in_one_bundle_wins() -> None:
    old = indicator(1, "[domain-name:value='old.example']")
    new = indicator(1, "[domain-name:value='new.example']", modified="2026-02-01T00:00:00Z")
    for order in ((old, new), (new, old)):
        [found] = stix.parse_bundle(encode(bundle(*order))).indicators
        assert found.values[0].value == "new.example"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe\x00junk", "not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply|not valid JSON"),
        (
            b'{"type": "bundle", "id": "bundle--00000000-0000-0000-0000-000000000001",'
            b' "objects": [NaN]}',
            "not valid JSON",
        ),
        ([], "not a STIX bundle"),
        ({"type": "indicator"}, "not a STIX bundle"),
        ({"type": "bundle", "id": "nope", "objects": []}, 'no valid "id"'),
        ({"type": "bundle", "id": stix_id("malware", 1), "objects": []}, 'no valid "id"'),
        ({"type": "bundle", "id": stix_id("bundle", 1), "objects": {}}, "not a list"),
        (
            {"type": "bundle", "id": stix_id("bundle", 1), "objects": ["x"]},
            r"objects\[0\]: is not a JSON object",
        ),
        (
            {"type": "bundle", "id": stix_id("bundle", 1), "objects": [{"id": "x"}]},
            r'objects\[0\]: has no valid "type"',
        ),
    ],
)
def test_malformed_bundles_are_refused_with_a_clear_message(document: Any, message: str) -> None:
    _refused(document, message)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"pattern": None}, 'has no "pattern"'),
        ({"pattern": ["[domain-name:value='a.example']"]}, '"pattern" is not a string'),
        ({"modified": "yesterday"}, '"modified" is not a STIX timestamp'),
        ({"modified": "2026-13-45T00:00:00Z"}, '"modified" is not a STIX timestamp'),
        ({"valid_until": 20260101}, '"valid_until" is not a STIX timestamp'),
        ({"revoked": "no"}, '"revoked" is not true or false'),
        ({"labels": "phishing"}, '"labels" is not a list of strings'),
        ({"labels": ["x"] * 101}, '"labels" has over'),
        ({"confidence": 101}, '"confidence"'),
        ({"name": "evil\x00name"}, '"name" holds control characters'),
        ({"name": "\ud800"}, '"name" holds control characters or invalid Unicode'),
        ({"pattern": "[domain-name:value='" + "a" * 10_001 + "']"}, '"pattern" is over'),
        ({"id": "indicator--not-a-uuid"}, 'has no valid "id"'),
        ({"id": stix_id("malware", 9)}, "does not start with its type"),
    ],
)
def test_a_faulty_indicator_refuses_the_bundle_naming_the_object(
    changes: dict[str, Any], message: str
) -> None:
    item = indicator(7, "[domain-name:value='a.example']")
    item.update(changes)
    item = {key: value for key, value in item.items() if value is not None}
    where = r"objects\[1\]" + (
        r" \(indicator--00000000-0000-0000-0000-000000000007\)" if "id" not in changes else ""
    )
    _refused(encode(bundle(item)), where + ".*" + message)


def test_a_bundle_over_the_size_limit_is_refused_unread() -> None:
    with pytest.raises(RequestTooLarge):
        stix.parse_bundle(b" " * 2049, max_bytes=2048)


def test_a_stix_2_0_indicator_without_pattern_type_is_read_as_stix() -> None:
    item = indicator(3, "[url:value = 'http://a.example/x']")
    del item["pattern_type"]
    [found] = stix.parse_bundle(encode(bundle(item))).indicators
    assert found.values[0].type is IndicatorType.URL


def test_other_pattern_languages_are_skipped_by_language() -> None:
    item = indicator(4, "title: suspicious", pattern_type="sigma")
    [found] = stix.parse_bundle(encode(bundle(item))).indicators
    assert found.values == []
    assert found.skips == [stix.Skip("sigma", SkipReason.PATTERN_TYPE)]


def test_the_bundle_digest_is_of_its_bytes() -> None:
    data = json.dumps(bundle(indicator(1, "[domain-name:value='a.example']"))).encode()
    import hashlib  # noqa: PLC0415

    assert stix.parse_bundle(data).sha256 == hashlib.sha256(data).hexdigest()
