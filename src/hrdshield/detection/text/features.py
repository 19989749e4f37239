"""Hashed character n-grams of a whole batch at once, the features of the linear model.

Character n-grams survive spelling variants, inflection (Arabic and Russian attach pronouns and
endings to words), and languages the model was never told about, and hashing them needs no
vocabulary file. Python loops over n-grams cost about 150 µs a text; this module hashes every
n-gram of a micro-batch with a few vectorised numpy operations instead (a polynomial rolling hash
finished by the SplitMix64 mixer), which is what lets the detector score thousands of texts a
second. Training and scoring use this one function, so the two can never disagree; the hash is
part of the model directory's format (``FEATURES_VERSION``) and must never change silently.

Input texts are already normalised (see ``normalise``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from hrdshield.detection.text.enums import LANGUAGES

FEATURES_VERSION = 1
NGRAM_MIN = 2
NGRAM_MAX = 5
_SEPARATOR = 0  # U+0000 never survives normalisation inside a text, so it marks text boundaries
_MULTIPLIER = np.uint64(0x100000001B3)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)


def _mix(values: np.ndarray) -> np.ndarray:
    values = values ^ (values >> np.uint64(30))
    values = values * _MIX_1
    values = values ^ (values >> np.uint64(27))
    values = values * _MIX_2
    mixed: np.ndarray = values ^ (values >> np.uint64(31))
    return mixed


def ngram_matrix(texts: Sequence[str], *, bits: int) -> sp.csr_matrix:
    """Return one L2-normalised row of log-scaled hashed n-gram counts per text."""
    size = 1 << bits
    if not texts:
        return sp.csr_matrix((0, size), dtype=np.float32)
    joined = "\x00".join(f" {text.replace(chr(_SEPARATOR), ' ')} " for text in texts)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    boundaries = np.concatenate(([0], np.cumsum(codes == _SEPARATOR)))
    rows_parts: list[np.ndarray] = []
    columns_parts: list[np.ndarray] = []
    mask = np.uint64(size - 1)
    with np.errstate(over="ignore"):  # the hash is meant to wrap around 2**64
        for length in range(NGRAM_MIN, NGRAM_MAX + 1):
            count = len(codes) - length + 1
            if count <= 0:
                break
            hashed = codes[:count].copy()
            for offset in range(1, length):
                hashed = hashed * _MULTIPLIER + codes[offset : offset + count]
            hashed = _mix(hashed ^ np.uint64(length * 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF))
            inside = boundaries[length : length + count] == boundaries[:count]
            rows_parts.append(boundaries[:count][inside])
            columns_parts.append((hashed[inside] & mask).astype(np.int64))
    rows = np.concatenate(rows_parts)
    columns = np.concatenate(columns_parts)
    # Building CSR from (row, column) pairs adds up repeated n-grams of a text.
    counts = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, columns)), shape=(len(texts), size)
    )
    counts.data = np.log1p(counts.data)
    per_row = np.diff(counts.indptr)
    row_of_value = np.repeat(np.arange(len(texts)), per_row)
    norms = np.sqrt(np.bincount(row_of_value, weights=counts.data**2, minlength=len(texts)))
    norms[norms == 0] = 1.0
    counts.data /= np.repeat(norms, per_row).astype(np.float32)
    return counts


def language_matrix(langs: Sequence[str | None]) -> sp.csr_matrix:
    """Return one row per text with a 1 in the column of its language (none when unknown)."""
    rows = [row for row, lang in enumerate(langs) if lang in LANGUAGES]
    columns = [LANGUAGES.index(lang) for lang in langs if lang in LANGUAGES]
    return sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, columns)),
        shape=(len(langs), len(LANGUAGES)),
    )


def feature_matrix(
    texts: Sequence[str], langs: Sequence[str | None], *, bits: int
) -> sp.csr_matrix:
    """Return the full feature rows: hashed n-grams, then the language columns."""
    return sp.csr_matrix(sp.hstack([ngram_matrix(texts, bits=bits), language_matrix(langs)]))
