"""The held-out abuse evaluation set stays well formed, balanced, synthetic and as documented.

The figures the detector reports per language are only as good as this file, and nobody reads 768
lines by eye before every release, so the properties the README promises are checked here.
"""

import collections
import json
import re
import unicodedata
from importlib import resources
from importlib.resources.abc import Traversable

import pytest

LANGUAGES = ("en", "es", "fr", "ar", "ru", "pt")
POSITIVE_KINDS = frozenset(
    {
        "threat",
        "incitement",
        "sexualised",
        "dehumanising",
        "harassment",
        "evasion_leet",
        "evasion_spacing",
        "evasion_homoglyph",
        "evasion_emoji",
        "evasion_misspelling",
        "euphemism",
    }
)
NEGATIVE_KINDS = frozenset(
    {
        "reporting",
        "quoted_abuse",
        "idiom",
        "criticism",
        "news",
        "trash_talk",
        "support",
        "chatter",
    }
)
FIELDS = {"lang": str, "text": str, "label": int, "kind": str, "note": str}
MIN_PER_LANGUAGE = 120

DATA_DIR = resources.files("hrdshield") / "detection" / "evaluation" / "data"
MAIN_FILE = "abuse_eval.jsonl"

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
HANDLE = re.compile(r"@(\w*)")
LINK = re.compile(
    r"https?:|ftp:|www\.|\b[a-z0-9-]+\.(?:com|org|net|info|io|gov|edu|ru|br|pt|fr|es|mx|ar|co|cl|"
    r"eg|sa|ma|uk|de|me|ly|gl|be|ca)\b",
    re.IGNORECASE,
)
DIGIT_RUN = re.compile(r"\+?\d[\d\s().-]*\d")
PLACEHOLDERS = re.compile(r"@user\b|\bURL\b")


def _data_files() -> list[Traversable]:
    return sorted(
        (f for f in DATA_DIR.iterdir() if f.name.endswith(".jsonl")), key=lambda f: f.name
    )


def _read(file: Traversable) -> list[dict[str, object]]:
    return [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines()]


def _main_rows() -> list[dict[str, object]]:
    return _read(DATA_DIR / MAIN_FILE)


def _scripts(text: str) -> set[str]:
    letters = PLACEHOLDERS.sub(" ", text)
    return {unicodedata.name(ch, "?").split()[0] for ch in letters if ch.isalpha()}


def _normalised(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def test_the_main_file_and_its_readme_are_shipped() -> None:
    names = {f.name for f in DATA_DIR.iterdir()}
    assert {MAIN_FILE, "README.md"} <= names


@pytest.mark.parametrize("file", _data_files(), ids=lambda f: f.name)
def test_every_line_is_a_json_object_with_exactly_the_fields(file: Traversable) -> None:
    lines = file.read_text(encoding="utf-8").splitlines()
    assert lines
    for number, line in enumerate(lines, 1):
        row = json.loads(line)
        assert isinstance(row, dict), number
        assert set(row) == set(FIELDS), (number, sorted(row))
        for field, kind in FIELDS.items():
            assert type(row[field]) is kind, (number, field)
        assert row["lang"] in LANGUAGES, number
        assert row["label"] in {0, 1}, number
        assert row["text"].strip() == row["text"], number
        assert row["text"], number
        assert row["note"].strip(), number
        assert unicodedata.is_normalized("NFC", row["text"]), number


@pytest.mark.parametrize("file", _data_files(), ids=lambda f: f.name)
def test_kinds_are_known_and_agree_with_the_label(file: Traversable) -> None:
    for number, row in enumerate(_read(file), 1):
        allowed = POSITIVE_KINDS if row["label"] == 1 else NEGATIVE_KINDS
        assert row["kind"] in allowed, (number, row["label"], row["kind"])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_language_has_enough_lines_with_both_labels_balanced(lang: str) -> None:
    labels = [row["label"] for row in _main_rows() if row["lang"] == lang]
    assert len(labels) >= MIN_PER_LANGUAGE
    share = sum(labels) / len(labels)
    assert 0.4 <= share <= 0.6, share


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_language_covers_every_kind(lang: str) -> None:
    kinds = {row["kind"] for row in _main_rows() if row["lang"] == lang}
    assert kinds == POSITIVE_KINDS | NEGATIVE_KINDS


def test_no_text_appears_twice_in_any_file() -> None:
    seen: dict[str, str] = {}
    for file in _data_files():
        for number, row in enumerate(_read(file), 1):
            key = _normalised(str(row["text"]))
            where = f"{file.name}:{number}"
            assert key not in seen, (where, seen.get(key))
            seen[key] = where


@pytest.mark.parametrize("file", _data_files(), ids=lambda f: f.name)
def test_no_contact_data_only_placeholders(file: Traversable) -> None:
    for number, row in enumerate(_read(file), 1):
        text = str(row["text"])
        assert not EMAIL.search(text), (number, text)
        assert not LINK.search(text), (number, text)
        assert all(handle == "user" for handle in HANDLE.findall(text)), (number, text)
        for run in DIGIT_RUN.findall(text):
            assert sum(ch.isdigit() for ch in run) < 7, (number, run)


def test_homoglyph_lines_really_mix_scripts() -> None:
    rows = [row for row in _main_rows() if row["kind"] == "evasion_homoglyph"]
    assert rows
    for row in rows:
        text = str(row["text"])
        if row["lang"] == "ar":
            # Persian letters (U+06A9 keheh, U+06CC Farsi yeh) among Arabic ones.
            assert any("\u0671" <= ch <= "\u06ff" for ch in text), text
        else:
            assert {"LATIN", "CYRILLIC"} <= _scripts(text), text


def _readme_table() -> dict[str, list[int]]:
    """Read the kinds-by-language table of the README: kind (or "total") to its counts."""
    lines = (DATA_DIR / "README.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| kind | label |"))
    table: dict[str, list[int]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        table[cells[0].strip("`")] = [int(cell) for cell in cells[2:]]
    return table


def test_readme_counts_match_the_file() -> None:
    rows = _main_rows()
    by_kind = collections.Counter((row["kind"], row["lang"]) for row in rows)
    by_language = collections.Counter(row["lang"] for row in rows)
    table = _readme_table()
    assert set(table) == POSITIVE_KINDS | NEGATIVE_KINDS | {"total"}
    for kind in POSITIVE_KINDS | NEGATIVE_KINDS:
        expected = [by_kind[kind, lang] for lang in LANGUAGES]
        assert table[kind] == [*expected, sum(expected)], kind
    assert table["total"] == [*(by_language[lang] for lang in LANGUAGES), len(rows)]
