"""Password hashing (argon2id) and TOTP codes."""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp
import pytest
from argon2 import PasswordHasher

from hrdshield import clock
from hrdshield.security import passwords, totp


def test_passwords_are_hashed_with_argon2id() -> None:
    hashed = passwords.hash_password("a long enough passphrase")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify_password(hashed, "a long enough passphrase")
    assert not passwords.verify_password(hashed, "a long enough passphrasE")


@pytest.mark.parametrize("weak", ["", "short", "elevenchars"])
def test_short_passwords_are_refused(weak: str) -> None:
    with pytest.raises(passwords.WeakPasswordError):
        passwords.hash_password(weak)


def test_absurdly_long_passwords_are_refused_without_hashing() -> None:
    hashed = passwords.hash_password("a long enough passphrase")
    assert not passwords.verify_password(hashed, "x" * 5000)
    with pytest.raises(passwords.WeakPasswordError):
        passwords.hash_password("x" * 5000)


@pytest.mark.parametrize("stored", [None, "", "not-a-hash", "$argon2id$broken"])
def test_missing_or_corrupt_hashes_never_verify(stored: str | None) -> None:
    assert not passwords.verify_password(stored, "anything at all")


def test_weaker_parameters_are_flagged_for_rehash() -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8192).hash("a long enough passphrase")
    assert passwords.needs_rehash(old)
    assert not passwords.needs_rehash(passwords.hash_password("a long enough passphrase"))


AT = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


def test_current_and_adjacent_codes_are_accepted_once() -> None:
    secret = totp.new_secret()
    with clock.frozen(AT):
        step = int(AT.timestamp()) // 30
        code = pyotp.TOTP(secret).at(AT)
        assert totp.verify(secret, code, None) == step
        assert totp.verify(secret, code, step) is None  # replay refused
        previous = totp.code_at(secret, step - 1)
        assert totp.verify(secret, previous, None) == step - 1
        assert totp.verify(secret, totp.code_at(secret, step - 3), None) is None


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes_are_refused(code: str) -> None:
    assert totp.verify(totp.new_secret(), code, None) is None


def test_codes_with_spaces_are_accepted() -> None:
    secret = totp.new_secret()
    with clock.frozen(AT):
        code = totp.code_at(secret)
        assert totp.verify(secret, f"{code[:3]} {code[3:]}", None) is not None


def test_qr_code_is_inline_svg_without_external_references() -> None:
    svg = totp.qr_svg(totp.provisioning_uri(totp.new_secret(), "someone@example.test"))
    assert svg.startswith("<svg")
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")
