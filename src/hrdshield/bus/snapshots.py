"""Saving and restoring a partition's detector state."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.bus.models import PartitionSnapshot


@dataclass(frozen=True)
class Snapshot:
    """A partition's detector state and the last stream sequence it covers."""

    stream_seq: int
    state: dict[str, Any]


def name_of(stream: str, partition: int) -> str:
    """Return the snapshot key of `partition` of `stream`."""
    return f"{stream}/{partition}"


def save(*, session: Session, stream: str, partition: int, snapshot: Snapshot, holder: str) -> None:
    """Write `snapshot` over the partition's previous one."""
    row = session.get(PartitionSnapshot, name_of(stream, partition))
    state = json.dumps(snapshot.state, separators=(",", ":"), default=str)
    if row is None:
        session.add(
            PartitionSnapshot(
                name=name_of(stream, partition),
                stream_seq=snapshot.stream_seq,
                state=state,
                taken_by=holder[:64],
                taken_at=clock.now(),
            )
        )
        return
    row.stream_seq, row.state = snapshot.stream_seq, state
    row.taken_by, row.taken_at = holder[:64], clock.now()


def load(*, session: Session, stream: str, partition: int) -> Snapshot | None:
    """Return the partition's last snapshot, if it has one."""
    row = session.get(PartitionSnapshot, name_of(stream, partition))
    if row is None:
        return None
    return Snapshot(stream_seq=row.stream_seq, state=json.loads(row.state))
