"""Canonical forms of protected identifiers, so that the same identifier always hashes the same.

A phone written "+52 55 1234 5678" or "0052-55-1234-5678" must match the one enrolled; text is
NFKC-normalised and case-folded so look-alike forms collapse. The plaintext never leaves here
except as the keyed hash computed by the keyring.
"""

from __future__ import annotations

import re
import unicodedata

import phonenumbers

from hrdshield.defenders.enums import IdentifierKind

_SPACES = re.compile(r"\s+")
_ADDRESS_PUNCTUATION = re.compile(r"[.,;:#'\"()\[\]/\\-]+")
_ID_SEPARATORS = re.compile(r"[\s.\-/]+")
_HANDLE_PREFIX = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:[a-z0-9.-]+\.[a-z]{2,}/)?@?", re.IGNORECASE
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_LENGTH = 300


class InvalidIdentifierError(ValueError):
    """The identifier cannot be put into canonical form (not a phone number, empty, too long)."""


def _text(value: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", value).casefold()).strip()


def canonical(kind: IdentifierKind, value: str, region: str | None = None) -> str:
    """Return the canonical form of `value`; `region` (ISO 3166) helps parse local phone numbers."""
    if not value or len(value) > MAX_LENGTH:
        raise InvalidIdentifierError(f"{kind.value} must have 1 to {MAX_LENGTH} characters")
    if kind is IdentifierKind.PHONE:
        return canonical_phone(value, region)
    text = _text(value)
    if kind is IdentifierKind.EMAIL:
        if not _EMAIL.match(text):
            raise InvalidIdentifierError("not an e-mail address")
        return text
    if kind is IdentifierKind.ADDRESS:
        text = _SPACES.sub(" ", _ADDRESS_PUNCTUATION.sub(" ", text)).strip()
    elif kind is IdentifierKind.NATIONAL_ID:
        text = _ID_SEPARATORS.sub("", text)
    elif kind is IdentifierKind.HANDLE:
        text = _HANDLE_PREFIX.sub("", text).strip("/")
    if not text:
        raise InvalidIdentifierError(f"{kind.value} is empty once normalised")
    return text


def canonical_phone(value: str, region: str | None = None) -> str:
    """Return a phone number in E.164, parsed from any common written form.

    A number written with its country code ("+44 ...", "0044 ...") needs only to be possible.
    One written in national form is read as a number of `region` and must be a valid number
    there: otherwise another country's number written locally (a Kenyan defender's UK mobile
    written "07700 ...") would be kept as a wrong number of `region`, and never match.
    """
    cleaned = unicodedata.normalize("NFKC", value).strip()
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    try:
        number = phonenumbers.parse(cleaned, region.upper() if region else None)
    except phonenumbers.NumberParseException as error:
        raise InvalidIdentifierError("not a phone number") from error
    if not phonenumbers.is_possible_number(number):
        raise InvalidIdentifierError("not a possible phone number")
    international = cleaned.lstrip("( ").startswith("+")
    if not international and not phonenumbers.is_valid_number(number):
        raise InvalidIdentifierError(
            f"not a valid number in {(region or '').upper()}; write it with its country code (+...)"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
