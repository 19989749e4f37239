"""When a closed case and its evidence expire, and the legal holds that keep them longer.

A separate table, one row per case that is closed or held, so the retention clock never shares a
row (or a migration) with the case itself. The reason for a legal hold may name proceedings or
people and is encrypted; dates are kept in clear so the retention task can select by them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hrdshield import clock
from hrdshield.db import Base, UTCDateTime
from hrdshield.security.crypto import EncryptedText


class CaseRetention(Base):
    """The retention state of one case: its expiry date, any legal hold, and the warning sent."""

    __tablename__ = "case_retention"

    case_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    # None while the case is open again but a legal hold must outlive the reopening.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    legal_hold_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    legal_hold_reason: Mapped[str | None] = mapped_column(
        EncryptedText("case_retention.legal_hold_reason"), nullable=True
    )
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
