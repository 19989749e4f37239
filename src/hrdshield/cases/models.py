"""The case table (a skeleton that the case-management work extends)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hrdshield import clock
from hrdshield.cases.enums import CaseCategory, CaseSource, CaseStatus, Severity
from hrdshield.db import Base, UTCDateTime, new_id, value_enum
from hrdshield.security.crypto import EncryptedText


class Case(Base):
    """One incident against one defender (or an unknown one, for anonymous reports)."""

    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    defender_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("defenders.id", ondelete="CASCADE"), nullable=True, index=True
    )
    organisation_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    category: Mapped[CaseCategory] = mapped_column(value_enum(CaseCategory))
    severity: Mapped[Severity] = mapped_column(value_enum(Severity))
    status: Mapped[CaseStatus] = mapped_column(value_enum(CaseStatus), default=CaseStatus.NEW)
    source: Mapped[CaseSource] = mapped_column(value_enum(CaseSource))
    summary: Mapped[str] = mapped_column(EncryptedText("cases.summary"))
    narrative: Mapped[str | None] = mapped_column(EncryptedText("cases.narrative"), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
