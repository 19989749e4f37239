"""Who consumes which partition: leases in the database, shared out evenly among live workers.

Each worker renews a membership lease (``worker:<id>``) and one lease per partition it owns
(``partition:<stream>/<n>``). It aims for its fair share, the partition count divided by the
live workers rounded up: a worker that joins finds nothing free, the others see one more member
and give up what they hold above their share, and the newcomer takes it; a worker that leaves
(or dies) stops renewing, its leases run out and the others take its partitions. The database's
compare-and-set decides every change of hands (`detection.leases`), so no consensus protocol is
needed, and storing a batch renews the partition's lease in the same transaction, so a worker
that lost a partition cannot commit for it.
"""

from __future__ import annotations

import math

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.detection import leases
from hrdshield.detection.models import Lease

MEMBER_PREFIX = "worker:"


def partition_lease(stream: str, partition: int) -> str:
    """Return the lease name of `partition` of `stream`."""
    return f"partition:{stream}/{partition}"


def member_lease(holder: str) -> str:
    """Return the membership lease name of worker `holder`."""
    return f"{MEMBER_PREFIX}{holder}"[:64]


def live_members(session: Session) -> int:
    """Return how many workers renewed their membership lately."""
    count = session.scalar(
        select(func.count())
        .select_from(Lease)
        .where(Lease.name.startswith(MEMBER_PREFIX), Lease.expires_at > clock.now())
    )
    return max(1, int(count or 0))


def fair_share(partitions: int, members: int) -> int:
    """Return how many partitions one of `members` workers should own."""
    return math.ceil(partitions / max(1, members))


def holders(session: Session, stream: str, partitions: int) -> dict[int, str]:
    """Return the live holder of each held partition."""
    names = {partition_lease(stream, number): number for number in range(partitions)}
    rows = session.execute(
        select(Lease.name, Lease.holder).where(
            Lease.name.in_(names), Lease.expires_at > clock.now()
        )
    )
    return {names[name]: holder for name, holder in rows}


def rebalance(
    *,
    session: Session,
    stream: str,
    partitions: int,
    holder: str,
    owned: set[int],
    seconds: float,
) -> tuple[set[int], set[int]]:
    """Renew membership and leases; return (partitions to start, partitions to give up).

    Partitions to give up are still leased to `holder`: the caller stops them, saves their
    state and then calls `give_up`, so the next owner starts from that state.
    """
    leases.acquire(session=session, name=member_lease(holder), holder=holder, seconds=seconds)
    share = fair_share(partitions, live_members(session))
    kept = {
        number
        for number in sorted(owned)
        if leases.acquire(
            session=session, name=partition_lease(stream, number), holder=holder, seconds=seconds
        )
    }
    lost = owned - kept
    surplus = set(sorted(kept)[share:]) if len(kept) > share else set()
    taken: set[int] = set()
    if len(kept) < share:
        busy = holders(session, stream, partitions)
        for number in range(partitions):
            if len(kept) + len(taken) >= share:
                break
            if number in kept or number in busy:
                continue
            if leases.acquire(
                session=session,
                name=partition_lease(stream, number),
                holder=holder,
                seconds=seconds,
            ):
                taken.add(number)
    return taken, surplus | lost


def give_up(*, session: Session, stream: str, partition: int, holder: str) -> None:
    """Release `partition` at once so another worker need not wait for the lease to run out."""
    leases.release(session=session, name=partition_lease(stream, partition), holder=holder)


def leave(*, session: Session, holder: str) -> None:
    """End `holder`'s membership (on shutdown), so the others' fair share grows at once."""
    leases.release(session=session, name=member_lease(holder), holder=holder)
