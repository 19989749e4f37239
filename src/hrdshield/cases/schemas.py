"""Request and response models of the cases API (skeleton; the case-management work extends it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hrdshield.cases.enums import CaseCategory, CaseEventKind, CaseSource, CaseStatus, Severity


class CaseCreate(BaseModel):
    """Open a case."""

    model_config = ConfigDict(extra="forbid")

    category: CaseCategory
    summary: str = Field(min_length=1, max_length=300)
    narrative: str | None = Field(None, max_length=20_000)
    defender_id: str | None = Field(None, max_length=32)
    severity: Severity | None = None
    language: str | None = Field(None, pattern=r"^[a-z]{2,3}$")


class CaseRead(BaseModel):
    """A case as its readers see it."""

    id: str
    reference: str
    defender_id: str | None
    organisation_id: str | None
    category: CaseCategory
    severity: Severity
    status: CaseStatus
    source: CaseSource
    summary: str
    narrative: str | None
    language: str
    region: str | None
    assignee_id: str | None
    duplicate_of_id: str | None
    sla_due_at: datetime | None
    acknowledged_at: datetime | None
    breached_at: datetime | None
    escalation_level: int
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class TriageIn(BaseModel):
    """Confirm or change the suggested severity."""

    model_config = ConfigDict(extra="forbid")

    severity: Severity


class StatusIn(BaseModel):
    """Move a case along its lifecycle."""

    model_config = ConfigDict(extra="forbid")

    status: CaseStatus


class AssignIn(BaseModel):
    """Give a case to somebody; leave `assignee_id` out to pick the best-placed reviewer."""

    model_config = ConfigDict(extra="forbid")

    assignee_id: str | None = Field(None, max_length=32)


class NoteIn(BaseModel):
    """An internal note."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=20_000)


class OtherCaseIn(BaseModel):
    """Another case, to link with or merge into."""

    model_config = ConfigDict(extra="forbid")

    case_id: str = Field(min_length=1, max_length=32)


class CaseEventRead(BaseModel):
    """One timeline entry."""

    kind: CaseEventKind
    at: datetime
    actor_role: str | None
    body: str | None
    data: dict[str, Any]


class QueueItem(BaseModel):
    """A case in a reviewer's queue, with its time to breach."""

    id: str
    reference: str
    category: CaseCategory
    severity: Severity
    status: CaseStatus
    source: CaseSource
    language: str
    region: str | None
    assignee_id: str | None
    sla_due_at: datetime | None
    breached: bool
    escalation_level: int
