"""Request and response models of the accounts API."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hrdshield.security.rbac import Permission, Role

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_REGION = re.compile(r"^[A-Za-z]{2}$")
# Both lists are stored comma-joined in users.languages (100) and users.regions (200).
_LANGUAGES_STORED_MAX, _REGIONS_STORED_MAX = 100, 200


def _codes(values: list[str], pattern: re.Pattern[str], stored_max: int, what: str) -> list[str]:
    unique = list(dict.fromkeys(values))
    for value in unique:
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
    if len(",".join(unique)) > stored_max:
        raise ValueError(f"too many codes: at most {stored_max} characters once comma-joined")
    return unique


class SessionCreate(BaseModel):
    """Sign in through the API."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    totp_code: str | None = Field(None, max_length=10)


class UserCreate(BaseModel):
    """Create a user (administrators only)."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=254)
    display_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=12, max_length=1024)
    role: Role
    organisation_id: str | None = Field(None, max_length=32)
    languages: list[str] = Field(default_factory=list, max_length=20)
    regions: list[str] = Field(default_factory=list, max_length=200)

    @field_validator("languages")
    @classmethod
    def _valid_languages(cls, values: list[str]) -> list[str]:
        return _codes(values, _LANGUAGE, _LANGUAGES_STORED_MAX, "a language code such as 'en'")

    @field_validator("regions")
    @classmethod
    def _valid_regions(cls, values: list[str]) -> list[str]:
        return _codes(values, _REGION, _REGIONS_STORED_MAX, "a two-letter country code")


class UserRead(BaseModel):
    """A user as administrators and the user themselves see them."""

    id: str
    email: str
    display_name: str
    role: Role
    organisation_id: str | None
    two_factor_enabled: bool
    languages: list[str]
    regions: list[str]
    is_active: bool
    created_at: datetime


class SessionRead(BaseModel):
    """The result of signing in: who you are and the CSRF token for unsafe requests."""

    user: UserRead
    csrf_token: str


class OrganisationCreate(BaseModel):
    """Register a trusted partner organisation."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    country: str | None = Field(None, pattern=r"^[A-Za-z]{2}$")


class OrganisationRead(BaseModel):
    """A trusted partner organisation."""

    id: str
    name: str
    country: str | None
    is_trusted_partner: bool
    created_at: datetime


class ApiTokenCreate(BaseModel):
    """Issue an API token to an organisation's system."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    scopes: list[Permission] = Field(min_length=1, max_length=10)


class ApiTokenRead(BaseModel):
    """An API token as listed (the token itself is never shown again)."""

    id: str
    organisation_id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiTokenIssued(ApiTokenRead):
    """A newly issued token: `token` is shown this once."""

    token: str
