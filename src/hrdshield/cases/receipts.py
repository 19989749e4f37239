"""Receipt codes: the one secret that lets a reporter without an account follow their report.

A code is 20 characters of Crockford's base32 (no I, L, O or U), shown as five groups of four:
100 random bits, typed back in any case, with or without spaces or dashes. It is never stored.
The case keeps a keyed digest of the first two groups, to find it, and an argon2id hash of the
whole code, to prove it; somebody holding the database and the keys can still not recover a
code, because the 60 bits the digest does not cover are behind argon2id. Nothing here logs a code.
"""

from __future__ import annotations

import re
import secrets
from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from hrdshield.security.crypto import current_keyring

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O, U
GROUPS, GROUP_SIZE = 5, 4
LENGTH = GROUPS * GROUP_SIZE
ENTROPY_BITS = LENGTH * 5
LOOKUP_PREFIX = 8  # characters (40 bits) under the keyed digest; the rest only under argon2id
MAX_TYPED = 64  # a typed code longer than this is not a code, whatever its separators
_INDEX_KIND = "receipt"
_SEPARATORS = re.compile(r"[\s\-_.\u00b7\u2010-\u2015]+")
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})  # what people type for 0 and 1

_hasher = PasswordHasher(type=Type.ID)


def new_code() -> str:
    """Return a fresh receipt code, grouped for reading: `XXXX-XXXX-XXXX-XXXX-XXXX`."""
    return grouped("".join(secrets.choice(ALPHABET) for _ in range(LENGTH)))


def grouped(canonical: str) -> str:
    """Return a canonical code in groups of four, as people read and write it."""
    return "-".join(
        canonical[start : start + GROUP_SIZE] for start in range(0, len(canonical), GROUP_SIZE)
    )


def normalise(typed: str) -> str | None:
    """Return the canonical form of a typed code, or None when it cannot be one."""
    if len(typed) > MAX_TYPED:
        return None
    canonical = _SEPARATORS.sub("", typed).upper().translate(_READ_AS)
    if len(canonical) != LENGTH or any(char not in ALPHABET for char in canonical):
        return None
    return canonical


def lookup_digest(canonical: str) -> str:
    """Return the keyed digest under which a case with this (canonical) code is found."""
    return current_keyring().blind_index(_INDEX_KIND, canonical[:LOOKUP_PREFIX])


def hash_code(canonical: str) -> str:
    """Return the argon2id hash stored to prove a (canonical) code."""
    return _hasher.hash(canonical)


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("hrdshield-receipt-timing-equaliser")


def verify(stored_hash: str | None, canonical: str | None) -> bool:
    """Return whether a code matches `stored_hash`; costs one argon2id check whatever the input.

    With no stored hash or no usable code the check runs against a dummy hash, so a wrong code
    takes as long to refuse as a right one takes to accept.
    """
    try:
        matched = _hasher.verify(stored_hash or _dummy_hash(_hasher), canonical or "-")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return matched and stored_hash is not None and canonical is not None
