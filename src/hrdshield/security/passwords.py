"""Password hashing with argon2id; hashes are upgraded silently when parameters change."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 1024

_hasher = PasswordHasher(type=Type.ID)
# Verifying against this keeps the time of a login for an unknown account like a real one.
_DUMMY_HASH = _hasher.hash("hrdshield-timing-equaliser")


class WeakPasswordError(ValueError):
    """The chosen password does not meet the minimum policy."""


def check_policy(password: str) -> None:
    """Reject passwords that are too short or absurdly long (NIST 800-63B length rules)."""
    if len(password) < MIN_LENGTH:
        raise WeakPasswordError(f"password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPasswordError(f"password must have at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    """Return an argon2id hash of `password`."""
    check_policy(password)
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Return whether `password` matches; spends the same time when there is no stored hash."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Return whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored_hash)
