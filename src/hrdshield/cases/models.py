"""Cases, their timeline (every event, notes included) and links between cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hrdshield import clock
from hrdshield.cases.enums import CaseCategory, CaseEventKind, CaseSource, CaseStatus, Severity
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
    language: Mapped[str] = mapped_column(String(8), default="en", index=True)
    region: Mapped[str | None] = mapped_column(String(2), nullable=True, index=True)
    assignee_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    duplicate_of_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("cases.id", ondelete="SET NULL"), nullable=True
    )
    sla_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class CaseEvent(Base):
    """One entry of a case's timeline; a note's text is encrypted, `data` holds no personal data."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    case_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[CaseEventKind] = mapped_column(value_enum(CaseEventKind))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    actor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    actor_role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    body: Mapped[str | None] = mapped_column(EncryptedText("case_events.body"), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CaseLink(Base):
    """Two cases that belong together (the same campaign, or one a duplicate of the other)."""

    __tablename__ = "case_links"
    __table_args__ = (UniqueConstraint("case_id", "other_case_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    other_case_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
