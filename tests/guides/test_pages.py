"""Guide pages: public in every language with the right direction, a readable 404, the English
fallback said aloud, and a checklist form that saves only a signed-in defender's own ticks."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hrdshield.app import STATIC_DIR
from hrdshield.guides.loader import CONTENT_DIR, GUIDES, default_library, load_library
from hrdshield.security.rbac import Role
from hrdshield.web.i18n import SUPPORTED_LANGUAGES, translations
from tests import factories

LANGUAGES = tuple(SUPPORTED_LANGUAGES)
ACCOUNTS = "securing-your-account"


class Page(HTMLParser):
    """What the tests read from a rendered page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root: dict[str, str | None] = {}
        self.article: dict[str, str | None] = {}
        self.boxes: dict[str, bool] = {}
        self.links: list[str] = []
        self.forms: list[str] = []
        self.meters: list[dict[str, str | None]] = []
        self.text = ""
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.root = attributes
        elif tag == "article":
            self.article = attributes
        elif tag == "input" and attributes.get("type") == "checkbox":
            self.boxes[str(attributes["value"])] = "checked" in attributes
        elif tag == "a":
            self.links.append(str(attributes.get("href")))
        elif tag == "form":
            self.forms.append(str(attributes.get("action")))
        elif tag == "meter":
            self.meters.append(attributes)

    def handle_data(self, data: str) -> None:
        self.text += " ".join(data.split()) + " "


def _get(client: TestClient, path: str, status: int = 200) -> Page:
    response = client.get(path)
    assert response.status_code == status, response.text[:500]
    return Page(response.text)


def _hrd(client: TestClient, database: Any, role: Role = Role.HRD) -> str:
    with database.session_factory() as session, session.begin():
        user = factories.user(session, role)
    return factories.sign_in(client, user)


def _save(client: TestClient, checked: list[str], slug: str = ACCOUNTS, **extra: Any) -> Any:
    data = {"done": checked, "csrf_token": client.headers.get("x-csrf-token", ""), **extra}
    return client.post(f"/guides/{slug}/progress", data=data, follow_redirects=False)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_list_shows_every_guide_in_the_reader_s_language(client: TestClient, lang: str) -> None:
    page = _get(client, f"/guides?lang={lang}")
    assert page.root == {"lang": lang, "dir": SUPPORTED_LANGUAGES[lang].direction}
    for slug in GUIDES:
        found = default_library().find(slug, lang)
        assert found is not None
        assert not found.fell_back
        assert f"/guides/{slug}" in page.links
        assert " ".join(found.guide.title.split()) in page.text.replace("\u00a0", " ")
    ui = translations(lang)
    assert ui.gettext("Safety guides") in page.text
    assert not page.meters  # nobody is signed in: no progress to show


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("slug", GUIDES)
def test_each_guide_renders_in_each_language(client: TestClient, slug: str, lang: str) -> None:
    page = _get(client, f"/guides/{slug}?lang={lang}")
    direction = SUPPORTED_LANGUAGES[lang].direction
    assert page.root == {"lang": lang, "dir": direction}
    assert page.article == {"class": "guide", "lang": lang, "dir": direction}
    guide = default_library().versions(slug)[lang]
    assert list(page.boxes) == list(guide.item_ids)
    assert not any(page.boxes.values())
    assert not any("/progress" in action for action in page.forms)
    assert f"/login?next=/guides/{slug}" in page.links
    ui = translations(lang)
    assert ui.gettext("Sign in to save your progress") in page.text


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_an_unknown_guide_is_a_readable_404_that_lists_the_guides(
    client: TestClient, lang: str
) -> None:
    page = _get(client, f"/guides/no-such-guide?lang={lang}", status=404)
    assert page.root["lang"] == lang
    assert translations(lang).gettext("Guide not found") in page.text
    assert [link for link in page.links if re.fullmatch(r"/guides/[a-z-]+", link)] == [
        f"/guides/{slug}" for slug in GUIDES
    ]


def test_a_missing_translation_is_shown_in_english_and_says_so(app: Any, tmp_path: Path) -> None:
    root = tmp_path / "guides"  # English and French only
    for lang in ("en", "fr"):
        (root / lang).mkdir(parents=True)
        shutil.copy(CONTENT_DIR / lang / f"{ACCOUNTS}.md", root / lang)
    app.state.guides = load_library(root, slugs=(ACCOUNTS,))
    with TestClient(app) as client:
        page = _get(client, f"/guides/{ACCOUNTS}?lang=ar")
        assert page.root == {"lang": "ar", "dir": "rtl"}
        assert page.article == {"class": "guide", "lang": "en", "dir": "ltr"}
        notice = translations("ar").gettext(
            "This guide is not yet translated into %(language)s. It is shown in English."
        )
        assert notice % {"language": "العربية"} in page.text
        listing = _get(client, "/guides?lang=ar")
        assert (
            translations("ar").gettext(
                "Some guides are not yet translated into %(language)s; they are shown in English."
            )
            % {"language": "العربية"}
            in listing.text
        )
        french = _get(client, f"/guides/{ACCOUNTS}?lang=fr")
        assert french.article["lang"] == "fr"
        assert "translated" not in french.text


def test_a_defender_saves_progress_and_sees_it_everywhere(
    client: TestClient, database: Any
) -> None:
    _hrd(client, database)
    response = _save(client, ["enable-2fa", "password-manager"])
    assert response.status_code == 303
    assert response.headers["location"] == f"/guides/{ACCOUNTS}?saved=1#checklist"

    page = _get(client, f"/guides/{ACCOUNTS}?saved=1&lang=en")
    assert f"/guides/{ACCOUNTS}/progress" in page.forms
    assert {item for item, ticked in page.boxes.items() if ticked} == {
        "enable-2fa",
        "password-manager",
    }
    total = len(default_library().versions(ACCOUNTS)["en"].checklist)
    assert "Your progress is saved." in page.text
    assert f"Done: 2 of {total}" in page.text

    listing = _get(client, "/guides")
    assert f"Done: 2 of {total}" in listing.text
    assert "Done: 0 of" in listing.text  # the other guides
    meter = listing.meters[GUIDES.index(ACCOUNTS)]
    assert (meter["value"], meter["max"], meter["aria-labelledby"]) == (
        "2",
        str(total),
        f"progress-{ACCOUNTS}",
    )

    assert _save(client, ["enable-2fa"]).status_code == 303
    page = _get(client, f"/guides/{ACCOUNTS}")
    assert [item for item, ticked in page.boxes.items() if ticked] == ["enable-2fa"]
    assert "Your progress is saved." not in page.text


def test_progress_in_one_language_shows_in_another(client: TestClient, database: Any) -> None:
    _hrd(client, database)
    client.get("/guides?lang=ru")
    assert _save(client, ["decide-when"], slug="using-lockdown").status_code == 303
    page = _get(client, "/guides/using-lockdown?lang=ar")
    assert page.boxes["decide-when"] is True


def test_a_refused_save_explains_and_changes_nothing(client: TestClient, database: Any) -> None:
    _hrd(client, database)
    _save(client, ["enable-2fa"])
    response = _save(client, ["enable-2fa", "no-such-item"])
    assert response.status_code == 422
    page = Page(response.text)
    assert "This checklist has changed since the page was opened. Nothing was saved." in page.text
    assert [item for item, ticked in page.boxes.items() if ticked] == ["enable-2fa"]
    assert _save(client, ["x" * 500]).status_code == 422
    assert _save(client, ["enable-2fa"], slug="no-such-guide").status_code == 404


def test_a_save_without_the_csrf_token_is_refused(client: TestClient, database: Any) -> None:
    _hrd(client, database)
    del client.headers["x-csrf-token"]
    response = client.post(
        f"/guides/{ACCOUNTS}/progress", data={"done": ["enable-2fa"]}, follow_redirects=False
    )
    assert response.status_code == 403
    assert not any(_get(client, f"/guides/{ACCOUNTS}").boxes.values())


def test_only_defenders_can_save(client: TestClient, database: Any) -> None:
    anonymous = _save(client, ["enable-2fa"], csrf_token=factories.csrf_token(client))
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")

    _hrd(client, database, Role.REVIEWER)
    assert _save(client, ["enable-2fa"]).status_code == 403
    page = _get(client, f"/guides/{ACCOUNTS}?lang=en")
    assert "Progress is saved only for defenders' own accounts." in page.text
    assert not any("/progress" in action for action in page.forms)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_navigation_links_to_the_guides_for_everyone(
    client: TestClient, database: Any, lang: str
) -> None:
    label = translations(lang).gettext("Safety guides")
    response = client.get(f"/?lang={lang}")
    assert re.search(rf'<a href="/guides">{re.escape(label)}</a>', response.text)
    _hrd(client, database)
    response = client.get("/portal")
    assert re.search(rf'<a href="/guides">{re.escape(label)}</a>', response.text)


def _print_rules(css: str) -> dict[str, str]:
    start = css.index("@media print")
    body, depth, index = [], 0, css.index("{", start)
    for index in range(index, len(css)):  # noqa: B020  (walks to the block's closing brace)
        char = css[index]
        depth += {"{": 1, "}": -1}.get(char, 0)
        body.append(char)
        if depth == 0:
            break
    inner = "".join(body)[1:-1]
    return {
        selector.strip(): declarations.strip()
        for selectors, declarations in re.findall(r"([^{}]+)\{([^{}]*)\}", inner)
        for selector in selectors.split(",")
    }


def test_the_print_stylesheet_hides_the_navigation(client: TestClient) -> None:
    rules = _print_rules((STATIC_DIR / "style.css").read_text(encoding="utf-8"))
    for selector in (".site-header", ".site-footer", ".skip-link", ".no-print"):
        assert re.search(r"display:\s*none", rules[selector]), selector
    page = client.get(f"/guides/{ACCOUNTS}").text
    assert '<p class="no-print"><a href="/guides">' in page
    assert '<header class="site-header">' in page


def test_every_link_in_a_guide_leads_to_a_page_of_this_site(client: TestClient) -> None:
    paths = {
        href
        for guide in default_library()
        for href in re.findall(r'href="(/[^"]*)"', str(guide.body_html))
    }
    assert {"/report", "/report/status", "/guides/documenting-attacks"} <= paths
    for path in sorted(paths):
        response = client.get(path, follow_redirects=False)
        assert response.status_code in {200, 303}, path
