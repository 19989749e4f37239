"""The matcher finds indicators however they are written, and nothing that only looks close."""

from __future__ import annotations

import pytest

from hrdshield.exchange.enums import IndicatorType, MatchKind
from hrdshield.exchange.matcher import IndicatorHit, IndicatorMatcher, reviewed_shorteners
from hrdshield.exchange.stix import parse_bundle
from tests.exchange.bundles import EAGLE, RCS, feed

VALUES = [
    ("dom", IndicatorType.DOMAIN, "evil.example"),
    ("idn", IndicatorType.DOMAIN, "xn--e1afmkfd.example"),  # пример.example
    ("url", IndicatorType.URL, "https://share.example/kit"),
    ("root", IndicatorType.URL, "http://drop.example"),
    ("query", IndicatorType.URL, "https://forms.example/view?id=42"),
    ("ip4", IndicatorType.IPV4, "198.51.100.7"),
    ("net", IndicatorType.IPV4, "203.0.113.0/24"),
    ("ip6", IndicatorType.IPV6, "2001:db8::7"),
    ("mail", IndicatorType.EMAIL, "boss@corp.example"),
    ("hash", IndicatorType.SHA256, "a" * 64),
]
SHORTENER = "short.example"


@pytest.fixture(scope="module")
def matcher() -> IndicatorMatcher:
    return IndicatorMatcher(VALUES, shorteners=[SHORTENER])


def _only(matcher: IndicatorMatcher, text: str) -> IndicatorHit:
    hits = matcher.match_text(text)
    assert len(hits) == 1, hits
    return hits[0]


@pytest.mark.parametrize(
    ("text", "written", "indicator", "kind", "defanged"),
    [
        ("see evil.example now", "evil.example", "dom", MatchKind.EXACT_DOMAIN, False),
        ("EVIL.EXAMPLE.", "EVIL.EXAMPLE", "dom", MatchKind.EXACT_DOMAIN, False),
        ("go to a.b.evil.example", "a.b.evil.example", "dom", MatchKind.SUBDOMAIN, False),
        ("(login.evil.example)", "login.evil.example", "dom", MatchKind.SUBDOMAIN, False),
        (
            "<https://evil.example/x?y=1>",
            "https://evil.example/x?y=1",
            "dom",
            MatchKind.URL_HOST,
            False,
        ),
        (
            "https://www.evil.example/",
            "https://www.evil.example/",
            "dom",
            MatchKind.SUBDOMAIN,
            False,
        ),
        (
            "http://paypal.example@evil.example/",
            "http://paypal.example@evil.example/",
            "dom",
            MatchKind.URL_HOST,
            False,
        ),
        ("hxxp://evil.example/a", "hxxp://evil.example/a", "dom", MatchKind.URL_HOST, True),
        ("hXXps://evil.example", "hXXps://evil.example", "dom", MatchKind.URL_HOST, True),
        (
            "fxp://files.evil.example/x",
            "fxp://files.evil.example/x",
            "dom",
            MatchKind.SUBDOMAIN,
            True,
        ),
        ("evil[.]example", "evil[.]example", "dom", MatchKind.EXACT_DOMAIN, True),
        ("evil(.)example", "evil(.)example", "dom", MatchKind.EXACT_DOMAIN, True),
        ("evil{.}example", "evil{.}example", "dom", MatchKind.EXACT_DOMAIN, True),
        ("evil[dot]example", "evil[dot]example", "dom", MatchKind.EXACT_DOMAIN, True),
        ("write to evil dot example", "evil dot example", "dom", MatchKind.EXACT_DOMAIN, True),
        ("https[:]//evil.example/p", "https[:]//evil.example/p", "dom", MatchKind.URL_HOST, True),
        ("hxxps[://]evil[.]example", "hxxps[://]evil[.]example", "dom", MatchKind.URL_HOST, True),
        ("evil\u3002example", "evil\u3002example", "dom", MatchKind.EXACT_DOMAIN, True),
        ("evil\uff0eexample", "evil\uff0eexample", "dom", MatchKind.EXACT_DOMAIN, True),
        (
            "ev\u200bil.exam\u200dple!",
            "ev\u200bil.exam\u200dple",
            "dom",
            MatchKind.EXACT_DOMAIN,
            True,
        ),
        ("見てevil.example了解", "見てevil.example了解", "dom", MatchKind.EXACT_DOMAIN, False),
        ("زوروا evil.example الآن", "evil.example", "dom", MatchKind.EXACT_DOMAIN, False),
        ("пример.example", "пример.example", "idn", MatchKind.EXACT_DOMAIN, False),
        ("ПРИМЕР.EXAMPLE/путь", "ПРИМЕР.EXAMPLE/путь", "idn", MatchKind.URL_HOST, False),
        ("xn--e1afmkfd.example", "xn--e1afmkfd.example", "idn", MatchKind.EXACT_DOMAIN, False),
        ("ping 198.51.100.7, please", "198.51.100.7", "ip4", MatchKind.IP, False),
        ("198.51.100[.]7:8080", "198.51.100[.]7:8080", "ip4", MatchKind.IP, True),
        ("http://198.51.100.7/a", "http://198.51.100.7/a", "ip4", MatchKind.IP, False),
        ("host 203.0.113.250 is up", "203.0.113.250", "net", MatchKind.IP, False),
        ("via 2001:db8:0:0:0:0:0:7", "2001:db8:0:0:0:0:0:7", "ip6", MatchKind.IP, False),
        (
            "at http://[2001:db8::7]:8443/x",
            "http://[2001:db8::7]:8443/x",
            "ip6",
            MatchKind.IP,
            False,
        ),
        ("from Boss@Corp.Example:", "Boss@Corp.Example", "mail", MatchKind.EMAIL, False),
        ("boss[@]corp[.]example", "boss[@]corp[.]example", "mail", MatchKind.EMAIL, True),
        ("boss(at)corp.example", "boss(at)corp.example", "mail", MatchKind.EMAIL, True),
    ],
)
def test_true_positives(
    matcher: IndicatorMatcher,
    text: str,
    written: str,
    indicator: str,
    kind: MatchKind,
    defanged: bool,
) -> None:
    hit = _only(matcher, text)
    assert (hit.indicator_id, hit.kind, hit.defanged) == (indicator, kind, defanged)
    assert hit.matched == written
    assert text[hit.start : hit.end] == written
    assert hit.confidence == "high"


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("https://share.example/kit", "https://share.example/kit"),
        ("share.example/kit/", "share.example/kit/"),
        ("http://share.example/kit?utm=1", "http://share.example/kit?utm=1"),
        ("share.example/kit/login.html?id=9.", "share.example/kit/login.html?id=9"),
        ("hxxps://share[.]example/kit#top", "hxxps://share[.]example/kit#top"),
        ("drop.example", "drop.example"),
        ("https://drop.example/any/path", "https://drop.example/any/path"),
        ("forms.example/view?id=42", "forms.example/view?id=42"),
    ],
)
def test_url_indicators_match_with_or_without_scheme_slash_or_query(
    matcher: IndicatorMatcher, text: str, written: str
) -> None:
    hit = _only(matcher, text)
    assert hit.kind is MatchKind.FULL_URL
    assert hit.indicator_type is IndicatorType.URL
    assert hit.matched == written


@pytest.mark.parametrize(
    "text",
    [
        "notevil.example is fine",
        "evil.example.org is someone else",
        "evilexample and evil-example.com",
        "share.example/kitten",
        "share.example/other/kit",
        "https://share.example/",
        "forms.example/view?id=43",
        "the report is report.pdf, version 2.4.1, build 10.2.3.4.5",
        "We met at 10:30:45. Prices rose 3.5%. See fig. 2.1.",
        "Mr. Smith and Dr. Jones arrived at 6 p.m.",
        "198.51.100.70 and 198.51.100.8 and 203.0.114.1",
        "2001:db8::70",
        "boss@corp.example.org and other@corp.example",
        "e.g. i.e. etc.",
        "a dot on the map",
        "evil.exam ple",
        "",
    ],
)
def test_near_misses_and_ordinary_text_do_not_match(matcher: IndicatorMatcher, text: str) -> None:
    assert matcher.match_text(text) == []


def test_an_e_mail_address_at_an_indicator_domain_matches_the_domain(
    matcher: IndicatorMatcher,
) -> None:
    hit = _only(matcher, "reply to support@mail.evil.example")
    assert (hit.indicator_id, hit.kind) == ("dom", MatchKind.SUBDOMAIN)


def test_a_shortened_link_is_a_separate_low_confidence_hit(matcher: IndicatorMatcher) -> None:
    hit = _only(matcher, "click https://short.example/Ab3dE now")
    assert hit.kind is MatchKind.SHORTENED_LINK
    assert (hit.indicator_id, hit.indicator_type, hit.value) == (None, None, SHORTENER)
    assert hit.confidence == "low"
    assert _only(matcher, "www.short.example/x1").kind is MatchKind.SHORTENED_LINK
    assert matcher.match_text("short.example is a service") == []  # a mention, not a link
    assert matcher.match_text("https://short.example/") == []
    assert matcher.match_text("https://notshort.example/x") == []


def test_a_shortened_link_that_is_an_indicator_is_reported_as_the_indicator() -> None:
    matcher = IndicatorMatcher(
        [("s", IndicatorType.URL, "https://short.example/bad")], shorteners=[SHORTENER]
    )
    hit = _only(matcher, "short.example/bad")
    assert (hit.indicator_id, hit.kind) == ("s", MatchKind.FULL_URL)


def test_the_reviewed_shortener_list_is_used_by_default() -> None:
    names = reviewed_shorteners()
    assert len(names) >= 20
    assert all(name == name.strip().lower() and "." in name for name in names)
    chosen = sorted(names)[0]
    hit = _only(IndicatorMatcher([]), f"see https://{chosen}/x7Yz")
    assert (hit.kind, hit.value) == (MatchKind.SHORTENED_LINK, chosen)


def test_several_indicators_and_occurrences_in_one_text(matcher: IndicatorMatcher) -> None:
    text = "evil.example, then hxxp://198.51.100[.]7/x and again evil.example"
    hits = matcher.match_text(text)
    assert [(hit.indicator_id, hit.start) for hit in hits] == [
        ("dom", 0),
        ("ip4", text.index("hxxp")),
        ("dom", text.rindex("evil")),
    ]


def test_a_link_can_match_a_url_and_a_domain_indicator_at_once() -> None:
    matcher = IndicatorMatcher(
        [
            ("u", IndicatorType.URL, "https://evil.example/kit"),
            ("d", IndicatorType.DOMAIN, "evil.example"),
        ]
    )
    hits = matcher.match_text("evil.example/kit/a")
    assert {(hit.indicator_id, hit.kind) for hit in hits} == {
        ("u", MatchKind.FULL_URL),
        ("d", MatchKind.URL_HOST),
    }


def test_the_most_specific_domain_indicator_is_reported() -> None:
    matcher = IndicatorMatcher(
        [
            ("parent", IndicatorType.DOMAIN, "evil.example"),
            ("child", IndicatorType.DOMAIN, "a.evil.example"),
        ]
    )
    assert _only(matcher, "x.a.evil.example").indicator_id == "child"
    assert _only(matcher, "b.evil.example").indicator_id == "parent"


def test_match_texts_answers_each_text_in_order(matcher: IndicatorMatcher) -> None:
    results = matcher.match_texts(["nothing here", "evil[.]example", "boss@corp.example"])
    assert [[hit.indicator_id for hit in found] for found in results] == [[], ["dom"], ["mail"]]


def test_file_hashes_match_files_not_text(matcher: IndicatorMatcher) -> None:
    assert matcher.match_text("a" * 64) == []
    assert matcher.match_hashes(["A" * 64, "b" * 64]) == [("hash", "a" * 64)]


def test_the_real_feeds_match_their_own_infrastructure_however_written() -> None:
    values = []
    for name in (RCS, EAGLE):
        for found in parse_bundle(feed(name).read_bytes()).indicators:
            values += [(found.stix_id, value.type, value.value) for value in found.values]
    matcher = IndicatorMatcher(values)
    assert len(matcher) == 26 + 9 + 13 + 13 + 25
    assert _only(matcher, "Update at hxxps://apps[.]fb-techsupport[.]com/x").kind is (
        MatchKind.URL_HOST
    )
    assert _only(matcher, "login.poste-it.info/area").kind is MatchKind.SUBDOMAIN
    assert _only(matcher, "c2: 47.112.137[.]199").kind is MatchKind.IP
    assert _only(matcher, "eagle.tzsafe.com").kind is MatchKind.EXACT_DOMAIN
    assert matcher.match_text("tzsafe.com and other.appspot.com") == []  # only named hosts


def test_a_name_that_starts_like_a_defanged_scheme_is_left_as_written() -> None:
    matcher = IndicatorMatcher([("h", IndicatorType.DOMAIN, "hxxp-lab.example")])
    hit = _only(matcher, "see hxxp-lab.example")
    assert (hit.kind, hit.defanged) == (MatchKind.EXACT_DOMAIN, False)
    second = matcher.match_text("hXXps://hxxp-lab.example/x")
    assert [(found.kind, found.defanged) for found in second] == [(MatchKind.URL_HOST, True)]
