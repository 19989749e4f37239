"""Canonical forms of protected identifiers: every written form of one identifier hashes alike."""

from __future__ import annotations

import re

import phonenumbers
import pytest

from hrdshield.defenders.enums import IdentifierKind
from hrdshield.defenders.identifiers import (
    MAX_LENGTH,
    InvalidIdentifierError,
    canonical,
    canonical_phone,
)

# Ofcom's drama range in London (020 7946 0xxx): valid numbers that are reserved for fiction.
UK_PHONE_FORMS = [
    ("+44 20 7946 0456", None),
    ("+442079460456", None),
    ("0044-20-7946-0456", None),
    ("0044 20 7946 0456", None),
    ("+44 (0)20 7946 0456", None),
    ("020 7946 0456", "GB"),
    ("02079460456", "gb"),
    ("(020) 7946-0456", "GB"),
    ("+44 20 7946 0456", "MX"),  # an international form ignores the region
    ("\uff0b\uff14\uff14 20 7946 0456", None),  # full-width plus and digits (NFKC)
]


def _same(kind: IdentifierKind, forms: list[str]) -> None:
    results = {canonical(kind, form) for form in forms}
    assert len(results) == 1, results


@pytest.mark.parametrize(("written", "region"), UK_PHONE_FORMS)
def test_every_written_form_of_a_phone_is_the_same_number(written: str, region: str | None) -> None:
    reference = canonical_phone(*UK_PHONE_FORMS[0])
    assert canonical(IdentifierKind.PHONE, written, region=region) == reference


def test_phones_come_out_in_e164() -> None:
    for written, region in UK_PHONE_FORMS:
        result = canonical_phone(written, region)
        assert re.fullmatch(r"\+[1-9]\d{6,14}", result)
        assert (
            phonenumbers.format_number(
                phonenumbers.parse(result), phonenumbers.PhoneNumberFormat.E164
            )
            == result
        )


def test_different_numbers_stay_different() -> None:
    assert canonical_phone("+44 7700 900456") != canonical_phone("+44 7700 900457")
    # National digits are read in the region given: a London number, an Australian one.
    assert canonical_phone("020 7946 0456", "GB") == "+442079460456"
    assert canonical_phone("(02) 5550 1234", "AU") == "+61255501234"


def test_a_national_form_must_be_a_valid_number_of_the_region() -> None:
    # A Kenyan defender's UK mobile written the British way is not a Kenyan number: refusing it
    # asks for the country code, instead of keeping +254 7700... that would never match.
    with pytest.raises(InvalidIdentifierError, match=r"valid number in KE.*country code"):
        canonical_phone("07700 900123", "KE")
    with pytest.raises(InvalidIdentifierError, match="valid number in KE"):
        canonical_phone("020 7946 0456", "KE")
    assert canonical_phone("+44 7700 900123", "KE") == "+447700900123"
    assert canonical_phone("0044 7700 900123", "KE") == "+447700900123"
    # Numbers written with a country code need only be possible (fiction ranges included).
    assert canonical_phone("+1 555 0100") == "+15550100"


@pytest.mark.parametrize(
    ("written", "region"),
    [
        ("07700 900456", None),  # a national form needs the region
        ("not a phone", None),
        ("+44", None),
        ("+44 7700 900456 123456789012345", None),
        ("", "GB"),
        ("+" + "1" * MAX_LENGTH, None),
    ],
)
def test_impossible_phones_are_refused(written: str, region: str | None) -> None:
    with pytest.raises(InvalidIdentifierError):
        canonical(IdentifierKind.PHONE, written, region=region)


def test_emails_fold_case_width_and_spaces() -> None:
    _same(
        IdentifierKind.EMAIL,
        [
            "amara@example.test",
            "Amara@Example.TEST",
            "  amara@example.test\t",
            "\uff41\uff4d\uff41\uff52\uff41@example.test",  # full-width letters
        ],
    )


@pytest.mark.parametrize("written", ["amara", "amara@", "@example.test", "a b@example.test", " "])
def test_non_emails_are_refused(written: str) -> None:
    with pytest.raises(InvalidIdentifierError):
        canonical(IdentifierKind.EMAIL, written)


def test_handles_lose_at_signs_urls_and_case() -> None:
    _same(
        IdentifierKind.HANDLE,
        [
            "amara_k",
            "@amara_k",
            "@Amara_K",
            "https://platform.example/amara_k",
            "http://www.platform.example/@amara_k/",
            "platform.example/amara_k",
            "\uff20amara_k",  # full-width at sign
        ],
    )
    handle = IdentifierKind.HANDLE
    assert canonical(handle, "@amara_k") != canonical(handle, "@amara")


@pytest.mark.parametrize("written", ["@", "https://platform.example/", "   ", "/"])
def test_handles_that_are_empty_once_normalised_are_refused(written: str) -> None:
    with pytest.raises(InvalidIdentifierError):
        canonical(IdentifierKind.HANDLE, written)


def test_addresses_ignore_punctuation_spacing_and_case() -> None:
    _same(
        IdentifierKind.ADDRESS,
        [
            "12 Example Street, Flat 3, Nairobi",
            "12 example street flat 3 nairobi",
            "12  Example Street -- Flat #3; Nairobi.",
        ],
    )


def test_national_ids_ignore_separators() -> None:
    _same(IdentifierKind.NATIONAL_ID, ["AB-123.456/7", "ab 123 456 7", "AB1234567"])


def test_case_folding_merges_only_what_unicode_folds() -> None:
    # Case folding must not merge distinct letters: German sharp s folds to "ss" by design.
    assert canonical(IdentifierKind.HANDLE, "STRASSE") == canonical(IdentifierKind.HANDLE, "straße")
    assert canonical(IdentifierKind.HANDLE, "amara") != canonical(IdentifierKind.HANDLE, "amára")


@pytest.mark.parametrize("kind", list(IdentifierKind))
def test_every_kind_refuses_empty_and_oversize_values(kind: IdentifierKind) -> None:
    with pytest.raises(InvalidIdentifierError):
        canonical(kind, "")
    with pytest.raises(InvalidIdentifierError):
        canonical(kind, "a" * (MAX_LENGTH + 1))
