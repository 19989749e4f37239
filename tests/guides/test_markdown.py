"""Hostile Markdown: whatever a guide file holds, the page gets only markup the renderer wrote.

Each output is parsed as HTML and checked against the few tags and attributes the renderer
writes itself, so a new trick fails here even if no string below names it.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from hrdshield.guides.markdown import isolate_latin, render, safe_link

ALLOWED_TAGS = {
    "p", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "strong", "em", "code", "pre",
    "blockquote", "a", "bdi", "br", "hr",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"href", "class", "rel", "dir", "start"}

HOSTILE = [
    "<script>alert(1)</script>",
    "Text <img src=x onerror=alert(1)> more",
    "<iframe src='https://evil.example/'></iframe>",
    '<a href="javascript:alert(1)">raw link</a>',
    "<style>body{display:none}</style>",
    "[click](javascript:alert(1))",
    "[click](JAVASCRIPT:alert(1))",
    "[click](  javascript:alert(1)  )",
    "[click](java&#x09;script:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](//evil.example/path)",
    "[click](/\\evil.example)",
    "[click](http://plain.example/)",
    "[click](file:///etc/passwd)",
    "<javascript:alert(1)>",
    "<http://plain.example/>",
    "[ref][1]\n\n[1]: javascript:alert(1)",
    '[title](https://ok.example/ "x\\" onmouseover=\\"alert(1)")',
    "![tracker](https://tracker.example/pixel.png)",
    '![x" onerror="alert(1)](/static/x.png)',
    "[![img](https://tracker.example/p.png)](https://ok.example/)",
    "```html\n<script>alert(1)</script>\n```",
    "    <script>indented code</script>",
    "`<script>inline code</script>`",
    "<!-- comment --> after",
    "<div onclick='alert(1)'>\n\nblock\n\n</div>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "<svg><script>alert(1)</script></svg>",
    "[x](https://ok.example/\u0000evil)",
]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.tags


@pytest.mark.parametrize("direction", ["ltr", "rtl"])
@pytest.mark.parametrize("source", HOSTILE)
def test_hostile_markdown_yields_only_the_renderer_s_own_markup(
    source: str, direction: str
) -> None:
    html = render(source, direction=direction)
    for tag, attributes in _tags(html):
        assert tag in ALLOWED_TAGS, f"{tag} from {source!r}: {html}"
        assert set(attributes) <= ALLOWED_ATTRIBUTES, f"{attributes} from {source!r}: {html}"
        href = attributes.get("href")
        if tag == "a" and href is not None:
            assert safe_link(href), f"{href!r} from {source!r}"
            assert href.startswith(("https://", "/"))
            assert not href.startswith("//")
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()


def test_raw_html_is_shown_as_text() -> None:
    html = render("Text <b>bold</b> and <script>x</script>")
    assert html == "<p>Text &lt;b&gt;bold&lt;/b&gt; and &lt;script&gt;x&lt;/script&gt;</p>\n"


def test_refused_links_stay_as_plain_text_and_good_links_are_kept() -> None:
    assert render("[click](javascript:alert(1))") == "<p>[click](javascript:alert(1))</p>\n"
    assert render("[report](/report)") == '<p><a href="/report">report</a></p>\n'
    assert render("[help](https://help.example/)") == (
        '<p><a href="https://help.example/" class="external" rel="noreferrer">help</a></p>\n'
    )


def test_an_image_shows_its_description_and_loads_nothing() -> None:
    assert render("![a <b>chart</b>](https://tracker.example/p.png)") == (
        "<p>a &lt;b&gt;chart&lt;/b&gt;</p>\n"
    )


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://help.example/", True),
        ("HTTPS://help.example/", True),
        ("/guides/using-lockdown", True),
        ("#checklist", True),
        ("https:///no-host", False),
        ("http://plain.example/", False),
        ("//evil.example/", False),
        ("/\\evil.example", False),
        ("javascript:alert(1)", False),
        ("mailto:someone@example.org", False),
        ("guides/relative", False),
        ("https://help.example/a b", False),
        ("", False),
    ],
)
def test_safe_link(url: str, allowed: bool) -> None:
    assert safe_link(url) is allowed


def test_latin_runs_are_isolated_in_right_to_left_text() -> None:
    assert isolate_latin("افتحوا /report/status الآن") == (
        'افتحوا <bdi dir="ltr">/report/status</bdi> الآن'
    )
    assert isolate_latin("مثل Ente Auth، أو 2FA.") == (
        'مثل <bdi dir="ltr">Ente Auth</bdi>، أو <bdi dir="ltr">2FA</bdi>.'
    )
    assert isolate_latin("خلال 24 ساعة <ب>") == "خلال 24 ساعة &lt;ب&gt;"  # numbers alone stay
    assert isolate_latin("<b>") == '&lt;<bdi dir="ltr">b</bdi>&gt;'  # escaped, never markup
    rtl = render("نص `code` و[رابط](https://help.example/) HRD Shield", direction="rtl")
    assert '<code dir="ltr">code</code>' in rtl
    assert '<bdi dir="ltr">HRD Shield</bdi>' in rtl
    assert "<bdi" not in render("HRD Shield", direction="ltr")
