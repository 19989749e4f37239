"""Time-limited leases in the database, so that one process at a time does a piece of work.

The inbox consumer holds the lease ``inbox``; scale-out workers hold one lease per partition. A
lease is taken by a compare-and-set that succeeds only if the row is free, expired or already
ours, so two processes can never both believe they hold it (the database decides).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.detection.models import Lease


def acquire(*, session: Session, name: str, holder: str, seconds: float) -> bool:
    """Take or renew lease `name` for `holder`; return whether `holder` now holds it."""
    now = clock.now()
    until = now + timedelta(seconds=seconds)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(Lease)
        .values(name=name, holder=holder, expires_at=until)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    taken = session.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
        .values(holder=holder, expires_at=until)
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


def release(*, session: Session, name: str, holder: str) -> None:
    """Give lease `name` up if `holder` holds it, so another process need not wait it out."""
    session.execute(
        update(Lease)
        .where(Lease.name == name, Lease.holder == holder)
        .values(expires_at=clock.now() - timedelta(seconds=1))
    )
