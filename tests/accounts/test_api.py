"""Accounts API: sessions, the signed-in user, users and organisations, and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.accounts.models import Organisation, User
from hrdshield.app import create_app
from hrdshield.config import Settings
from hrdshield.security import totp
from hrdshield.security.models import AuditEntry, WebSession
from hrdshield.security.rbac import USER_ROLES, Role
from hrdshield.web.deps import SESSION_COOKIE
from tests import factories
from tests.factories import problem as _problem

SQL_LOOKING = "Robert'); DROP TABLE users;--"
HTML_LOOKING = '<script>alert("x")</script>'


@pytest.fixture
def now() -> Iterator[datetime]:
    """Freeze the clock for the test and return the frozen time."""
    start = datetime.now(UTC).replace(microsecond=0)
    with clock.frozen(start):
        yield start


@pytest.fixture
def strict_client(settings: Settings, database: Any) -> Iterator[TestClient]:
    """Return a client of an app that locks after two failures and throttles after four tries."""
    strict = settings.model_copy(update={"login_max_failures": 2, "login_client_limit": 4})
    with TestClient(create_app(strict, engine=database.engine)) as test_client:
        yield test_client


def _count(database: Any, column: Any) -> int:
    with database.session_factory() as fresh:
        return fresh.scalar(select(func.count(column))) or 0


def _actions(database: Any) -> list[str]:
    with database.session_factory() as fresh:
        return list(fresh.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def _login(client: TestClient, user: User, **extra: Any) -> Any:
    return client.post(
        "/api/v1/session", json={"email": user.email, "password": factories.PASSWORD, **extra}
    )


def _other_code(secret: str) -> str:
    current = totp.code_at(secret)
    return "000000" if current != "000000" else "111111"


# --- signing in and out -------------------------------------------------------------------------


def test_hrd_signs_in_with_password_alone(
    client: TestClient, session: Session, database: Any
) -> None:
    user = factories.user(session, Role.HRD)
    session.commit()

    response = _login(client, user)

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user"]["id"] == user.id
    assert body["user"]["role"] == "hrd"
    assert body["csrf_token"]
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    me = client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["email"] == user.email
    assert "user.login" in _actions(database)


def test_staff_sign_in_needs_the_current_code(client: TestClient, session: Session) -> None:
    user = factories.user(session, Role.REVIEWER)
    session.commit()
    assert user.totp_secret is not None

    without = _login(client, user)
    _problem(without, 401)
    assert SESSION_COOKIE not in client.cookies
    _problem(client.get("/api/v1/me"), 401)

    wrong = _login(client, user, totp_code=_other_code(user.totp_secret))
    _problem(wrong, 401)

    right = _login(client, user, totp_code=totp.code_at(user.totp_secret))
    assert right.status_code == 201, right.text
    assert right.json()["user"]["two_factor_enabled"] is True
    assert client.get("/api/v1/me").status_code == 200


def test_partial_sign_in_leaves_no_session_behind(
    client: TestClient, session: Session, database: Any
) -> None:
    user = factories.user(session, Role.LEAD)
    session.commit()
    _problem(_login(client, user), 401)
    assert _count(database, WebSession.id) == 0


def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: TestClient, session: Session
) -> None:
    user = factories.user(session, Role.HRD)
    session.commit()

    wrong = client.post("/api/v1/session", json={"email": user.email, "password": "wrong one"})
    unknown = client.post(
        "/api/v1/session", json={"email": "nobody@example.test", "password": "wrong one"}
    )

    assert _problem(wrong, 401)["detail"] == _problem(unknown, 401)["detail"]


def test_lockout_after_failures_and_its_expiry(
    strict_client: TestClient, session: Session, database: Any, now: datetime
) -> None:
    user = factories.user(session, Role.HRD)
    session.commit()
    bad = {"email": user.email, "password": "not the password"}

    first = _problem(strict_client.post("/api/v1/session", json=bad), 401)
    _problem(strict_client.post("/api/v1/session", json=bad), 401)
    locked = _problem(_login(strict_client, user), 401)

    assert locked["detail"] == first["detail"]  # locked or wrong: nothing to enumerate
    assert "user.lock" in _actions(database)
    clock.advance(minutes=16)
    assert _login(strict_client, user).status_code == 201


def test_totp_code_cannot_be_replayed(client: TestClient, session: Session, now: datetime) -> None:
    user = factories.user(session, Role.REVIEWER)
    session.commit()
    assert user.totp_secret is not None
    code = totp.code_at(user.totp_secret)

    first = _login(client, user, totp_code=code)
    assert first.status_code == 201
    csrf = {"x-csrf-token": first.json()["csrf_token"]}
    signed_out = client.delete("/api/v1/session", headers=csrf)
    assert signed_out.status_code == 204
    _problem(_login(client, user, totp_code=code), 401)

    clock.advance(seconds=totp.STEP_SECONDS)
    assert _login(client, user, totp_code=totp.code_at(user.totp_secret)).status_code == 201


def test_sign_out_invalidates_the_token(
    client: TestClient, session: Session, database: Any
) -> None:
    user = factories.user(session, Role.HRD)
    session.commit()
    csrf = factories.sign_in(client, user)
    token = client.cookies[SESSION_COOKIE]

    refused = client.delete("/api/v1/session", headers={"x-csrf-token": "forged"})
    assert refused.status_code == 403
    assert client.get("/api/v1/me").status_code == 200

    assert client.delete("/api/v1/session", headers={"x-csrf-token": csrf}).status_code == 204
    assert "user.logout" in _actions(database)
    _problem(client.get("/api/v1/me"), 401)
    client.cookies.set(SESSION_COOKIE, token)
    _problem(client.get("/api/v1/me"), 401)


def test_client_throttle_answers_429(strict_client: TestClient, session: Session) -> None:
    user = factories.user(session, Role.HRD)
    session.commit()
    for _ in range(4):
        strict_client.post("/api/v1/session", json={"email": "x@example.test", "password": "p"})
    throttled = _problem(_login(strict_client, user), 429)
    assert "wait" in throttled["detail"]


def test_me_needs_a_session(client: TestClient) -> None:
    response = client.get("/api/v1/me")
    _problem(response, 401)
    assert response.headers["www-authenticate"]
    client.cookies.set(SESSION_COOKIE, "made-up-token")
    _problem(client.get("/api/v1/me"), 401)


BAD_SIGN_IN_BODIES = {
    "truncated-json": b'{"email": "a@example.test", "password": ',
    "not-json": b"not json at all",
    "array": b'["a@example.test", "password"]',
    "email-number": b'{"email": 12345, "password": "correct horse"}',
    "password-list": b'{"email": "a@example.test", "password": ["list"]}',
    "code-number": b'{"email": "a@example.test", "password": "p", "totp_code": 123456}',
    "extra-field": b'{"email": "a@example.test", "password": "p", "is_admin": true}',
    "missing-password": b'{"email": "a@example.test"}',
    "email-too-long": b'{"email": "' + b"a" * 300 + b'@example.test", "password": "p"}',
    "password-too-long": b'{"email": "a@example.test", "password": "' + b"p" * 1025 + b'"}',
    "code-too-long": b'{"email": "a@example.test", "password": "p", "totp_code": "12345678901"}',
}


def test_bad_sign_in_bodies_are_422_and_open_no_session(
    client: TestClient, database: Any, subtests: pytest.Subtests
) -> None:
    for name, body in BAD_SIGN_IN_BODIES.items():
        with subtests.test(name):
            response = client.post(
                "/api/v1/session", content=body, headers={"content-type": "application/json"}
            )
            assert _problem(response, 422)["errors"]
    assert _count(database, WebSession.id) == 0


# --- users --------------------------------------------------------------------------------------


def _admin_client(client: TestClient, session: Session) -> User:
    admin = factories.user(session, Role.ADMIN)
    session.commit()
    factories.sign_in(client, admin)
    return admin


def _new_user(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": "new.reviewer@example.test",
        "display_name": "New Reviewer",
        "password": factories.PASSWORD,
        "role": "reviewer",
        "languages": ["en", "fr"],
        "regions": ["ke", "MX"],
    }
    body.update(overrides)
    return body


def test_admin_creates_and_lists_users(client: TestClient, session: Session, database: Any) -> None:
    _admin_client(client, session)

    created = client.post("/api/v1/users", json=_new_user())

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["role"] == "reviewer"
    assert body["languages"] == ["en", "fr"]
    assert body["regions"] == ["KE", "MX"]
    assert body["two_factor_enabled"] is False
    assert "password" not in body
    assert "password_hash" not in created.text
    listed = client.get("/api/v1/users").json()
    assert body["id"] in {row["id"] for row in listed}
    assert "user.create" in _actions(database)


def test_duplicate_email_is_409_whatever_its_case(client: TestClient, session: Session) -> None:
    _admin_client(client, session)
    assert client.post("/api/v1/users", json=_new_user()).status_code == 201
    duplicate = client.post(
        "/api/v1/users", json=_new_user(email="NEW.Reviewer@example.test ", display_name="Twin")
    )
    _problem(duplicate, 409)


def test_hostile_strings_are_stored_verbatim(client: TestClient, session: Session) -> None:
    _admin_client(client, session)

    for number, name in enumerate((SQL_LOOKING, HTML_LOOKING, "Ünïcødé نام 名前")):
        body = _new_user(email=f"hostile{number}@example.test", display_name=name)
        response = client.post("/api/v1/users", json=body)
        assert response.status_code == 201, response.text
        assert response.json()["display_name"] == name

    names = {row["display_name"] for row in client.get("/api/v1/users").json()}
    assert {SQL_LOOKING, HTML_LOOKING} <= names


BAD_USERS: dict[str, tuple[dict[str, Any], int]] = {
    "unknown-role": ({"role": "superuser"}, 422),
    "partner-without-organisation": ({"role": "partner"}, 422),
    "unknown-organisation": ({"organisation_id": "f" * 32}, 404),
    "organisation-id-with-nul": ({"organisation_id": "f\u0000f"}, 400),
    "organisation-id-too-long": ({"organisation_id": "f" * 33}, 422),
    "weak-password": ({"password": "short"}, 422),
    "name-too-long": ({"display_name": "x" * 201}, 422),
    "name-empty": ({"display_name": ""}, 422),
    "email-without-at": ({"email": "not-an-address"}, 422),
    "email-too-long": ({"email": "a" * 250 + "@example.test"}, 422),
    "language-not-a-code": ({"languages": ["english language"]}, 422),
    "language-with-newline": ({"languages": ["en\n"]}, 422),
    "languages-too-long-to-store": ({"languages": [f"en-x{n:05d}" for n in range(20)]}, 422),
    "region-not-two-letters": ({"regions": ["KEN"]}, 422),
    "regions-too-long-to-store": (
        {"regions": [f"{chr(65 + a)}{chr(65 + b)}" for a in range(8) for b in range(9)]},
        422,
    ),
    "languages-not-a-list": ({"languages": "en"}, 422),
    "extra-field": ({"is_superuser": True}, 422),
}


def test_bad_user_input_is_refused_and_saves_nothing(
    client: TestClient, session: Session, database: Any, subtests: pytest.Subtests
) -> None:
    _admin_client(client, session)
    before = _count(database, User.id)

    for name, (overrides, status) in BAD_USERS.items():
        with subtests.test(name):
            _problem(client.post("/api/v1/users", json=_new_user(**overrides)), status)

    assert _count(database, User.id) == before


def test_only_administrators_manage_users(
    client: TestClient, session: Session, subtests: pytest.Subtests
) -> None:
    users = {role: factories.user(session, role) for role in USER_ROLES if role is not Role.ADMIN}
    session.commit()
    for role, user in users.items():
        with subtests.test(role.value):
            client.cookies.clear()
            factories.sign_in(client, user)
            _problem(client.post("/api/v1/users", json=_new_user()), 403)
            _problem(client.get("/api/v1/users"), 403)
            _problem(client.post("/api/v1/organisations", json={"name": "Not Allowed"}), 403)
            _problem(client.get("/api/v1/organisations"), 403)


def test_anonymous_callers_must_sign_in(client: TestClient) -> None:
    _problem(client.post("/api/v1/users", json=_new_user()), 401)
    _problem(client.get("/api/v1/organisations"), 401)


def test_unsafe_requests_with_a_session_need_the_csrf_header(
    client: TestClient, session: Session, database: Any
) -> None:
    _admin_client(client, session)
    del client.headers["x-csrf-token"]
    before = _count(database, User.id)
    _problem(client.post("/api/v1/users", json=_new_user()), 403)
    assert _count(database, User.id) == before


def test_user_list_paging_is_bounded(
    client: TestClient, session: Session, subtests: pytest.Subtests
) -> None:
    _admin_client(client, session)
    for query in ("limit=0", "limit=501", "offset=-1", "limit=ten"):
        with subtests.test(query):
            _problem(client.get(f"/api/v1/users?{query}"), 422)


def test_user_list_pages_do_not_overlap(client: TestClient, session: Session) -> None:
    _admin_client(client, session)
    for number in range(3):
        client.post("/api/v1/users", json=_new_user(email=f"page{number}@example.test"))
    first = client.get("/api/v1/users?limit=2").json()
    second = client.get("/api/v1/users?limit=2&offset=2").json()
    assert len(first) == 2
    assert not {row["id"] for row in first} & {row["id"] for row in second}


# --- organisations ------------------------------------------------------------------------------


def test_admin_registers_organisations(client: TestClient, session: Session, database: Any) -> None:
    _admin_client(client, session)

    created = client.post("/api/v1/organisations", json={"name": "Helpline", "country": "mx"})

    assert created.status_code == 201, created.text
    assert created.json()["country"] == "MX"
    assert created.json()["is_trusted_partner"] is True
    listed = client.get("/api/v1/organisations").json()
    assert created.json()["id"] in {row["id"] for row in listed}
    assert "organisation.create" in _actions(database)
    partner = client.post(
        "/api/v1/users",
        json=_new_user(role="partner", organisation_id=created.json()["id"]),
    )
    assert partner.status_code == 201, partner.text
    assert partner.json()["organisation_id"] == created.json()["id"]


BAD_ORGANISATIONS: dict[str, tuple[dict[str, Any], int]] = {
    "duplicate": ({"name": "Twin Org"}, 409),
    "empty": ({"name": ""}, 422),
    "blank": ({"name": "   "}, 422),
    "too-long": ({"name": "x" * 201}, 422),
    "nul-byte": ({"name": "Nul\u0000Org"}, 400),
    "control-character": ({"name": "Line\nBreak Org"}, 422),
    "country-name": ({"name": "Org", "country": "Kenya"}, 422),
    "country-number": ({"name": "Org", "country": 12}, 422),
    "extra-field": ({"name": "Org", "trusted": False}, 422),
}


def test_bad_organisations_are_refused_and_save_nothing(
    client: TestClient, session: Session, database: Any, subtests: pytest.Subtests
) -> None:
    factories.organisation(session, name="Twin Org")
    _admin_client(client, session)
    before = _count(database, Organisation.id)

    for name, (body, status) in BAD_ORGANISATIONS.items():
        with subtests.test(name):
            _problem(client.post("/api/v1/organisations", json=body), status)

    assert _count(database, Organisation.id) == before
