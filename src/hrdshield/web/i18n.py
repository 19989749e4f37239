"""Languages of the interface, chosen per request: ``?lang=``, then a cookie, then the browser.

Catalogs are gettext ``.po`` files compiled in memory at start-up, so a fresh checkout needs no
build step and translators edit one plain-text file per language.
"""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
LANGUAGE_COOKIE = "hrdshield_lang"


@dataclass(frozen=True)
class Language:
    """A supported interface language."""

    code: str
    name: str  # in the language itself
    direction: str  # "ltr" or "rtl"


SUPPORTED_LANGUAGES: dict[str, Language] = {
    "en": Language("en", "English", "ltr"),
    "es": Language("es", "Español", "ltr"),
    "fr": Language("fr", "Français", "ltr"),
    "ar": Language("ar", "العربية", "rtl"),
    "ru": Language("ru", "Русский", "ltr"),
    "pt": Language("pt", "Português", "ltr"),
}


@cache
def translations(code: str) -> gettext.NullTranslations:
    """Return the compiled catalog for `code` (English is the source language)."""
    path = LOCALES_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    if code == "en" or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=code)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def parse_accept_language(header: str) -> list[str]:
    """Return language codes from an Accept-Language header, best first."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:20]):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for parameter in pieces[1:]:
            name, _, value = parameter.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(
    query: str | None, cookie: str | None, accept_language: str | None, default: str = "en"
) -> str:
    """Pick the interface language for a request."""
    for candidate in (query, cookie):
        if candidate and candidate in SUPPORTED_LANGUAGES:
            return candidate
    for tag in parse_accept_language(accept_language or ""):
        primary = tag.split("-")[0]
        if primary in SUPPORTED_LANGUAGES:
            return primary
    return default
