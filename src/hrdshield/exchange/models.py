"""Indicator feeds: the sources imported, the STIX indicators and their canonical values.

Values are threat infrastructure published by researchers (spyware and phishing domains, links,
addresses, file hashes), not anybody's personal data, and the matcher needs them in the clear.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hrdshield import clock
from hrdshield.db import Base, UTCDateTime, new_id, value_enum
from hrdshield.exchange.enums import IndicatorType


class IndicatorSource(Base):
    """A feed that indicators were imported from, with the counts of its last import."""

    __tablename__ = "indicator_sources"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    imports: Mapped[int] = mapped_column(Integer, default=0)
    last_import_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_bundle_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    last_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Indicator(Base):
    """One STIX ``indicator`` object, at the newest version imported."""

    __tablename__ = "indicators"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    source_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("indicator_sources.id", ondelete="CASCADE"), index=True
    )
    stix_id: Mapped[str] = mapped_column(String(300), unique=True)
    name: Mapped[str | None] = mapped_column(String(500), nullable=True)
    pattern: Mapped[str] = mapped_column(Text)
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    indicator_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    malware: Mapped[list[str]] = mapped_column(JSON, default=list)  # names, via "indicates"
    confidence: Mapped[int | None] = mapped_column(Integer, nullable=True)
    valid_from: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    stix_created: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    stix_modified: Mapped[datetime] = mapped_column(UTCDateTime)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    values: Mapped[list[IndicatorValueRow]] = relationship(
        back_populates="indicator",
        cascade="all, delete-orphan",
        order_by="IndicatorValueRow.id",
        lazy="selectin",
    )


class IndicatorValueRow(Base):
    """One canonical value an indicator matches (an OR pattern has several)."""

    __tablename__ = "indicator_values"
    __table_args__ = (
        UniqueConstraint("indicator_id", "type", "value"),
        Index("ix_indicator_values_type_value", "type", "value"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    indicator_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("indicators.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[IndicatorType] = mapped_column(value_enum(IndicatorType))
    value: Mapped[str] = mapped_column(String(2048))

    indicator: Mapped[Indicator] = relationship(back_populates="values")
