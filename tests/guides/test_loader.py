"""The shipped guides are complete, consistent across languages and current; the loader refuses
files that break the rules of docs/guides.md, and falls back to English when a translation is
missing."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from hrdshield.guides.loader import (
    CONTENT_DIR,
    CONTENT_RELEASE,
    FRONT_MATTER_KEYS,
    GUIDES,
    REFERENCE_LANGUAGE,
    GuideError,
    GuideLibrary,
    load_library,
    months_before,
    overdue_for_review,
    parse_guide,
)
from hrdshield.guides.service import DEFAULT_GUIDE, DETECTOR_GUIDES, guide_for
from hrdshield.web.i18n import SUPPORTED_LANGUAGES

LANGUAGES = tuple(SUPPORTED_LANGUAGES)
# Outside <bdi> and <code>, right-to-left text must hold no Latin letters: each run is isolated.
_ISOLATED = re.compile(r"<bdi dir=\"ltr\">.*?</bdi>|<code dir=\"ltr\">.*?</code>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_LATIN = re.compile(r"[A-Za-z]")
_HREF = re.compile(r'href="([^"]*)"')
SCRIPT_OF = {
    "ar": re.compile(r"[\u0621-\u064a]"),
    "ru": re.compile(r"[\u0410-\u044f\u0401\u0451]"),
}

GOOD = """---
title: A test guide
summary: What the test guide is for.
reviewed: 2026-11-01
applies_to: Tests
---

## Why

Because.

1. First.
2. Second.

## Checklist

- [ ] {#first-item} Do the *first* thing.
- [ ] {#second-item} Do the second thing.
"""


@pytest.fixture(scope="module")
def library() -> GuideLibrary:
    """Load the guides shipped with HRD Shield (fresh, not the cached copy)."""
    return load_library()


def test_every_guide_exists_in_every_language(library: GuideLibrary) -> None:
    for slug in GUIDES:
        assert set(library.versions(slug)) == set(LANGUAGES), slug
    files = {path.relative_to(CONTENT_DIR).as_posix() for path in CONTENT_DIR.rglob("*.md")}
    assert files == {f"{lang}/{slug}.md" for lang in LANGUAGES for slug in GUIDES}


@pytest.mark.parametrize("slug", GUIDES)
def test_translations_have_the_same_checklist_ids_and_front_matter(
    library: GuideLibrary, slug: str
) -> None:
    versions = library.versions(slug)
    reference = versions[REFERENCE_LANGUAGE]
    assert len(reference.checklist) >= 5
    for language, guide in versions.items():
        assert guide.item_ids == reference.item_ids, language
        assert guide.front_matter_keys == FRONT_MATTER_KEYS, language
        assert guide.direction == SUPPORTED_LANGUAGES[language].direction


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_guide_has_a_why_numbered_steps_and_a_checklist(
    library: GuideLibrary, language: str
) -> None:
    for slug in GUIDES:
        guide = library.versions(slug)[language]
        body = str(guide.body_html)
        assert body.startswith("<h2>"), f"{language}/{slug}: no opening section"
        assert "<p>" in body, f"{language}/{slug}: no explanation"
        assert "<ol>" in body, f"{language}/{slug}: no numbered steps"
        assert all(item.label_html.strip() for item in guide.checklist)
        assert guide.title
        assert guide.summary
        assert guide.applies_to


@pytest.mark.parametrize("language", sorted(SCRIPT_OF))
def test_translations_are_written_in_their_script(library: GuideLibrary, language: str) -> None:
    for slug in GUIDES:
        guide = library.versions(slug)[language]
        for text in (guide.title, guide.summary, *(str(i.label_html) for i in guide.checklist)):
            assert SCRIPT_OF[language].search(text), f"{language}/{slug}: {text!r}"


def test_arabic_guides_isolate_every_latin_run(library: GuideLibrary) -> None:
    for slug in GUIDES:
        guide = library.versions(slug)["ar"]
        parts = [guide.title_html, guide.summary_html, guide.applies_to_html, guide.body_html]
        parts += [item.label_html for item in guide.checklist]
        for part in parts:
            visible = _TAG.sub("", _ISOLATED.sub("", str(part)))
            assert not _LATIN.search(visible), f"ar/{slug}: bare Latin in {visible[:200]!r}"
    assert '<bdi dir="ltr">HRD Shield</bdi>' in str(
        library.versions("using-lockdown")["ar"].body_html
    )


def test_reviewed_dates_are_within_twelve_months_of_the_content_release(
    library: GuideLibrary,
) -> None:
    overdue = [f"{g.language}/{g.slug} ({g.reviewed})" for g in overdue_for_review(library)]
    assert not overdue, f"review these guides again and update 'reviewed': {overdue}"


def test_review_window_catches_old_and_future_dates(library: GuideLibrary) -> None:
    everyone = len(list(library))
    two_years_on = CONTENT_RELEASE.replace(year=CONTENT_RELEASE.year + 2)
    assert len(overdue_for_review(library, as_of=two_years_on)) == everyone
    long_ago = CONTENT_RELEASE.replace(year=CONTENT_RELEASE.year - 2)
    assert len(overdue_for_review(library, as_of=long_ago)) == everyone  # reviewed "in future"


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 1), date(2025, 12, 1)),
        (date(2028, 2, 29), date(2027, 2, 28)),
        (date(2026, 3, 31), date(2025, 3, 31)),
    ],
)
def test_months_before(day: date, expected: date) -> None:
    assert months_before(day) == expected
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)


def test_links_go_to_other_guides_this_site_or_https(library: GuideLibrary) -> None:
    for guide in library:
        for href in _HREF.findall(str(guide.body_html)):
            where = f"{guide.language}/{guide.slug}: {href}"
            if href.startswith("/guides/"):
                assert href.removeprefix("/guides/") in GUIDES, where
            else:
                assert href.startswith(("/", "https://")), where


def test_every_detector_kind_points_to_a_shipped_guide() -> None:
    assert set(DETECTOR_GUIDES.values()) | {DEFAULT_GUIDE} <= set(GUIDES)
    assert guide_for("doxxing") == "responding-to-doxxing"
    assert guide_for("account_takeover") == "securing-your-account"
    assert guide_for("impersonation") == "securing-your-account"
    assert guide_for("malicious_link") == "phishing-and-spyware"
    assert guide_for("shutdown") == "protecting-devices"
    for kind in ("targeted_abuse", "pile_on", "smear_campaign", "mass_reporting"):
        assert guide_for(kind) == "documenting-attacks"
    assert guide_for("a_kind_added_later") == DEFAULT_GUIDE


def test_a_good_file_parses() -> None:
    guide = parse_guide(GOOD, slug="test", language="en")
    assert guide.item_ids == ("first-item", "second-item")
    assert str(guide.checklist[0].label_html) == "Do the <em>first</em> thing."
    assert str(guide.checklist_title_html) == "Checklist"
    assert "Checklist" not in str(guide.body_html)  # the checklist is rendered as a form
    assert guide.reviewed == date(2026, 11, 1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.replace("---\ntitle", "title", 1), "must start with"),
        (lambda t: t.replace("applies_to: Tests\n---", "applies_to: Tests\n"), "no closing"),
        (lambda t: t.replace("applies_to: Tests\n", ""), "lacks applies_to"),
        (lambda t: t.replace("applies_to: Tests", "applies_to: Tests\nauthor: X"), "unknown"),
        (lambda t: t.replace("applies_to: Tests", "applies_to: Tests\ntitle: B"), "twice"),
        (lambda t: t.replace("summary: What", "summary What"), "key: value"),
        (lambda t: t.replace("2026-11-01", "last week"), "must be a date"),
        (lambda t: t.replace("## Why", "# Why"), "## "),
        (lambda t: t.replace("## Checklist\n", "Checklist:\n"), "follow a '## ' heading"),
        (lambda t: t + "\nA closing paragraph.\n", "must end with its checklist"),
        (lambda t: t.replace("{#second-item}", "{#first-item}"), "used twice"),
        (lambda t: t.replace("{#second-item}", "{#Second_Item}"), "lower-case"),
        (lambda t: t.replace("- [ ] {#second-item} Do", "- Do"), "start with"),
        (lambda t: t.replace("the second thing", "[a link](/report)"), "cannot hold a link"),
        (lambda t: t.replace("Because.", "- [ ] {#stray} Stray item.\n"), "last list"),
        (lambda t: t.replace("thing.\n- [ ]", "thing.\n\n  More.\n- [ ]", 1), "one line"),
    ],
)
def test_bad_files_are_refused_with_a_reason(change: object, message: str) -> None:
    text = change(GOOD)  # type: ignore[operator]
    with pytest.raises(GuideError, match=re.escape(message)):
        parse_guide(text, slug="test", language="en")


def _write(root: Path, language: str, slug: str, text: str = GOOD) -> None:
    (root / language).mkdir(parents=True, exist_ok=True)
    (root / language / f"{slug}.md").write_text(text, encoding="utf-8")


def test_a_missing_translation_falls_back_to_english(tmp_path: Path) -> None:
    _write(tmp_path, "en", "one")
    _write(tmp_path, "fr", "one", GOOD.replace("A test guide", "Un guide d'essai"))
    _write(tmp_path, "en", "two")
    library = load_library(tmp_path, slugs=("one", "two"))
    found = library.find("one", "fr")
    assert found is not None
    assert not found.fell_back
    assert found.guide.title == "Un guide d'essai"
    found = library.find("one", "ar")
    assert found is not None
    assert found.fell_back
    assert found.guide.language == "en"
    assert [f.guide.slug for f in library.listing("fr")] == ["one", "two"]
    assert [f.fell_back for f in library.listing("fr")] == [False, True]
    assert library.find("three", "en") is None


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("fr", "one")], "English original is missing"),
        ([("en", "one"), ("xx", "one")], "not an interface language"),
        ([("en", "one"), ("en", "other")], "not a guide listed"),
        (
            [("en", "one"), ("es", "one", GOOD.replace("{#second-item}", "{#other-item}"))],
            "checklist ids differ",
        ),
    ],
)
def test_a_broken_content_folder_is_refused(
    tmp_path: Path, files: list[tuple[str, ...]], message: str
) -> None:
    for language, slug, *text in files:
        _write(tmp_path, language, slug, *text)
    with pytest.raises(GuideError, match=message):
        load_library(tmp_path, slugs=("one",))
