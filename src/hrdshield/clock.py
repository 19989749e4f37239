"""One source of the current time, so SLAs, lockouts and expiry are testable with a frozen clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_frozen: datetime | None = None


def now() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return _frozen if _frozen is not None else datetime.now(UTC)


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Freeze `now()` at `at` (aware) for the duration of the block; for tests and replays."""
    global _frozen  # noqa: PLW0603  (process-wide test clock is the point)
    if at.tzinfo is None:
        raise ValueError("frozen time must be timezone-aware")
    previous, _frozen = _frozen, at.astimezone(UTC)
    try:
        yield
    finally:
        _frozen = previous


def advance(**delta: float) -> None:
    """Move a frozen clock forward, e.g. ``advance(minutes=61)``."""
    from datetime import timedelta  # noqa: PLC0415

    global _frozen  # noqa: PLW0603
    if _frozen is None:
        raise RuntimeError("advance() needs a frozen clock")
    _frozen = _frozen + timedelta(**delta)
