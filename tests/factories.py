"""Factories for tests: users of each role, organisations, defenders, and signed-in clients."""

from __future__ import annotations

import itertools
import re
from typing import Any

from sqlalchemy.orm import Session

from hrdshield.accounts import service as accounts
from hrdshield.accounts.models import Organisation, User
from hrdshield.defenders import service as defenders
from hrdshield.defenders.enums import ConsentScope, IdentifierKind
from hrdshield.defenders.models import Defender
from hrdshield.defenders.schemas import DefenderCreate, IdentifierIn
from hrdshield.security import totp
from hrdshield.security.rbac import Principal, Role

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)
SYSTEM = Principal.system("tests")


def organisation(session: Session, name: str | None = None) -> Organisation:
    """Create a trusted partner organisation."""
    return accounts.create_organisation(
        session=session, actor=SYSTEM, name=name or f"Partner Org {next(_counter)}", country="KE"
    )


def user(
    session: Session,
    role: Role = Role.REVIEWER,
    *,
    email: str | None = None,
    organisation_id: str | None = None,
    with_totp: bool = True,
) -> User:
    """Create a user; staff get a TOTP secret unless `with_totp` is False."""
    if role is Role.PARTNER and organisation_id is None:
        organisation_id = organisation(session).id
    created = accounts.create_user(
        session=session,
        actor=SYSTEM,
        email=email or f"user{next(_counter)}@example.test",
        display_name=f"Test {role.value}",
        password=PASSWORD,
        role=role,
        organisation_id=organisation_id,
    )
    if role.is_staff and with_totp:
        created.totp_secret = totp.new_secret()
    session.flush()
    return created


def principal(user_row: User, defender_id: str | None = None) -> Principal:
    """Return the principal for a user."""
    return Principal(user_row.id, user_row.role, user_row.organisation_id, defender_id)


def defender_in(**overrides: Any) -> DefenderCreate:
    """Return a valid enrolment with synthetic details."""
    values: dict[str, Any] = {
        "display_name": "Test Defender",
        "handles": [f"@test_defender_{next(_counter)}"],
        "country": "KE",
        "languages": ["en", "sw"],
        "groups": ["journalist"],
        "risk_level": "high",
        "contact_channel": "email",
        "contact_address": "contact@example.test",
        "identifiers": [IdentifierIn(kind=IdentifierKind.PHONE, value="+44 7700 900456")],
        "consents": [ConsentScope.PROCESSING, ConsentScope.PROACTIVE_NOTIFICATION],
    }
    values.update(overrides)
    return DefenderCreate(**values)


def defender(session: Session, actor: Principal | None = None, **overrides: Any) -> Defender:
    """Enrol a defender as staff (active) unless another actor is given."""
    if actor is None:
        actor = principal(user(session, Role.LEAD))
    return defenders.enrol(session=session, actor=actor, defender_in=defender_in(**overrides))


def csrf_token(client: Any, path: str = "/login") -> str:
    """Return the CSRF token a page hands this client."""
    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client: Any, user_row: User) -> str:
    """Sign `user_row` in through the API; return the CSRF token for later unsafe requests."""
    body: dict[str, Any] = {"email": user_row.email, "password": PASSWORD}
    if user_row.totp_secret:
        body["totp_code"] = totp.code_at(user_row.totp_secret)
    response = client.post("/api/v1/session", json=body)
    assert response.status_code == 201, response.text
    token: str = response.json()["csrf_token"]
    client.headers["x-csrf-token"] = token
    return token


def problem(response: Any, status: int) -> dict[str, Any]:
    """Assert `response` is an RFC 9457 problem with `status` and a detail; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["detail"]
    return body
