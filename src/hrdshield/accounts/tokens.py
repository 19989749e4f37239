"""API tokens for trusted partners' systems: issued by administrators, shown once, revocable.

A request carrying `Authorization: Bearer <token>` acts as its organisation with the partner
role, narrowed to the token's scopes; the token, not a person, is recorded in the audit log.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.accounts.models import ApiToken, Organisation
from hrdshield.db import split_list
from hrdshield.errors import NotFound, ValidationProblem
from hrdshield.security import audit
from hrdshield.security.rbac import TOKEN_SCOPES, Permission, Principal, Role

TOKEN_PREFIX = "hrds_"  # noqa: S105  (a format marker, not a secret)
_TOUCH_EVERY = timedelta(minutes=5)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(
    *,
    session: Session,
    actor: Principal,
    organisation_id: str,
    name: str,
    scopes: set[Permission],
) -> tuple[ApiToken, str]:
    """Create a token for an organisation; return the row and the token (never shown again)."""
    if session.get(Organisation, organisation_id) is None:
        raise NotFound("organisation not found")
    name = name.strip()
    if not name:
        raise ValidationProblem("give the token a name that says which system uses it")
    if not scopes or not scopes <= TOKEN_SCOPES:
        allowed = ", ".join(sorted(scope.value for scope in TOKEN_SCOPES))
        raise ValidationProblem(f"scopes must be chosen from: {allowed}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        organisation_id=organisation_id,
        name=name,
        prefix=token[:12],
        token_hash=_digest(token),
        scopes=",".join(sorted(scope.value for scope in scopes)),
        created_by=actor.user_id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="api_token.issue",
        entity_type="api_token",
        entity_id=row.id,
        detail={"organisation_id": organisation_id, "scopes": row.scopes},
    )
    return row, token


def list_for(*, session: Session, organisation_id: str) -> list[ApiToken]:
    """Return an organisation's tokens, newest first."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.organisation_id == organisation_id)
            .order_by(ApiToken.created_at.desc())
        )
    )


def revoke(*, session: Session, actor: Principal, token_id: str) -> ApiToken:
    """Revoke a token at once; revoking twice is harmless."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound("token not found")
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        audit.record(
            session,
            actor=actor,
            action="api_token.revoke",
            entity_type="api_token",
            entity_id=row.id,
            detail={"organisation_id": row.organisation_id},
        )
    return row


def authenticate(*, session: Session, token: str) -> Principal | None:
    """Return the principal a bearer token acts as, or None if it is unknown or revoked."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None:
        return None
    now = clock.now()
    if row.last_used_at is None or now - row.last_used_at > _TOUCH_EVERY:
        row.last_used_at = now
    return Principal(
        user_id=row.id,
        role=Role.PARTNER,
        organisation_id=row.organisation_id,
        kind="token",
        scopes=frozenset(Permission(value) for value in split_list(row.scopes)),
    )
