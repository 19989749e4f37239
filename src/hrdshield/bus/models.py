"""Tables of the bus: the detector state each partition last saved."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hrdshield import clock
from hrdshield.db import Base, UTCDateTime
from hrdshield.security.crypto import EncryptedText


class PartitionSnapshot(Base):
    """A partition's detector state and the stream position it covers.

    Everything up to ``stream_seq`` is in ``state`` or still unacknowledged (and so redelivered);
    a worker that takes the partition over restores the state and replays the stream after it.
    The state holds events (what attackers wrote), so it is encrypted.
    """

    __tablename__ = "bus_partition_snapshots"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)  # "<stream>/<partition>"
    stream_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    state: Mapped[str] = mapped_column(EncryptedText("bus_partition_snapshots.state"))
    taken_by: Mapped[str] = mapped_column(String(64))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
