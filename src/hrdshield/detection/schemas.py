"""Request and response models of the detection API."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hrdshield.detection.enums import AlertSeverity, AlertVerdict, DetectorKind, EventType


class LineErrorRead(BaseModel):
    """Why one line of a batch was refused."""

    line: int
    event_id: str | None
    reason: str


class IngestReportRead(BaseModel):
    """What became of a batch of events."""

    accepted: int
    duplicates: int
    rejected: list[LineErrorRead]


class AlertRead(BaseModel):
    """An alert as reviewers list it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    detector: DetectorKind
    rule: str
    severity: AlertSeverity
    score: float
    summary: str
    defender_id: str | None
    region: str | None
    incident_id: str | None
    event_count: int
    first_event_at: datetime
    last_event_at: datetime
    created_at: datetime
    verdict: AlertVerdict | None


class EvidenceRead(BaseModel):
    """One event an alert rests on, as the platform sent it."""

    event_id: str
    event_type: EventType
    occurred_at: datetime
    event: dict[str, Any]


class AlertDetail(AlertRead):
    """An alert with its explanation and evidence."""

    explanation: dict[str, Any]
    evidence: list[EvidenceRead]

    @field_validator("explanation", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


class VerdictIn(BaseModel):
    """A reviewer's judgement of an alert."""

    model_config = ConfigDict(extra="forbid")

    verdict: AlertVerdict


class FeedbackRead(BaseModel):
    """Reviewers' verdicts on one detector."""

    detector: DetectorKind
    alerts: int
    true_positives: int
    false_positives: int
    precision: float | None


class DeadLetterRead(BaseModel):
    """An event that was refused or set aside (its payload stays in the database)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    received_at: datetime
    channel: str
    platform: str | None
    event_id: str | None
    line: int | None
    stage: str
    reason: str


class PlatformCreate(BaseModel):
    """Register a platform."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=32)


class PlatformRead(BaseModel):
    """A registered platform (never its token)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class PlatformToken(PlatformRead):
    """A platform with its new token, shown once."""

    token: str
