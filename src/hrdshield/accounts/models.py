"""Users and trusted-partner organisations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hrdshield import clock
from hrdshield.db import Base, UTCDateTime, new_id, value_enum
from hrdshield.security.crypto import EncryptedText
from hrdshield.security.rbac import Role


class Organisation(Base):
    """A trusted partner (CSO, helpline) that reports and acts on behalf of defenders."""

    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    is_trusted_partner: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class User(Base):
    """Somebody who signs in. E-mail is encrypted and found through its keyed hash."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(EncryptedText("users.email"))
    email_index: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(EncryptedText("users.display_name"))
    role: Mapped[Role] = mapped_column(value_enum(Role))
    organisation_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    password_hash: Mapped[str] = mapped_column(String(256))
    totp_secret: Mapped[str | None] = mapped_column(
        EncryptedText("users.totp_secret"), nullable=True
    )
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    languages: Mapped[str] = mapped_column(String(100), default="")  # comma-separated codes
    regions: Mapped[str] = mapped_column(String(200), default="")  # comma-separated ISO countries
    ui_language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    lockouts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def needs_two_factor(self) -> bool:
        """Return whether this user must pass TOTP to use the service."""
        return self.role.is_staff


class ApiToken(Base):
    """A revocable credential with which a trusted partner's systems call the API.

    Only the SHA-256 of the token is kept (tokens are random, so a slow hash adds nothing); its
    first characters are kept to tell tokens apart in lists. `scopes` narrows what the token may
    do below what a partner may do.
    """

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    organisation_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(500))  # comma-separated permission values
    created_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
