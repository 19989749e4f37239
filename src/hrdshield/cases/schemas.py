"""Request and response models of the cases API (skeleton; the case-management work extends it)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from hrdshield.cases.enums import CaseCategory, CaseSource, CaseStatus, Severity


class CaseCreate(BaseModel):
    """Open a case."""

    model_config = ConfigDict(extra="forbid")

    category: CaseCategory
    summary: str = Field(min_length=1, max_length=300)
    narrative: str | None = Field(None, max_length=20_000)
    defender_id: str | None = Field(None, max_length=32)
    severity: Severity | None = None


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
    created_at: datetime
    updated_at: datetime
