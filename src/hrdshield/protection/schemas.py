"""Request and response models of the protection API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from hrdshield.protection.enums import (
    ActionKind,
    ActionState,
    CommandOperation,
    CommandStatus,
    Initiator,
)


class ActionCreate(BaseModel):
    """Ask for a protective action on a defender's account."""

    model_config = ConfigDict(extra="forbid")

    kind: ActionKind
    hours: int | None = Field(None, ge=1, le=24 * 365, description="None: until turned off")
    reason: str | None = Field(None, max_length=2000)
    case_id: str | None = Field(None, max_length=32)


class CommandRead(BaseModel):
    """One step the platform was asked to carry out."""

    model_config = ConfigDict(from_attributes=True)

    operation: CommandOperation
    status: CommandStatus
    attempts: int
    last_error: str | None
    done_at: datetime | None


class ActionRead(BaseModel):
    """A protective action and where it is."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    defender_id: str
    kind: ActionKind
    state: ActionState
    initiator: Initiator
    case_id: str | None
    expires_at: datetime | None
    created_at: datetime
    applied_at: datetime | None
    reverted_at: datetime | None
    last_error: str | None
