"""JSON routes for enrolling defenders and managing their profile, identifiers and consent."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from hrdshield.db import split_list
from hrdshield.defenders import service
from hrdshield.defenders.enums import ConsentScope, DefenderGroup, DefenderStatus
from hrdshield.defenders.models import Defender
from hrdshield.defenders.schemas import (
    DefenderCreate,
    DefenderPage,
    DefenderRead,
    DefenderUpdate,
    IdentifiersAdd,
)
from hrdshield.security.rbac import Permission, Principal
from hrdshield.web.deps import DB_SESSION, require

router = APIRouter(prefix="/defenders", tags=["defenders"])


def defender_read(defender: Defender) -> dict[str, Any]:
    """Return the API view of a defender."""
    return {
        "id": defender.id,
        "pseudonym": defender.pseudonym,
        "display_name": defender.display_name,
        "handles": service.decoded_list(defender.handles),
        "country": defender.country,
        "languages": split_list(defender.languages),
        "groups": [DefenderGroup(value) for value in service.decoded_list(defender.groups)],
        "risk_level": defender.risk_level,
        "status": defender.status,
        "contact_channel": defender.contact_channel,
        "enrolled_via": defender.enrolled_via,
        "organisation_id": defender.organisation_id,
        "identifier_count": len(defender.identifiers),
        "consents": [
            {
                "scope": consent.scope,
                "policy_version": consent.policy_version,
                "granted_at": consent.granted_at,
                "withdrawn_at": consent.withdrawn_at,
            }
            for consent in defender.consents
        ],
        "created_at": defender.created_at,
        "updated_at": defender.updated_at,
    }


@router.post("", response_model=DefenderRead, status_code=201)
def enrol(
    body: DefenderCreate,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.DEFENDER_ENROL),
) -> dict[str, Any]:
    """Enrol a defender (yourself, on behalf of one as a partner, or as staff)."""
    return defender_read(service.enrol(session=session, actor=principal, defender_in=body))


@router.get("", response_model=DefenderPage)
def list_defenders(
    offset: int = Query(0, ge=0, le=1_000_000),
    limit: int = Query(50, ge=1, le=200),
    status: DefenderStatus | None = None,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.DEFENDER_READ),
) -> dict[str, Any]:
    """List the defenders you may see."""
    rows, total = service.list_page(
        session=session, actor=principal, offset=offset, limit=limit, status=status
    )
    items = [
        {
            "id": row.id,
            "pseudonym": row.pseudonym,
            "country": row.country,
            "languages": split_list(row.languages),
            "risk_level": row.risk_level,
            "status": row.status,
        }
        for row in rows
    ]
    return {"items": items, "total": total, "offset": offset, "limit": limit}


@router.get("/{defender_id}", response_model=DefenderRead)
def get_defender(
    defender_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.DEFENDER_READ),
) -> dict[str, Any]:
    """Return one defender."""
    return defender_read(service.get(session=session, actor=principal, defender_id=defender_id))


@router.patch("/{defender_id}", response_model=DefenderRead)
def update_defender(
    defender_id: str,
    body: DefenderUpdate,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.DEFENDER_UPDATE),
) -> dict[str, Any]:
    """Change a defender's profile."""
    return defender_read(
        service.update(session=session, actor=principal, defender_id=defender_id, defender_in=body)
    )


@router.post("/{defender_id}/identifiers", status_code=201)
def add_identifiers(
    defender_id: str,
    body: IdentifiersAdd,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.DEFENDER_UPDATE),
) -> dict[str, int]:
    """Add protected identifiers (stored as keyed hashes only)."""
    added = service.add_identifiers(
        session=session, actor=principal, defender_id=defender_id, entered=body.identifiers
    )
    return {"added": added}


@router.put("/{defender_id}/consents/{scope}", response_model=DefenderRead)
def grant_consent(
    defender_id: str,
    scope: ConsentScope,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.DEFENDER_UPDATE),
) -> dict[str, Any]:
    """Record a consent."""
    return defender_read(
        service.set_consent(
            session=session, actor=principal, defender_id=defender_id, scope=scope, granted=True
        )
    )


@router.delete("/{defender_id}/consents/{scope}", response_model=DefenderRead)
def withdraw_consent(
    defender_id: str,
    scope: ConsentScope,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.DEFENDER_UPDATE),
) -> dict[str, Any]:
    """Withdraw a consent; withdrawing `processing` ends the enrolment."""
    return defender_read(
        service.set_consent(
            session=session, actor=principal, defender_id=defender_id, scope=scope, granted=False
        )
    )
