"""Request and response models of the indicator API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from hrdshield.exchange.enums import IndicatorType, SkipReason


class IndicatorValueRead(BaseModel):
    """One canonical value an indicator matches."""

    model_config = ConfigDict(from_attributes=True)

    type: IndicatorType
    value: str


class IndicatorRead(BaseModel):
    """A STIX indicator as imported."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    stix_id: str
    source_id: str
    name: str | None
    pattern: str
    values: list[IndicatorValueRead]
    labels: list[str]
    indicator_types: list[str]
    malware: list[str]
    confidence: int | None
    valid_from: datetime | None
    valid_until: datetime | None
    revoked: bool
    stix_modified: datetime
    imported_at: datetime
    updated_at: datetime


class IndicatorPage(BaseModel):
    """A page of indicators."""

    items: list[IndicatorRead]
    total: int
    offset: int
    limit: int


class SkipRead(BaseModel):
    """What was not imported, for one object type and reason."""

    type: str
    reason: SkipReason
    description: str
    count: int


class ImportRead(BaseModel):
    """What an import did: counts per indicator, values by type, skips by type and reason."""

    source_id: str
    source_name: str
    bundle_id: str
    sha256: str
    read: int
    imported: int
    updated: int
    unchanged: int
    revoked: int
    skipped: int
    values_by_type: dict[str, int]
    skipped_by: list[SkipRead]


class IndicatorSourceRead(BaseModel):
    """A feed, what it holds now and what its last import did."""

    id: str
    name: str
    created_at: datetime
    imports: int
    last_import_at: datetime | None
    last_bundle_id: str | None
    last_sha256: str | None
    indicators: int
    active: int
    values_by_type: dict[str, int]
    last_report: ImportRead | None
