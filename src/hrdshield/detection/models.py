"""Tables of detection: platforms, the event inbox, dead letters, alerts and incidents.

Event payloads, alert explanations and evidence hold what attackers wrote about defenders (and,
for doxxing, the very data that leaked), so they are encrypted field by field; ids, types, times,
counts and scores stay in clear so the pipeline and the queues can sort and filter.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from hrdshield import clock
from hrdshield.db import Base, UTCDateTime, new_id, value_enum
from hrdshield.detection.enums import (
    AlertSeverity,
    AlertVerdict,
    DetectorKind,
    EventType,
    IngestChannel,
)
from hrdshield.security.crypto import EncryptedText

# SQLite gives an autoincrementing key only to a column declared exactly INTEGER PRIMARY KEY.
SequenceNumber = BigInteger().with_variant(Integer(), "sqlite")
REASON_LENGTH = 300
DEDUP_KEY_LENGTH = 200


class Platform(Base):
    """A platform that streams events in; its token is kept only as a SHA-256 digest."""

    __tablename__ = "detection_platforms"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(32), unique=True)  # the events' "platform" field
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class InboxEvent(Base):
    """An accepted event waiting for (or done with) detection: the in-process bus.

    Written in the transaction that acknowledges the batch, so an acknowledged event is never
    lost; (platform, event_id) is unique, so a platform's retry is counted as a duplicate and
    processed once. Processed rows are kept for the duplicate window, then pruned.
    """

    __tablename__ = "detection_inbox"
    __table_args__ = (
        UniqueConstraint("platform", "event_id"),
        # The consumer's query: unprocessed rows in arrival order.
        Index("ix_detection_inbox_processed_at_seq", "processed_at", "seq"),
    )

    seq: Mapped[int] = mapped_column(SequenceNumber, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[EventType] = mapped_column(value_enum(EventType))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    channel: Mapped[IngestChannel] = mapped_column(value_enum(IngestChannel))
    payload: Mapped[str] = mapped_column(EncryptedText("detection_inbox.payload"))
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class DeadLetter(Base):
    """An event that could not be taken (invalid) or could not be processed (a detector failed)."""

    __tablename__ = "detection_dead_letters"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    channel: Mapped[IngestChannel] = mapped_column(value_enum(IngestChannel))
    platform: Mapped[str | None] = mapped_column(String(32), nullable=True)
    event_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    line: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stage: Mapped[str] = mapped_column(String(16))  # "validation", "processing" or "bus"
    reason: Mapped[str] = mapped_column(String(REASON_LENGTH))
    payload: Mapped[str] = mapped_column(EncryptedText("detection_dead_letters.payload"))


class Incident(Base):
    """Alerts against one defender (or one region) that belong together: one campaign, one case."""

    __tablename__ = "detection_incidents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    defender_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("defenders.id", ondelete="CASCADE"), nullable=True, index=True
    )
    region: Mapped[str | None] = mapped_column(String(2), nullable=True, index=True)
    case_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("cases.id", ondelete="SET NULL"), nullable=True, index=True
    )
    severity: Mapped[AlertSeverity] = mapped_column(value_enum(AlertSeverity))
    alert_count: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_alert_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)


class Alert(Base):
    """One detection: which rule fired on which events, why, and what a reviewer made of it."""

    __tablename__ = "detection_alerts"
    __table_args__ = (Index("ix_detection_alerts_detector_verdict", "detector", "verdict"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    # Idempotence: the same detection (rule, defender, events or window) is one alert, however
    # often its events are redelivered; later events update it instead of adding another.
    dedup_key: Mapped[str] = mapped_column(String(DEDUP_KEY_LENGTH), unique=True)
    detector: Mapped[DetectorKind] = mapped_column(value_enum(DetectorKind))
    rule: Mapped[str] = mapped_column(String(64))
    defender_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("defenders.id", ondelete="CASCADE"), nullable=True, index=True
    )
    region: Mapped[str | None] = mapped_column(String(2), nullable=True)
    incident_id: Mapped[str | None] = mapped_column(
        String(32),
        ForeignKey("detection_incidents.id", ondelete="SET NULL"),
        nullable=True,
        index=True,
    )
    severity: Mapped[AlertSeverity] = mapped_column(value_enum(AlertSeverity))
    score: Mapped[float] = mapped_column(Float)
    summary: Mapped[str] = mapped_column(EncryptedText("detection_alerts.summary"))
    explanation: Mapped[str] = mapped_column(EncryptedText("detection_alerts.explanation"))  # JSON
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    first_event_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_event_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    verdict: Mapped[AlertVerdict | None] = mapped_column(value_enum(AlertVerdict), nullable=True)
    verdict_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    verdict_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AlertEvent(Base):
    """One event an alert rests on: the evidence a reviewer reads (capped per alert)."""

    __tablename__ = "detection_alert_events"

    alert_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("detection_alerts.id", ondelete="CASCADE"), primary_key=True
    )
    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[EventType] = mapped_column(value_enum(EventType))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # A keyed hash of the acting account, so the campaign view can group attackers without the
    # platform's account ids in clear.
    actor_digest: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    payload: Mapped[str] = mapped_column(EncryptedText("detection_alert_events.payload"))


class Lease(Base):
    """Who holds a piece of work (the inbox consumer, a partition) until when.

    A holder renews its lease while it works; when it dies, the lease runs out and another
    process takes over. A compare-and-set on this row is the whole protocol.
    """

    __tablename__ = "detection_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
