"""Enrolment, profile changes, protected identifiers and consent of defenders.

Who may see or change a defender is decided here from the principal: a defender sees only
themselves, a partner only the defenders its organisation enrolled, staff all of them.
Self-registered defenders wait in `pending` until staff verify them, so nobody can obtain
protected status just by claiming it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, false, func, select, true
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.accounts import service as accounts
from hrdshield.accounts.models import Organisation, User
from hrdshield.defenders import identifiers
from hrdshield.defenders.enums import (
    ConsentScope,
    DefenderGroup,
    DefenderStatus,
    EnrolmentRoute,
    IdentifierKind,
)
from hrdshield.defenders.models import Consent, Defender, ProtectedIdentifier
from hrdshield.defenders.schemas import DefenderCreate, DefenderUpdate, IdentifierIn
from hrdshield.errors import N_, Conflict, Forbidden, NotFound, ValidationProblem
from hrdshield.notify import service as notifications
from hrdshield.notify.enums import NotificationChannel, TemplateKey
from hrdshield.protection import service as protection
from hrdshield.security import audit, passwords
from hrdshield.security.crypto import current_keyring
from hrdshield.security.rbac import Principal, Role

POLICY_VERSION = "2026-11"
_PSEUDONYM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread aloud
_STAFF = {Role.REVIEWER, Role.LEAD, Role.ADMIN}
_SELF_REGISTRATION = Principal.system("self-registration")


def new_pseudonym() -> str:
    """Return a short code staff use instead of the defender's name."""
    return "HRD-" + "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(8))


def snapshot(defender: Defender) -> dict[str, Any]:
    """Return the audited state of a defender (digested, never stored in clear)."""
    return {
        "id": defender.id,
        "display_name": defender.display_name,
        "handles": defender.handles,
        "groups": defender.groups,
        "country": defender.country,
        "languages": defender.languages,
        "risk_level": defender.risk_level.value,
        "status": defender.status.value,
        "contact_channel": defender.contact_channel.value,
        "contact_address": defender.contact_address,
        "organisation_id": defender.organisation_id,
        "identifiers": sorted(identifier.digest for identifier in defender.identifiers),
        "consents": [
            [consent.scope.value, consent.withdrawn_at is None] for consent in defender.consents
        ],
    }


def _route_for(actor: Principal) -> EnrolmentRoute:
    if actor.role is Role.HRD:
        return EnrolmentRoute.SELF
    if actor.role is Role.PARTNER:
        return EnrolmentRoute.PARTNER
    if actor.role in _STAFF:
        return EnrolmentRoute.STAFF
    raise Forbidden(N_("this role cannot enrol defenders"))


def _organisation_for(session: Session, actor: Principal, requested: str | None) -> str | None:
    if actor.role is Role.PARTNER:
        if requested not in (None, actor.organisation_id):
            raise Forbidden(N_("partners enrol defenders for their own organisation only"))
        return actor.organisation_id
    if requested is not None and session.get(Organisation, requested) is None:
        raise NotFound(N_("organisation not found"))
    return requested if actor.role in _STAFF else None


def enrol(*, session: Session, actor: Principal, defender_in: DefenderCreate) -> Defender:
    """Enrol a defender with their consent; identifiers are stored as keyed hashes only."""
    if ConsentScope.PROCESSING not in defender_in.consents:
        raise ValidationProblem(N_("consent to processing is required to enrol"))
    route = _route_for(actor)
    if route is EnrolmentRoute.SELF and session.scalar(
        select(Defender.id).where(Defender.user_id == actor.user_id)
    ):
        raise Conflict(N_("this account is already enrolled"))
    defender = Defender(
        pseudonym=new_pseudonym(),
        display_name=defender_in.display_name.strip(),
        handles=json.dumps(defender_in.handles, ensure_ascii=False),
        groups=json.dumps(sorted({group.value for group in defender_in.groups})),
        country=defender_in.country.upper(),
        languages=",".join(dict.fromkeys(defender_in.languages)),
        risk_level=defender_in.risk_level,
        status=DefenderStatus.PENDING if route is EnrolmentRoute.SELF else DefenderStatus.ACTIVE,
        contact_channel=defender_in.contact_channel,
        contact_address=defender_in.contact_address,
        enrolled_via=route,
        organisation_id=_organisation_for(session, actor, defender_in.organisation_id),
        user_id=actor.user_id if route is EnrolmentRoute.SELF else None,
        identifiers=[],
        consents=[],
    )
    session.add(defender)
    _add_identifiers(defender, defender_in.identifiers, handles=defender_in.handles)
    now = clock.now()
    for scope in dict.fromkeys(defender_in.consents):
        defender.consents.append(
            Consent(
                scope=scope, policy_version=POLICY_VERSION, granted_at=now, granted_by=actor.user_id
            )
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="defender.enrol",
        entity_type="defender",
        entity_id=defender.id,
        after=snapshot(defender),
        detail={"route": route.value},
    )
    protection.sync_protected_status(session, defender)
    return defender


def _canonical_identifiers(
    entered: Iterable[IdentifierIn], handles: Iterable[str], region: str
) -> list[tuple[IdentifierKind, str]]:
    """Return every identifier in its canonical form, or refuse the first that cannot be one."""
    wanted = [(item.kind, item.value) for item in entered]
    wanted += [(IdentifierKind.HANDLE, handle) for handle in handles]
    found = []
    for kind, value in wanted:
        try:
            found.append((kind, identifiers.canonical(kind, value, region=region)))
        except identifiers.InvalidIdentifierError as error:
            raise ValidationProblem(f"{kind.value}: {error}") from error
    return found


def _add_identifiers(
    defender: Defender, entered: Iterable[IdentifierIn], handles: Iterable[str] = ()
) -> int:
    keyring = current_keyring()
    existing = {(item.kind, item.digest) for item in defender.identifiers}
    added = 0
    for kind, canonical in _canonical_identifiers(entered, handles, defender.country):
        digest = keyring.blind_index(kind.value, canonical)
        if (kind, digest) not in existing:
            defender.identifiers.append(ProtectedIdentifier(kind=kind, digest=digest))
            existing.add((kind, digest))
            added += 1
    return added


def self_register(
    *,
    session: Session,
    email: str,
    password: str,
    defender_in: DefenderCreate,
    language: str,
) -> User | None:
    """Create an account and its enrolment (pending until staff verify it); None if not new.

    An address that already has an account gets no second one and no different answer: its
    owner is told by e-mail (at most once a day), and the caller answers as for a new account.
    Everything that can be refused is checked before the address is looked up, and both ways
    hash the password once, so neither the answer nor its time says who is enrolled.
    """
    if ConsentScope.PROCESSING not in defender_in.consents:
        raise ValidationProblem(N_("consent to processing is required to enrol"))
    accounts.check_email(email)
    accounts.check_password(password)
    _canonical_identifiers(
        defender_in.identifiers, defender_in.handles, defender_in.country.upper()
    )
    existing = accounts.find_by_email(session=session, email=email)
    if existing is None:
        user = accounts.create_user(
            session=session,
            actor=_SELF_REGISTRATION,
            email=email,
            display_name=defender_in.display_name,
            password=password,
            role=Role.HRD,
            languages=",".join(defender_in.languages),
        )
        enrol(
            session=session,
            actor=Principal(user_id=user.id, role=Role.HRD),
            defender_in=defender_in,
        )
        return user
    passwords.hash_password(password)  # the time a new account's hash takes
    _tell_owner(session, existing, language)
    return None


def _tell_owner(session: Session, owner: User, language: str) -> None:
    try:
        notifications.enqueue(
            session=session,
            channel=NotificationChannel.EMAIL,
            address=owner.email,
            language=language,
            template=TemplateKey.ACCOUNT_EXISTS,
            context={},
            idempotency_key=f"account-exists-{owner.id}-{clock.now().date().isoformat()}",
        )
    except ValidationProblem:  # an address the outbox cannot write to: nothing to tell
        return
    audit.record(
        session,
        actor=_SELF_REGISTRATION,
        action="user.registration_refused",
        entity_type="user",
        entity_id=owner.id,
        detail={"reason": "address already registered"},
    )


def visible_to(actor: Principal) -> ColumnElement[bool]:
    """Return the SQL condition limiting defenders to those `actor` may see."""
    if actor.role in _STAFF:
        return true()
    if actor.role is Role.PARTNER and actor.organisation_id:
        return Defender.organisation_id == actor.organisation_id
    if actor.role is Role.HRD and actor.user_id:
        return Defender.user_id == actor.user_id
    return false()


def get(*, session: Session, actor: Principal, defender_id: str) -> Defender:
    """Return a defender the actor may see, or NotFound (never reveal that others exist)."""
    defender = session.scalar(select(Defender).where(Defender.id == defender_id, visible_to(actor)))
    if defender is None:
        raise NotFound(N_("defender not found"))
    return defender


def list_page(
    *,
    session: Session,
    actor: Principal,
    offset: int = 0,
    limit: int = 50,
    status: DefenderStatus | None = None,
) -> tuple[list[Defender], int]:
    """Return one page of the defenders the actor may see, newest first, and the total."""
    condition = [visible_to(actor)]
    if status is not None:
        condition.append(Defender.status == status)
    total = session.scalar(select(func.count()).select_from(Defender).where(*condition)) or 0
    rows = session.scalars(
        select(Defender)
        .where(*condition)
        .order_by(Defender.created_at.desc(), Defender.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), total


_STAFF_ONLY_FIELDS = {"status", "risk_level"}


def update(
    *, session: Session, actor: Principal, defender_id: str, defender_in: DefenderUpdate
) -> Defender:
    """Change a defender's profile; only staff change status and risk level."""
    defender = get(session=session, actor=actor, defender_id=defender_id)
    changes = {
        name: value
        for name, value in defender_in.model_dump(exclude_unset=True).items()
        # null leaves a field as it is; only the contact address may be cleared
        if value is not None or name == "contact_address"
    }
    if actor.role not in _STAFF and _STAFF_ONLY_FIELDS & changes.keys():
        raise Forbidden(N_("only staff may change status or risk level"))
    before = snapshot(defender)
    for name, value in changes.items():
        if name == "handles":
            defender.handles = json.dumps(value, ensure_ascii=False)
            _add_identifiers(defender, (), handles=value)
        elif name == "groups":
            defender.groups = json.dumps(sorted({DefenderGroup(group).value for group in value}))
        elif name == "languages":
            defender.languages = ",".join(dict.fromkeys(value))
        elif name == "country":
            defender.country = value.upper()
        else:
            setattr(defender, name, value)
    defender.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="defender.update",
        entity_type="defender",
        entity_id=defender.id,
        before=before,
        after=snapshot(defender),
        detail={"fields": sorted(changes)},
    )
    if "status" in changes:
        protection.sync_protected_status(session, defender)
    return defender


def add_identifiers(
    *, session: Session, actor: Principal, defender_id: str, entered: list[IdentifierIn]
) -> int:
    """Add protected identifiers; return how many were new."""
    defender = get(session=session, actor=actor, defender_id=defender_id)
    before = snapshot(defender)
    added = _add_identifiers(defender, entered)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="defender.identifiers.add",
        entity_type="defender",
        entity_id=defender.id,
        before=before,
        after=snapshot(defender),
        detail={"added": added},
    )
    return added


def set_consent(
    *, session: Session, actor: Principal, defender_id: str, scope: ConsentScope, granted: bool
) -> Defender:
    """Grant or withdraw one consent; withdrawing processing consent ends the enrolment."""
    defender = get(session=session, actor=actor, defender_id=defender_id)
    before = snapshot(defender)
    live = [
        consent for consent in defender.consents if consent.scope is scope and consent.is_active
    ]
    now = clock.now()
    if granted and not live:
        defender.consents.append(
            Consent(
                scope=scope, policy_version=POLICY_VERSION, granted_at=now, granted_by=actor.user_id
            )
        )
    elif not granted:
        for consent in live:
            consent.withdrawn_at, consent.withdrawn_by = now, actor.user_id
        if scope is ConsentScope.PROCESSING:
            defender.status = DefenderStatus.WITHDRAWN
    defender.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="defender.consent.grant" if granted else "defender.consent.withdraw",
        entity_type="defender",
        entity_id=defender.id,
        before=before,
        after=snapshot(defender),
        detail={"scope": scope.value},
    )
    if scope is ConsentScope.PROCESSING:
        protection.sync_protected_status(session, defender)
    return defender


def match_identifier(
    *, session: Session, kind: IdentifierKind, value: str, region: str | None = None
) -> list[str]:
    """Return ids of active defenders protected by this identifier (for the detectors)."""
    try:
        canonical = identifiers.canonical(kind, value, region=region)
    except identifiers.InvalidIdentifierError:
        return []
    digest = current_keyring().blind_index(kind.value, canonical)
    rows = session.scalars(
        select(ProtectedIdentifier.defender_id)
        .join(Defender)
        .where(
            ProtectedIdentifier.kind == kind,
            ProtectedIdentifier.digest == digest,
            Defender.status == DefenderStatus.ACTIVE,
        )
    )
    return sorted(set(rows))


def decoded_list(value: str) -> list[str]:
    """Return a JSON-encoded list column as a list."""
    loaded = json.loads(value) if value else []
    return [str(item) for item in loaded]
