"""Platforms that stream events in: registered by administrators, each with its own token.

A platform's token is shown once and kept only as its SHA-256 (tokens are random, so a slow hash
adds nothing). A request bearing it acts as that platform with the platform role, which may only
send events; its events must name the platform, so one platform cannot write into another's ids.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.detection.models import Platform
from hrdshield.errors import Conflict, NotFound, ValidationProblem
from hrdshield.security import audit
from hrdshield.security.rbac import Principal, Role

TOKEN_PREFIX = "hrdp_"  # noqa: S105  (a format marker, not a secret)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
_TOUCH_EVERY = timedelta(minutes=5)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def register(*, session: Session, actor: Principal, name: str) -> tuple[Platform, str]:
    """Register a platform; return it and its token (never shown again)."""
    name = name.strip().lower()
    if not _NAME.fullmatch(name):
        raise ValidationProblem(
            "a platform name is 1 to 32 lower-case letters, digits, '.', '_' or '-'"
        )
    if session.scalar(select(Platform.id).where(Platform.name == name)):
        raise Conflict("a platform with this name is already registered")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    platform = Platform(
        name=name, prefix=token[:12], token_hash=_digest(token), created_by=actor.user_id
    )
    session.add(platform)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="platform.register",
        entity_type="platform",
        entity_id=platform.id,
        detail={"name": name},
    )
    return platform, token


def rotate(*, session: Session, actor: Principal, name: str) -> tuple[Platform, str]:
    """Give a platform a new token; the old one stops working at once."""
    platform = by_name(session=session, name=name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    platform.prefix, platform.token_hash, platform.revoked_at = token[:12], _digest(token), None
    audit.record(
        session,
        actor=actor,
        action="platform.rotate",
        entity_type="platform",
        entity_id=platform.id,
        detail={"name": platform.name},
    )
    return platform, token


def revoke(*, session: Session, actor: Principal, name: str) -> Platform:
    """Revoke a platform's token; its events are refused until a new token is issued."""
    platform = by_name(session=session, name=name)
    if platform.revoked_at is None:
        platform.revoked_at = clock.now()
        audit.record(
            session,
            actor=actor,
            action="platform.revoke",
            entity_type="platform",
            entity_id=platform.id,
            detail={"name": platform.name},
        )
    return platform


def by_name(*, session: Session, name: str) -> Platform:
    """Return the platform registered under `name`."""
    platform = session.scalar(select(Platform).where(Platform.name == name.strip().lower()))
    if platform is None:
        raise NotFound("no platform is registered under that name")
    return platform


def list_all(*, session: Session) -> list[Platform]:
    """Return every registered platform, by name."""
    return list(session.scalars(select(Platform).order_by(Platform.name)))


def authenticate(*, session: Session, token: str) -> Principal | None:
    """Return the principal a platform token acts as, or None if unknown or revoked."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    platform = session.scalar(select(Platform).where(Platform.token_hash == _digest(token)))
    if platform is None or platform.revoked_at is not None:
        return None
    now = clock.now()
    if platform.last_used_at is None or now - platform.last_used_at > _TOUCH_EVERY:
        platform.last_used_at = now
    return Principal(
        user_id=platform.id, role=Role.PLATFORM, kind="platform", platform=platform.name
    )
