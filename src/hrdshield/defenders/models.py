"""Defenders, their protected identifiers (keyed hashes only) and their consent records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hrdshield import clock
from hrdshield.db import Base, UTCDateTime, new_id, value_enum
from hrdshield.defenders.enums import (
    ConsentScope,
    ContactChannel,
    DefenderStatus,
    EnrolmentRoute,
    IdentifierKind,
    RiskLevel,
)
from hrdshield.security.crypto import EncryptedText


class Defender(Base):
    """An enrolled HRD, known to staff by a pseudonym; personal data is encrypted field by field."""

    __tablename__ = "defenders"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    pseudonym: Mapped[str] = mapped_column(String(16), unique=True)
    display_name: Mapped[str] = mapped_column(EncryptedText("defenders.display_name"))
    handles: Mapped[str] = mapped_column(EncryptedText("defenders.handles"))  # JSON list
    groups: Mapped[str] = mapped_column(EncryptedText("defenders.groups"))  # JSON list
    country: Mapped[str] = mapped_column(String(2), index=True)
    languages: Mapped[str] = mapped_column(String(100))  # comma-separated BCP 47 codes
    risk_level: Mapped[RiskLevel] = mapped_column(value_enum(RiskLevel))
    status: Mapped[DefenderStatus] = mapped_column(
        value_enum(DefenderStatus), default=DefenderStatus.ACTIVE
    )
    contact_channel: Mapped[ContactChannel] = mapped_column(value_enum(ContactChannel))
    contact_address: Mapped[str | None] = mapped_column(
        EncryptedText("defenders.contact_address"), nullable=True
    )
    enrolled_via: Mapped[EnrolmentRoute] = mapped_column(value_enum(EnrolmentRoute))
    organisation_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    user_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="SET NULL"), nullable=True, unique=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    identifiers: Mapped[list[ProtectedIdentifier]] = relationship(
        back_populates="defender", cascade="all, delete-orphan", passive_deletes=True
    )
    consents: Mapped[list[Consent]] = relationship(
        back_populates="defender",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Consent.granted_at",
    )


class ProtectedIdentifier(Base):
    """A keyed hash of one canonical identifier; the plaintext is never stored."""

    __tablename__ = "protected_identifiers"
    __table_args__ = (UniqueConstraint("defender_id", "kind", "digest"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    defender_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("defenders.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[IdentifierKind] = mapped_column(value_enum(IdentifierKind))
    digest: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    defender: Mapped[Defender] = relationship(back_populates="identifiers")


class Consent(Base):
    """What a defender agreed to, when, under which wording; a withdrawal is kept, not erased."""

    __tablename__ = "consents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    defender_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("defenders.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[ConsentScope] = mapped_column(value_enum(ConsentScope))
    policy_version: Mapped[str] = mapped_column(String(32))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    granted_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    withdrawn_by: Mapped[str | None] = mapped_column(String(32), nullable=True)

    defender: Mapped[Defender] = relationship(back_populates="consents")

    @property
    def is_active(self) -> bool:
        """Return whether this consent still holds."""
        return self.withdrawn_at is None
