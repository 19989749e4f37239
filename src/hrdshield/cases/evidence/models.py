"""Evidence files and their chain of custody.

A row points at a sealed file under the uploads folder by a random storage name; the name the
file was sent with is encrypted here and never used on disk. Custody rows hold no personal data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hrdshield import clock
from hrdshield.cases.evidence.enums import CustodyAction, MediaType
from hrdshield.db import Base, UTCDateTime, new_id, value_enum
from hrdshield.security.crypto import EncryptedText


class Evidence(Base):
    """One file attached to a case, with the SHA-256 of its bytes as they arrived."""

    __tablename__ = "evidence"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    case_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("cases.id", ondelete="CASCADE"), index=True
    )
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[MediaType] = mapped_column(value_enum(MediaType))
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)  # images: from the header
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # None once the file is deleted (retention): the name may identify the person who sent it.
    filename: Mapped[str | None] = mapped_column(EncryptedText("evidence.filename"), nullable=True)
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    uploaded_by_role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CustodyEvent(Base):
    """One link of an item's chain of custody: who did what to it, and when."""

    __tablename__ = "evidence_custody"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    evidence_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("evidence.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[CustodyAction] = mapped_column(value_enum(CustodyAction))
    actor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    actor_role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
