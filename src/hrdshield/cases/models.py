"""Cases, their timeline (every event, notes included) and links between cases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hrdshield import clock
from hrdshield.cases import enums
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
    # intake: how a report reached us and how its sender follows it. The receipt code itself is
    # never stored: a keyed digest of its first groups finds the case, an argon2id hash proves it.
    receipt_lookup: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    receipt_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reporter_relation: Mapped[enums.ReporterRelation | None] = mapped_column(
        value_enum(enums.ReporterRelation), nullable=True
    )
    reporter_contact: Mapped[enums.ReporterContact | None] = mapped_column(
        value_enum(enums.ReporterContact), nullable=True
    )
    reporter_email: Mapped[str | None] = mapped_column(
        EncryptedText("cases.reporter_email"), nullable=True
    )
    reported_links: Mapped[str | None] = mapped_column(
        EncryptedText("cases.reported_links"), nullable=True
    )


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


class CaseMessage(Base):
    """A question from the response team to a case's reporter, or the reporter's answer."""

    __tablename__ = "case_messages"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    direction: Mapped[enums.MessageDirection] = mapped_column(value_enum(enums.MessageDirection))
    body: Mapped[str] = mapped_column(EncryptedText("case_messages.body"))
    author_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)


class ReportSubmission(Base):
    """A report form's one-time token, once spent: the same form sent again opens nothing new.

    Only the token's SHA-256 is kept (the token is random, so a slow hash adds nothing); the row
    goes with its case.
    """

    __tablename__ = "report_submissions"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
