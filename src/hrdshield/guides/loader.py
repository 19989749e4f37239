"""The guides: Markdown files under ``content/<language>/<slug>.md``, checked and rendered once.

Every file is read and rendered when the application starts, so a request never parses Markdown
and a broken file stops start-up (and the tests) instead of showing a defender half a page. The
English text is the reference: a translation carries the same front-matter keys and the same
checklist item ids in the same order, so progress saved in one language shows in every other.
The rules a file must follow are in docs/guides.md; `GuideError` names the file that breaks one.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token
from markupsafe import Markup

from hrdshield.guides.markdown import GuideMarkdown, isolate_latin, render_inline, render_tokens
from hrdshield.guides.models import ITEM_ID_LENGTH
from hrdshield.web.i18n import SUPPORTED_LANGUAGES

CONTENT_DIR = Path(__file__).parent / "content"
REFERENCE_LANGUAGE = "en"
# The order in which the guides are listed. Other parts of the product link to these slugs.
GUIDES = (
    "securing-your-account",
    "responding-to-doxxing",
    "phishing-and-spyware",
    "documenting-attacks",
    "protecting-devices",
    "using-lockdown",
)
FRONT_MATTER_KEYS = ("title", "summary", "reviewed", "applies_to")
# The date of this release of the guide texts. Raise it when the texts are released again: the
# review test then fails for every guide whose `reviewed` date is more than REVIEW_MONTHS older.
# A constant rather than the wall clock, so that the same commit always passes or always fails.
CONTENT_RELEASE = date(2026, 12, 1)
REVIEW_MONTHS = 12
ITEM_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TASK = re.compile(r"\[ \] \{#([^}]*)\} +")
_TASK_ANYWHERE = re.compile(r"\[[ xX]?\] *\{#")


class GuideError(ValueError):
    """A guide file breaks a rule of docs/guides.md; the message names the file and the rule."""


@dataclass(frozen=True)
class ChecklistItem:
    """One thing to do, with its id (the same in every language) and its label as HTML."""

    id: str
    label_html: Markup


@dataclass(frozen=True)
class Guide:
    """One guide in one language, rendered."""

    slug: str
    language: str
    direction: str
    title: str
    summary: str
    reviewed: date
    applies_to: str
    front_matter_keys: tuple[str, ...]
    title_html: Markup
    summary_html: Markup
    applies_to_html: Markup
    body_html: Markup
    checklist_title_html: Markup
    checklist: tuple[ChecklistItem, ...]

    @property
    def item_ids(self) -> tuple[str, ...]:
        """Return the checklist item ids in order."""
        return tuple(item.id for item in self.checklist)


@dataclass(frozen=True)
class Found:
    """A guide as shown to a reader who asked for `requested_language`."""

    guide: Guide
    requested_language: str

    @property
    def fell_back(self) -> bool:
        """Return whether the guide is shown in English because no translation exists."""
        return self.guide.language != self.requested_language


class GuideLibrary:
    """Every guide in every language it exists in, rendered; read-only once built."""

    def __init__(self, guides: Mapping[tuple[str, str], Guide], slugs: Sequence[str]) -> None:
        self._guides = dict(guides)
        self.slugs = tuple(slugs)

    def find(self, slug: str, language: str) -> Found | None:
        """Return the guide `slug` in `language`, or in English if it is not translated."""
        guide = self._guides.get((slug, language)) or self._guides.get((slug, REFERENCE_LANGUAGE))
        return None if guide is None else Found(guide, language)

    def listing(self, language: str) -> list[Found]:
        """Return every guide, in order, in `language` where it exists and English otherwise."""
        return [found for slug in self.slugs if (found := self.find(slug, language))]

    def versions(self, slug: str) -> dict[str, Guide]:
        """Return the guide `slug` in each language it is written in."""
        return {language: guide for (name, language), guide in self._guides.items() if name == slug}

    def __iter__(self) -> Iterator[Guide]:
        return iter(self._guides.values())


def _text_html(text: str, direction: str) -> Markup:
    return Markup(isolate_latin(text) if direction == "rtl" else escapeHtml(text))  # noqa: S704  (escaped above)


def _front_matter(text: str, source: str) -> tuple[dict[str, str], str]:
    if not text.startswith("---\n"):
        raise GuideError(f"{source}: the file must start with a '---' front-matter line")
    end = text.find("\n---\n", 3)
    if end < 0:
        raise GuideError(f"{source}: the front matter has no closing '---' line")
    values: dict[str, str] = {}
    for number, line in enumerate(text[4:end].split("\n"), start=2):
        key, colon, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not colon or not value:
            raise GuideError(f"{source}:{number}: expected 'key: value'")
        if key not in FRONT_MATTER_KEYS:
            raise GuideError(f"{source}:{number}: unknown front-matter key {key!r}")
        if key in values:
            raise GuideError(f"{source}:{number}: {key!r} is given twice")
        values[key] = value
    missing = [key for key in FRONT_MATTER_KEYS if key not in values]
    if missing:
        raise GuideError(f"{source}: front matter lacks {', '.join(missing)}")
    return values, text[end + 5 :]


def _reviewed(value: str, source: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise GuideError(f"{source}: 'reviewed' must be a date such as 2026-11-30") from None


def _checklist_bounds(tokens: Sequence[Token], source: str) -> tuple[int, int]:
    """Return the index of the checklist's heading and of its list's opening token."""
    if not tokens or tokens[-1].type != "bullet_list_close":
        raise GuideError(f"{source}: the guide must end with its checklist, a '- [ ]' list")
    start = max(
        index
        for index, token in enumerate(tokens)
        if token.type == "bullet_list_open" and token.level == 0
    )
    heading = start - 3
    if heading < 0 or tokens[heading].type != "heading_open" or tokens[heading].tag != "h2":
        raise GuideError(f"{source}: the checklist must follow a '## ' heading")
    return heading, start


def _item(tokens: Sequence[Token], source: str) -> tuple[str, list[Token]]:
    """Return the id and the label tokens of one list item (its tokens without the li pair)."""
    kinds = [token.type for token in tokens]
    if kinds != ["paragraph_open", "inline", "paragraph_close"]:
        raise GuideError(f"{source}: each checklist item must be one line of text")
    children = list(tokens[1].children or [])
    first = children[0] if children else None
    match = _TASK.match(first.content) if first is not None and first.type == "text" else None
    if first is None or match is None:
        raise GuideError(f"{source}: checklist items start with '[ ] {{#item-id}} '")
    item_id = match.group(1)
    if not ITEM_ID.fullmatch(item_id) or len(item_id) > ITEM_ID_LENGTH:
        raise GuideError(f"{source}: item id {item_id!r} must be lower-case words joined by '-'")
    if any(child.type in {"link_open", "image"} for child in children):
        raise GuideError(f"{source}: item {item_id!r}: a checklist label cannot hold a link")
    label = first.copy(content=first.content[match.end() :])
    return item_id, [label, *children[1:]]


def _checklist(
    parser: GuideMarkdown, tokens: Sequence[Token], direction: str, source: str
) -> tuple[ChecklistItem, ...]:
    items: list[ChecklistItem] = []
    opened = 0
    for index, token in enumerate(tokens):
        if token.type == "list_item_open" and token.level == 1:
            opened = index
        elif token.type == "list_item_close" and token.level == 1:
            item_id, label = _item(tokens[opened + 1 : index], source)
            if item_id in {item.id for item in items}:
                raise GuideError(f"{source}: item id {item_id!r} is used twice")
            html = render_inline(parser, label, direction=direction)
            items.append(ChecklistItem(item_id, Markup(html)))  # noqa: S704  (renderer escapes)
    return tuple(items)


def parse_guide(
    text: str, *, slug: str, language: str, parser: GuideMarkdown | None = None, source: str = ""
) -> Guide:
    """Parse and render one guide file; raise `GuideError` naming what is wrong."""
    source = source or f"{language}/{slug}.md"
    parser = parser or GuideMarkdown()
    direction = SUPPORTED_LANGUAGES[language].direction
    values, body = _front_matter(text.lstrip("\ufeff").replace("\r\n", "\n"), source)
    tokens = parser.parse(body)
    if any(token.type == "heading_open" and token.tag == "h1" for token in tokens):
        raise GuideError(f"{source}: the title comes from the front matter; use '## ' headings")
    heading, start = _checklist_bounds(tokens, source)
    stray = [t for t in tokens[:start] if t.type == "inline" and _TASK_ANYWHERE.search(t.content)]
    if stray:
        raise GuideError(f"{source}: checklist items must all be in the last list")
    return Guide(
        slug=slug,
        language=language,
        direction=direction,
        title=values["title"],
        summary=values["summary"],
        reviewed=_reviewed(values["reviewed"], source),
        applies_to=values["applies_to"],
        front_matter_keys=tuple(values),
        title_html=_text_html(values["title"], direction),
        summary_html=_text_html(values["summary"], direction),
        applies_to_html=_text_html(values["applies_to"], direction),
        body_html=Markup(render_tokens(parser, tokens[:heading], direction=direction)),  # noqa: S704
        checklist_title_html=Markup(  # noqa: S704  (rendered by the escaping renderer)
            render_inline(parser, tokens[heading + 1].children or [], direction=direction)
        ),
        checklist=_checklist(parser, tokens[start:], direction, source),
    )


def _files(root: Path, slugs: Iterable[str]) -> Iterator[tuple[str, str, Path]]:
    known = set(slugs)
    for folder in sorted(path for path in root.iterdir() if path.is_dir()):
        if folder.name not in SUPPORTED_LANGUAGES:
            raise GuideError(f"{folder.name}/: not an interface language")
        for path in sorted(folder.glob("*.md")):
            if path.stem not in known:
                raise GuideError(f"{folder.name}/{path.name}: not a guide listed in GUIDES")
            yield path.stem, folder.name, path


def load_library(root: Path = CONTENT_DIR, *, slugs: Sequence[str] = GUIDES) -> GuideLibrary:
    """Read, check and render every guide under `root`; raise `GuideError` on the first fault."""
    parser = GuideMarkdown()
    guides = {
        (slug, language): parse_guide(
            path.read_text(encoding="utf-8"),
            slug=slug,
            language=language,
            parser=parser,
            source=f"{language}/{path.name}",
        )
        for slug, language, path in _files(root, slugs)
    }
    for slug in slugs:
        reference = guides.get((slug, REFERENCE_LANGUAGE))
        if reference is None:
            raise GuideError(f"{REFERENCE_LANGUAGE}/{slug}.md: the English original is missing")
        for (name, language), guide in guides.items():
            if name == slug and guide.item_ids != reference.item_ids:
                raise GuideError(
                    f"{language}/{slug}.md: checklist ids differ from the English original"
                )
    return GuideLibrary(guides, slugs)


@cache
def default_library() -> GuideLibrary:
    """Return the guides shipped with HRD Shield, loaded once per process."""
    return load_library()


def months_before(day: date, months: int = REVIEW_MONTHS) -> date:
    """Return the same day `months` calendar months earlier (or that month's last day)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def overdue_for_review(library: GuideLibrary, *, as_of: date = CONTENT_RELEASE) -> list[Guide]:
    """Return the guides last reviewed more than REVIEW_MONTHS before `as_of`, or after it."""
    oldest = months_before(as_of)
    return [guide for guide in library if not oldest <= guide.reviewed <= as_of]
