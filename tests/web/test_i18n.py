"""Every interface message is translated, and each request is answered in the language it chose.

Messages are re-extracted from the sources with babel.cfg itself, so a string added to a template
or a page fails here until `scripts/i18n.sh` is run and the catalogs are translated.
"""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from string import Formatter
from urllib.parse import parse_qs, urlsplit

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from hrdshield.web.i18n import (
    LANGUAGE_COOKIE,
    LOCALES_DIR,
    SUPPORTED_LANGUAGES,
    negotiate,
    parse_accept_language,
    translations,
)

ROOT = Path(__file__).resolve().parents[2]
# Every shipped language but English, the source: adding a language to SUPPORTED_LANGUAGES
# makes every check below demand its catalog.
TRANSLATED = tuple(code for code in SUPPORTED_LANGUAGES if code != "en")
PLURAL_FORMS = {
    "es": "nplurals=2; plural=(n != 1);",
    "fr": "nplurals=2; plural=(n > 1);",
    "ar": (
        "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : "
        "n%100>=11 ? 4 : 5);"
    ),
    "ru": (
        "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
        "(n%100<10 || n%100>=20) ? 1 : 2);"
    ),
    # One form for 1 only, as in Portugal; Brazil's CLDR rule also puts 0 in the singular, but
    # "0 mensagens" reads right on both sides of the Atlantic (docs/translating.md).
    "pt": "nplurals=2; plural=(n != 1);",
}
# Which plural form each count takes, by the grammar of the language (not by the catalog).
PLURAL_FORM_OF = {
    "ru": {0: 2, 1: 0, 2: 1, 4: 1, 5: 2, 11: 2, 12: 2, 14: 2, 21: 0, 22: 1, 25: 2, 101: 0, 111: 2},
    "pt": {0: 1, 1: 0, 2: 1, 21: 1},
}
# "%(name)s", "%s", "%.1f"; a space flag is left out so that French "50 % des" is not "% d".
PRINTF_PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-#0+]?\d*(?:\.\d+)?[diouxXeEfFgGcrs]")
ARABIC_LETTERS = re.compile(r"[\u0621-\u064a]")
# A translation in these languages is written in their script; only the product name is not.
SCRIPTS = {"ar": ARABIC_LETTERS, "ru": re.compile(r"[\u0410-\u044f\u0401\u0451]")}
UNTRANSLATED_NAMES = {"HRD Shield"}
RERUN = "run scripts/i18n.sh, then translate"


def _label(message: Message) -> str:
    msgid = message.id[0] if isinstance(message.id, tuple) else message.id
    return f"{msgid!r} ({', '.join(f'{name}:{line}' for name, line in message.locations[:2])})"


def _forms(message: Message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def _placeholders(text: str) -> Counter[str]:
    try:
        fields = [field for _, field, _, _ in Formatter().parse(text) if field is not None]
    except ValueError:  # a lone brace is text, not a replacement field
        fields = []
    return Counter(PRINTF_PLACEHOLDER.findall(text)) + Counter(f"{{{field}}}" for field in fields)


def _load_catalog(code: str) -> Catalog:
    with (LOCALES_DIR / code / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=code)


@pytest.fixture(scope="module")
def source_messages() -> list[Message]:
    """Extract every translatable message from the sources, as scripts/i18n.sh does."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, "babel.cfg")
    extracted = Catalog()
    for filename, line, msgid, _comments, context in extract_from_dir(
        ROOT, method_map, options_map
    ):
        extracted.add(msgid, locations=[(filename, line)], context=context)
    return [message for message in extracted if message.id]


def test_extraction_reads_python_code_and_templates(source_messages: list[Message]) -> None:
    files = {name for message in source_messages for name, _ in message.locations}
    assert any(name.endswith(".py") for name in files), "no message found in Python code"
    assert any(name.endswith(".html") for name in files), "no message found in templates"
    assert len(source_messages) > 50


def test_template_catalog_is_current(source_messages: list[Message]) -> None:
    with (LOCALES_DIR / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    in_sources = {(message.id, message.context) for message in source_messages}
    in_template = {(message.id, message.context) for message in template if message.id}
    assert in_sources == in_template, RERUN


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_is_translated(code: str, source_messages: list[Message]) -> None:
    catalog = _load_catalog(code)
    missing = [
        _label(message)
        for message in source_messages
        if (translated := catalog.get(message.id, context=message.context)) is None
        or translated.fuzzy
        or not all(form.strip() for form in _forms(translated))
    ]
    assert not missing, f"{code}: {len(missing)} untranslated or fuzzy, {RERUN}: {missing}"


@pytest.mark.parametrize("code", TRANSLATED)
def test_placeholders_match(code: str, source_messages: list[Message]) -> None:
    catalog = _load_catalog(code)
    wrong = []
    for message in source_messages:
        translated = catalog.get(message.id, context=message.context)
        if translated is None:
            continue  # reported by test_every_message_is_translated
        forms = _forms(translated)
        if isinstance(message.id, tuple):
            # A plural form may leave out the number ("one message"); the last, general form
            # keeps every placeholder, and none may bring a placeholder the source lacks.
            source = _placeholders(message.id[1])
            if _placeholders(forms[-1]) != source or any(
                set(_placeholders(form)) - set(source) for form in forms
            ):
                wrong.append(_label(message))
        elif _placeholders(forms[0]) != _placeholders(message.id):
            wrong.append(_label(message))
    assert not wrong, f"{code}: placeholders differ from the source in {wrong}"


@pytest.mark.parametrize("code", TRANSLATED)
def test_catalog_headers_and_babel_checks(code: str) -> None:
    catalog = _load_catalog(code)
    assert str(catalog.locale) == code
    assert catalog.plural_forms == PLURAL_FORMS[code]
    assert not catalog.fuzzy
    problems = [
        (message.id, [str(error) for error in errors]) for message, errors in catalog.check()
    ]
    assert not problems


def test_the_update_script_covers_every_translated_language() -> None:
    script = (ROOT / "scripts" / "i18n.sh").read_text(encoding="utf-8")
    listed = re.search(r"^LANGUAGES=\(([^)]*)\)$", script, re.MULTILINE)
    assert listed, "scripts/i18n.sh has no LANGUAGES=(...) line"
    assert tuple(listed[1].split()) == TRANSLATED


@pytest.mark.parametrize("code", sorted(SCRIPTS))
def test_translations_are_written_in_the_language_s_script(
    code: str, source_messages: list[Message]
) -> None:
    catalog = _load_catalog(code)
    left_in_english = [
        _label(message)
        for message in source_messages
        if (translated := catalog.get(message.id, context=message.context)) is not None
        and message.id not in UNTRANSLATED_NAMES
        and not all(SCRIPTS[code].search(form) for form in _forms(translated))
    ]
    assert not left_in_english, f"{code}: not in its script: {left_in_english}"


@pytest.mark.parametrize("code", sorted(PLURAL_FORM_OF))
def test_counts_take_the_plural_form_their_grammar_asks_for(code: str) -> None:
    singular, plural = "%(num)s message so far.", "%(num)s messages so far."
    forms = _forms(_load_catalog(code)[singular])
    for count, form in PLURAL_FORM_OF[code].items():
        assert translations(code).ngettext(singular, plural, count) == forms[form], count


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("fr-CA,fr;q=0.9,en;q=0.8", ["fr-ca", "fr", "en"], id="browser-header"),
        pytest.param("en;q=0.2, ar;q=0.9, es", ["es", "ar", "en"], id="quality-order"),
        pytest.param("fr;q=0.5, es;q=0.5, ar;q=0.5", ["fr", "es", "ar"], id="ties-keep-order"),
        pytest.param("ES-mx", ["es-mx"], id="lower-cased"),
        pytest.param("fr;q=0, es;q=0.1", ["es"], id="q-zero-refused"),
        pytest.param("fr;q=high, es", ["es"], id="bad-quality-refused"),
        pytest.param("", [], id="empty"),
        pytest.param(" , ;q=1,,", [], id="only-separators"),
        pytest.param(",".join(["de"] * 20 + ["fr"]), ["de"] * 20, id="first-20-only"),
    ],
)
def test_parse_accept_language(header: str, expected: list[str]) -> None:
    assert parse_accept_language(header) == expected


@pytest.mark.parametrize(
    ("query", "cookie", "accept_language", "expected"),
    [
        pytest.param("ar", "fr", "es", "ar", id="query-first"),
        pytest.param(None, "fr", "es", "fr", id="then-cookie"),
        pytest.param(None, None, "es", "es", id="then-header"),
        pytest.param("en", "ar", "ar", "en", id="source-language-chosen"),
        pytest.param("xx", "fr", "es", "fr", id="unsupported-query-skipped"),
        pytest.param("xx", "yy", "es", "es", id="unsupported-cookie-skipped"),
        pytest.param(None, None, "es-MX,en;q=0.5", "es", id="region-tag"),
        pytest.param(None, None, "ar-EG", "ar", id="arabic-region"),
        pytest.param(None, None, "pt-BR", "pt", id="brazilian-portuguese"),
        pytest.param(None, None, "pt-PT", "pt", id="european-portuguese"),
        pytest.param(None, None, "pt-BR,pt;q=0.9,en;q=0.8", "pt", id="portuguese-browser"),
        pytest.param(None, None, "ru-RU", "ru", id="russian-region"),
        pytest.param(None, None, "de-DE,ru;q=0.7,en;q=0.3", "ru", id="russian-after-german"),
        pytest.param(None, None, "uk-UA, ru;q=0.5, en;q=0.9", "en", id="quality-beats-order"),
        pytest.param("pt", "ru", "es", "pt", id="portuguese-query"),
        pytest.param(None, "ru", "pt-BR", "ru", id="russian-cookie"),
        pytest.param("pt-BR", None, None, "en", id="query-takes-no-region"),
        pytest.param(None, None, "de, fr;q=0.5, ar;q=0.9", "ar", id="best-quality-supported"),
        pytest.param(None, None, "de-DE, tr;q=0.8", "en", id="nothing-supported"),
        pytest.param(None, None, "*", "en", id="wildcard"),
        pytest.param(None, None, ";;;=,q=", "en", id="junk"),
        pytest.param(None, None, None, "en", id="no-header"),
        pytest.param("", "", "", "en", id="all-empty"),
        pytest.param("AR", None, None, "en", id="query-is-exact"),
    ],
)
def test_negotiate(
    query: str | None, cookie: str | None, accept_language: str | None, expected: str
) -> None:
    assert negotiate(query, cookie, accept_language) == expected


def test_negotiate_falls_back_to_the_configured_default() -> None:
    assert negotiate("xx", "yy", "de-DE", default="fr") == "fr"


class _Page(HTMLParser):
    """The parts of a rendered page that tell which language it is in."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root: dict[str, str | None] = {}
        self.title = ""
        self.texts: list[str] = []
        self.language_links: dict[str, dict[str, str | None]] = {}
        self._in_title = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.root = attributes
        elif tag == "title":
            self._in_title = True
        elif tag == "a" and attributes.get("hreflang"):
            self.language_links[str(attributes["hreflang"])] = attributes

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if text:
            self.title += text if self._in_title else ""
            self.texts.append(text)

    def shows(self, text: str) -> bool:
        """Return whether `text` appears in the page's text."""
        return any(text in node for node in self.texts)


def _in(code: str, msgid: str) -> str:
    text = translations(code).gettext(msgid)
    assert code == "en" or text != msgid, f"{msgid!r} has no {code} translation"
    return text


def _assert_language(response, code: str) -> _Page:  # type: ignore[no-untyped-def]
    page = _Page(response.text)
    assert page.root == {"lang": code, "dir": SUPPORTED_LANGUAGES[code].direction}
    assert response.headers["content-language"] == code
    assert page.language_links[code].get("aria-current") == "true"
    return page


def test_arabic_from_the_query_is_right_to_left_and_remembered(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/?lang=ar")
    assert response.status_code == 200
    page = _assert_language(response, "ar")
    assert '<html lang="ar" dir="rtl">' in response.text
    assert page.shows(_in("ar", "Protection for human rights defenders online"))
    assert ARABIC_LETTERS.search(page.title)
    assert response.cookies.get(LANGUAGE_COOKIE) == "ar"

    later = client.get("/login", headers={"Accept-Language": "fr"})
    page = _assert_language(later, "ar")
    assert page.shows(_in("ar", "Sign in"))
    assert LANGUAGE_COOKIE not in later.cookies  # remembered, not set again


def test_accept_language_with_a_region_gives_french(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/", headers={"Accept-Language": "fr-CA,fr;q=0.9"})
    page = _assert_language(response, "fr")
    assert page.shows(_in("fr", "Protection for human rights defenders online"))
    assert LANGUAGE_COOKIE not in response.cookies  # only an explicit choice is remembered


@pytest.mark.parametrize(
    ("header", "code"),
    [
        pytest.param("pt-BR,pt;q=0.9,en;q=0.8", "pt", id="brazil"),
        pytest.param("pt-PT,en;q=0.5", "pt", id="portugal"),
        pytest.param("ru-RU,ru;q=0.9,en-US;q=0.8", "ru", id="russia"),
    ],
)
def test_a_regional_browser_header_gets_the_language_and_its_navigation(  # type: ignore[no-untyped-def]
    client, header: str, code: str
) -> None:
    response = client.get("/", headers={"Accept-Language": header})
    page = _assert_language(response, code)
    for msgid in ("Sign in", "Enrol as a defender", "Report an incident", "Skip to main content"):
        assert page.shows(_in(code, msgid)), msgid
    assert LANGUAGE_COOKIE not in response.cookies


def test_unsupported_query_language_is_ignored(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/?lang=xx")
    page = _assert_language(response, "en")
    assert page.shows("Protection for human rights defenders online")
    assert LANGUAGE_COOKIE not in response.cookies

    client.get("/?lang=es")
    response = client.get("/?lang=xx", headers={"Accept-Language": "fr"})
    _assert_language(response, "es")
    assert LANGUAGE_COOKIE not in response.cookies
    assert client.cookies.get(LANGUAGE_COOKIE) == "es"


def test_a_new_choice_replaces_the_remembered_one(client) -> None:  # type: ignore[no-untyped-def]
    client.get("/?lang=ar")
    response = client.get("/?lang=es")
    _assert_language(response, "es")
    assert client.cookies.get(LANGUAGE_COOKIE) == "es"
    _assert_language(client.get("/login"), "es")


def test_language_links_keep_other_query_parameters(client) -> None:  # type: ignore[no-untyped-def]
    page = _assert_language(client.get("/login?next=/staff&topic=a&topic=b&lang=es"), "es")
    assert set(page.language_links) == set(SUPPORTED_LANGUAGES)
    for code, link in page.language_links.items():
        url = urlsplit(str(link["href"]))
        assert url.path == "/login"
        assert parse_qs(url.query) == {"next": ["/staff"], "topic": ["a", "b"], "lang": [code]}
        assert link["lang"] == code
        assert link["dir"] == SUPPORTED_LANGUAGES[code].direction


@pytest.mark.parametrize("code", list(SUPPORTED_LANGUAGES))
def test_content_language_matches_the_page(client, code: str) -> None:  # type: ignore[no-untyped-def]
    response = client.get(f"/?lang={code}")
    page = _assert_language(response, code)
    assert page.title.startswith(_in(code, "Welcome"))
    assert page.shows(_in(code, "Skip to main content"))


def test_messages_from_python_code_are_translated(client) -> None:  # type: ignore[no-untyped-def]
    form = client.get("/login?lang=es")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    response = client.post(
        "/login",
        data={"csrf_token": token[1], "email": "nobody@example.org", "password": "not-a-password"},
    )
    assert response.status_code == 401
    page = _assert_language(response, "es")
    assert page.shows(
        _in(
            "es",
            "E-mail or password not recognised. After repeated failures, sign-in is paused for "
            "a while.",
        )
    )


def test_error_pages_use_the_chosen_language(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/no-such-page?lang=fr")
    assert response.status_code == 404
    page = _assert_language(response, "fr")
    assert page.shows(_in("fr", "Page not found"))
