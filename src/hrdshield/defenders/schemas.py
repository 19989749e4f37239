"""Request and response models of the defenders API."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hrdshield.defenders.enums import (
    ConsentScope,
    ContactChannel,
    DefenderGroup,
    DefenderStatus,
    EnrolmentRoute,
    IdentifierKind,
    RiskLevel,
)

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def _valid_languages(values: list[str] | None) -> list[str] | None:
    for value in values or []:
        if not _LANGUAGE.fullmatch(value):  # fullmatch: "$" would let "en\n" through
            raise ValueError(f"{value!r} is not a language code such as 'en' or 'pt-BR'")
    return values


def _valid_display_name(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.strip():
        raise ValueError("a name or pseudonym is required")
    return value.strip()


def _valid_handles(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    for value in values:
        if not 1 <= len(value.strip()) <= 100:
            raise ValueError("each handle must have 1 to 100 characters")
    return [value.strip() for value in values]


class IdentifierIn(BaseModel):
    """A protected identifier as typed by a person; only its keyed hash is kept."""

    model_config = ConfigDict(extra="forbid")

    kind: IdentifierKind
    value: str = Field(min_length=1, max_length=300)


class IdentifiersAdd(BaseModel):
    """Protected identifiers to add to a defender."""

    model_config = ConfigDict(extra="forbid")

    identifiers: list[IdentifierIn] = Field(min_length=1, max_length=50)


class DefenderCreate(BaseModel):
    """Enrol a defender."""

    model_config = ConfigDict(extra="forbid")

    display_name: str = Field(min_length=1, max_length=200)
    handles: list[str] = Field(default_factory=list, max_length=20)
    country: str = Field(pattern=r"^[A-Za-z]{2}$")
    languages: list[str] = Field(min_length=1, max_length=10)
    groups: list[DefenderGroup] = Field(default_factory=list, max_length=9)
    risk_level: RiskLevel = RiskLevel.MEDIUM
    contact_channel: ContactChannel = ContactChannel.IN_APP
    contact_address: str | None = Field(None, max_length=500)
    identifiers: list[IdentifierIn] = Field(default_factory=list, max_length=50)
    consents: list[ConsentScope] = Field(
        default_factory=lambda: [ConsentScope.PROCESSING], min_length=1
    )
    organisation_id: str | None = Field(None, max_length=32)

    _display_name = field_validator("display_name")(_valid_display_name)
    _languages = field_validator("languages")(_valid_languages)
    _handles = field_validator("handles")(_valid_handles)


class DefenderUpdate(BaseModel):
    """Change a defender's profile; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(None, min_length=1, max_length=200)
    handles: list[str] | None = Field(None, max_length=20)
    country: str | None = Field(None, pattern=r"^[A-Za-z]{2}$")
    languages: list[str] | None = Field(None, min_length=1, max_length=10)
    groups: list[DefenderGroup] | None = Field(None, max_length=9)
    risk_level: RiskLevel | None = None
    status: DefenderStatus | None = None
    contact_channel: ContactChannel | None = None
    contact_address: str | None = Field(None, max_length=500)

    _display_name = field_validator("display_name")(_valid_display_name)
    _languages = field_validator("languages")(_valid_languages)
    _handles = field_validator("handles")(_valid_handles)


class ConsentRead(BaseModel):
    """One consent record."""

    scope: ConsentScope
    policy_version: str
    granted_at: datetime
    withdrawn_at: datetime | None


class DefenderRead(BaseModel):
    """A defender as staff and the defender themselves see them."""

    id: str
    pseudonym: str
    display_name: str
    handles: list[str]
    country: str
    languages: list[str]
    groups: list[DefenderGroup]
    risk_level: RiskLevel
    status: DefenderStatus
    contact_channel: ContactChannel
    enrolled_via: EnrolmentRoute
    organisation_id: str | None
    identifier_count: int
    consents: list[ConsentRead]
    created_at: datetime
    updated_at: datetime


class DefenderSummary(BaseModel):
    """A row in a list of defenders."""

    id: str
    pseudonym: str
    country: str
    languages: list[str]
    risk_level: RiskLevel
    status: DefenderStatus


class DefenderPage(BaseModel):
    """A page of defenders."""

    items: list[DefenderSummary]
    total: int
    offset: int
    limit: int
