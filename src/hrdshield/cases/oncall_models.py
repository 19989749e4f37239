"""The on-call roster: who the escalation ladder alerts, and when.

A shift gives one duty (on-call lead, or head of response) to one person from a start time to an
end time; a head of response is usually designated with no end. The roster holds ids and times
only: names and addresses stay encrypted on the user's row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hrdshield import clock
from hrdshield.cases.enums import OnCallDuty
from hrdshield.db import Base, UTCDateTime, new_id, value_enum


class OnCallShift(Base):
    """One person holding one duty from `starts_at` until `ends_at` (None: until replaced)."""

    __tablename__ = "oncall_shifts"
    __table_args__ = (Index("ix_oncall_shifts_duty_starts_at", "duty", "starts_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    duty: Mapped[OnCallDuty] = mapped_column(value_enum(OnCallDuty))
    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
