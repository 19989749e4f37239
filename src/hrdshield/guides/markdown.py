"""The safe Markdown of the guides: CommonMark with raw HTML off, links to https or this site.

Guides are written and translated by people and opened by defenders under attack, so a slip in
a text file must never reach the page as markup: raw HTML is shown as text, an image is shown as
its description (nothing is loaded from elsewhere), and a link is kept only when it goes to an
https address or to a path on this site. In right-to-left text, every run of Latin letters
(product names, addresses, "2FA") is isolated in ``<bdi dir="ltr">`` so that the words and the
punctuation around it keep their order. This module must never let an attribute or tag through
that the renderer did not write itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, cast
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

# A "word" of Latin script, digits and the punctuation found inside names, paths and addresses;
# a run is such words separated by single spaces. The run must hold at least one Latin letter.
_LATIN_WORD = r"/?[A-Za-z0-9][A-Za-z0-9._@#/:+\-]*[A-Za-z0-9/]|/?[A-Za-z]"
_LATIN_RUN = re.compile(rf"(?:{_LATIN_WORD})(?: (?:{_LATIN_WORD}))*")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def safe_link(url: str) -> bool:
    """Return whether a guide may link to `url`: an https address or a path on this site."""
    if not url or _CONTROL.search(url) or "\\" in url:
        return False
    if url.startswith("#"):
        return True
    if url.startswith("/"):
        return not url.startswith("//")
    parts = urlsplit(url)
    return parts.scheme.lower() == "https" and bool(parts.hostname)


def isolate_latin(text: str) -> str:
    """Escape `text` and wrap each run of Latin script in a left-to-right isolate."""
    pieces: list[str] = []
    position = 0
    for match in _LATIN_RUN.finditer(text):
        if not _LATIN_LETTER.search(match.group()):
            continue  # numbers alone read correctly in right-to-left text
        pieces.append(escapeHtml(text[position : match.start()]))
        pieces.append(f'<bdi dir="ltr">{escapeHtml(match.group())}</bdi>')
        position = match.end()
    pieces.append(escapeHtml(text[position:]))
    return "".join(pieces)


class GuideRenderer(RendererHTML):
    """HTML renderer that writes only markup it chose; text is always escaped."""

    def text(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        """Escape text, isolating Latin runs when the guide reads right to left."""
        content = tokens[idx].content
        return isolate_latin(content) if env.get("direction") == "rtl" else escapeHtml(content)

    def code_inline(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        """Write inline code, always left to right."""
        return f'<code dir="ltr">{escapeHtml(tokens[idx].content)}</code>'

    def code_block(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        """Write an indented code block, always left to right."""
        return f'<pre dir="ltr"><code>{escapeHtml(tokens[idx].content)}</code></pre>\n'

    def fence(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        """Write a fenced code block like an indented one; the info string is dropped."""
        return self.code_block(tokens, idx, options, env)

    def image(self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
        """Write an image as its description: a guide loads nothing from anywhere."""
        return escapeHtml(self.renderInlineAsText(tokens[idx].children or [], options, env))

    def html_inline(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        """Show raw HTML as text (the parser is set not to produce it; this is the second lock)."""
        return escapeHtml(tokens[idx].content)

    def html_block(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        """Show a raw HTML block as a paragraph of text."""
        return f"<p>{escapeHtml(tokens[idx].content)}</p>\n"

    def link_open(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        """Write a link with only its address, checked again here; other sites get a marker."""
        href = str(tokens[idx].attrGet("href") or "")
        if not safe_link(href):  # the parser already refused it; never write it regardless
            return "<a>"
        external = ' class="external" rel="noreferrer"' if href[:6].lower() == "https:" else ""
        return f'<a href="{escapeHtml(href)}"{external}>'


class GuideMarkdown(MarkdownIt):
    """CommonMark without raw HTML, with the link policy of `safe_link`."""

    def __init__(self) -> None:
        super().__init__(
            "commonmark",
            {"html": False, "linkify": False, "typographer": False},
            renderer_cls=GuideRenderer,
        )

    def validateLink(self, url: str) -> bool:  # noqa: N802  (markdown-it's name for the hook)
        """Keep only links that `safe_link` allows; others stay as plain text."""
        return safe_link(url)


def render_tokens(parser: GuideMarkdown, tokens: Sequence[Token], *, direction: str) -> str:
    """Render block tokens to HTML for a guide written in `direction`."""
    env: dict[str, Any] = {"direction": direction}
    html: str = parser.renderer.render(tokens, parser.options, env)
    return html


def render_inline(parser: GuideMarkdown, children: Sequence[Token], *, direction: str) -> str:
    """Render the inline tokens of one line (a checklist item) to HTML."""
    env: dict[str, Any] = {"direction": direction}
    renderer = cast(GuideRenderer, parser.renderer)  # the class GuideMarkdown.__init__ sets
    return renderer.renderInline(children, parser.options, env)


def render(text: str, *, direction: str = "ltr") -> str:
    """Render a Markdown text with the guides' rules (for callers outside the loader and tests)."""
    parser = GuideMarkdown()
    return render_tokens(parser, parser.parse(text), direction=direction)
