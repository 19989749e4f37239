"""Sign-in pages: password, TOTP, first-time TOTP set-up, sign-out, and redirects kept on-site."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.accounts.models import User
from hrdshield.accounts.pages import safe_next
from hrdshield.app import create_app
from hrdshield.config import Settings
from hrdshield.security import totp
from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Role
from hrdshield.web.deps import SESSION_COOKIE
from tests import factories

HOSTILE_TARGETS = [
    "//evil.example",
    "//evil.example/home",
    "/\\evil.example",
    "https://evil.example/",
    "http:/evil.example",
    "javascript:alert(1)",
    "evil.example",
    "",
    "/" + "a" * 600,
]


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


def _actions(database: Any) -> list[str]:
    with database.session_factory() as fresh:
        return list(fresh.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def _reload(database: Any, user: User) -> User:
    with database.session_factory() as fresh:
        found = fresh.get(User, user.id)
        assert found is not None
        return found


def _post_login(
    client: TestClient, email: str, password: str = factories.PASSWORD, next_url: str = "/home"
) -> Any:
    return client.post(
        "/login",
        data={
            "csrf_token": factories.csrf_token(client, "/login"),
            "email": email,
            "password": password,
            "next": next_url,
        },
        follow_redirects=False,
    )


def _post_code(client: TestClient, code: str, next_url: str = "/home") -> Any:
    return client.post(
        "/login/two-factor",
        data={"csrf_token": factories.csrf_token(client, "/login"), "code": code, "next": next_url},
        follow_redirects=False,
    )


def _other_code(secret: str) -> str:
    return "000000" if totp.code_at(secret) != "000000" else "111111"


def _next_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["next"][0]


def _is_sent_to_login(response: Any) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/login")


# --- safe_next ----------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [*HOSTILE_TARGETS, None])
def test_safe_next_never_leaves_the_site(target: str | None) -> None:
    result = safe_next(target)
    assert result.startswith("/")
    assert not result.startswith(("//", "/\\"))
    assert result != target


@pytest.mark.parametrize("target", ["/portal", "/staff/defenders?status=pending", "/"])
def test_safe_next_keeps_paths_on_this_site(target: str) -> None:
    assert safe_next(target) == target


# --- password step ------------------------------------------------------------------------------


def test_login_page_is_a_plain_form(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.text
    assert '<form method="post" action="/login"' in page.text
    assert "<script" not in page.text


def test_hrd_signs_in_with_password_alone(
    client: TestClient, session: Session, database: Any
) -> None:
    user = factories.user(session, Role.HRD)
    session.commit()

    response = _post_login(client, user.email, next_url="/portal")

    assert response.status_code == 303
    assert response.headers["location"] == "/portal"
    assert client.get("/portal", follow_redirects=False).status_code == 200
    assert "user.login" in _actions(database)


def test_wrong_password_and_unknown_email_show_the_same_message(
    client: TestClient, session: Session
) -> None:
    user = factories.user(session, Role.HRD)
    session.commit()

    wrong = _post_login(client, user.email, password="not the password")
    unknown = _post_login(client, "nobody@example.test", password="not the password")

    assert wrong.status_code == unknown.status_code == 401
    message = re.compile(r'<p class="error" role="alert" id="login-error">([^<]+)</p>')
    wrong_message, unknown_message = message.search(wrong.text), message.search(unknown.text)
    assert wrong_message
    assert unknown_message
    assert wrong_message.group(1) == unknown_message.group(1)
    assert SESSION_COOKIE not in client.cookies


def test_entered_email_is_shown_again_escaped(client: TestClient) -> None:
    hostile = '"><script>alert(1)</script>@example.test'
    response = _post_login(client, hostile, password="whatever")
    assert response.status_code == 401
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;" in response.text


def test_login_form_without_csrf_token_is_refused(client: TestClient, session: Session) -> None:
    user = factories.user(session, Role.HRD)
    session.commit()
    response = client.post(
        "/login",
        data={"email": user.email, "password": factories.PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert SESSION_COOKIE not in client.cookies


def _error_text(page: Any) -> str:
    found = re.search(r'<p class="error"[^>]*>(.*?)</p>', page.text, re.S)
    assert found, "no error message on the page"
    return found.group(1)


def test_lockout_message_then_expiry(
    strict_client: TestClient, session: Session, now: datetime
) -> None:
    user = factories.user(session, Role.HRD)
    session.commit()
    first = _post_login(strict_client, user.email, password="not the password")
    _post_login(strict_client, user.email, password="not the password")

    locked = _post_login(strict_client, user.email)

    assert locked.status_code == 401  # the right password is refused while locked
    assert _error_text(locked) == _error_text(first)  # and says nothing more than a wrong one
    clock.advance(minutes=16)
    assert _post_login(strict_client, user.email).status_code == 303


def test_too_many_attempts_from_one_client_get_429(
    strict_client: TestClient, session: Session
) -> None:
    user = factories.user(session, Role.HRD)
    session.commit()
    for _ in range(4):
        _post_login(strict_client, "nobody@example.test", password="guess")
    throttled = _post_login(strict_client, user.email)
    assert throttled.status_code == 429
    assert SESSION_COOKIE not in strict_client.cookies


@pytest.mark.parametrize("target", HOSTILE_TARGETS[:4])
def test_open_redirects_are_ignored(client: TestClient, session: Session, target: str) -> None:
    user = factories.user(session, Role.HRD)
    session.commit()

    form = client.get("/login", params={"next": target})
    assert f'value="{target}"' not in form.text
    response = _post_login(client, user.email, next_url=target)

    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/")
    assert not location.startswith(("//", "/\\"))
    assert "evil.example" not in location


def test_signed_in_visitor_skips_the_login_form(client: TestClient, session: Session) -> None:
    user = factories.user(session, Role.HRD)
    session.commit()
    factories.sign_in(client, user)
    response = client.get("/login", params={"next": "//evil.example"}, follow_redirects=False)
    assert response.status_code == 303
    assert not response.headers["location"].startswith("//")


# --- TOTP step ----------------------------------------------------------------------------------


def test_staff_sign_in_takes_password_then_code_with_a_fresh_session(
    client: TestClient, session: Session, database: Any, now: datetime
) -> None:
    user = factories.user(session, Role.REVIEWER)
    session.commit()
    assert user.totp_secret is not None
    wanted = "/staff/defenders?status=pending&offset=0"

    password_step = _post_login(client, user.email, next_url=wanted)

    assert password_step.status_code == 303
    assert password_step.headers["location"].startswith("/login/two-factor")
    assert _next_of(password_step.headers["location"]) == wanted
    partial_token = client.cookies[SESSION_COOKIE]
    assert _is_sent_to_login(client.get("/staff", follow_redirects=False))
    assert "user.login" not in _actions(database)
    form = client.get(password_step.headers["location"])
    assert form.status_code == 200
    assert 'name="code"' in form.text

    code_step = _post_code(client, totp.code_at(user.totp_secret), next_url=wanted)

    assert code_step.status_code == 303
    assert code_step.headers["location"] == wanted
    full_token = client.cookies[SESSION_COOKIE]
    assert full_token != partial_token
    assert client.get("/staff", follow_redirects=False).status_code == 200
    assert "user.login" in _actions(database)
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, partial_token)
    assert _is_sent_to_login(client.get("/staff", follow_redirects=False))


def test_wrong_or_replayed_code_is_refused_and_may_be_retried(
    client: TestClient, session: Session, now: datetime
) -> None:
    user = factories.user(session, Role.LEAD)
    session.commit()
    assert user.totp_secret is not None
    code = totp.code_at(user.totp_secret)
    _post_login(client, user.email)

    wrong = _post_code(client, _other_code(user.totp_secret))
    assert wrong.status_code == 401
    assert 'role="alert"' in wrong.text
    assert _post_code(client, code).status_code == 303

    client.post(
        "/logout",
        data={"csrf_token": factories.csrf_token(client, "/login")},
        follow_redirects=False,
    )
    _post_login(client, user.email)
    replayed = _post_code(client, code)
    assert replayed.status_code == 401


def test_a_lock_that_expired_long_ago_does_not_end_the_next_sign_in(
    strict_client: TestClient, session: Session, now: datetime
) -> None:
    user = factories.user(session, Role.REVIEWER)
    session.commit()
    assert user.totp_secret is not None
    for _ in range(2):
        _post_login(strict_client, user.email, password="not the password")
    clock.advance(hours=2)

    _post_login(strict_client, user.email)
    assert _post_code(strict_client, _other_code(user.totp_secret)).status_code == 401
    completed = _post_code(strict_client, totp.code_at(user.totp_secret))
    assert completed.status_code == 303
    assert completed.headers["location"] == "/home"


def test_too_many_wrong_codes_lock_and_end_the_pending_session(
    strict_client: TestClient, session: Session, database: Any, now: datetime
) -> None:
    user = factories.user(session, Role.REVIEWER)
    session.commit()
    assert user.totp_secret is not None
    _post_login(strict_client, user.email)
    for _ in range(2):
        assert _post_code(strict_client, _other_code(user.totp_secret)).status_code == 401

    right = _post_code(strict_client, totp.code_at(user.totp_secret))

    assert _is_sent_to_login(right)
    assert _reload(database, user).locked_until is not None
    assert "user.lock" in _actions(database)


def test_code_page_without_a_pending_sign_in_goes_to_login(client: TestClient) -> None:
    assert _is_sent_to_login(client.get("/login/two-factor", follow_redirects=False))
    assert _is_sent_to_login(_post_code(client, "123456"))


# --- first-time TOTP set-up ---------------------------------------------------------------------


def _setup_page(client: TestClient, path: str) -> tuple[Any, str]:
    page = client.get(path)
    match = re.search(r'name="secret" value="([A-Z2-7]{32})"', page.text)
    assert match, page.text
    return page, match.group(1)


def _post_setup(client: TestClient, secret: str, code: str, next_url: str = "/staff") -> Any:
    return client.post(
        "/account/two-factor/setup",
        data={
            "csrf_token": factories.csrf_token(client, "/login"),
            "secret": secret,
            "code": code,
            "next": next_url,
        },
        follow_redirects=False,
    )


def test_staff_without_totp_is_forced_through_set_up(
    client: TestClient, session: Session, database: Any, now: datetime
) -> None:
    user = factories.user(session, Role.REVIEWER, with_totp=False)
    session.commit()

    password_step = _post_login(client, user.email, next_url="/staff")

    location = password_step.headers["location"]
    assert location.startswith("/account/two-factor/setup")
    assert _is_sent_to_login(client.get("/staff", follow_redirects=False))
    page, secret = _setup_page(client, location)
    assert "<svg" in page.text
    assert "<script" not in page.text

    wrong = _post_setup(client, secret, _other_code(secret))
    assert wrong.status_code == 400
    assert f'value="{secret}"' in wrong.text
    assert _reload(database, user).totp_secret is None

    done = _post_setup(client, secret, totp.code_at(secret))

    assert done.status_code == 303
    assert done.headers["location"] == "/staff"
    assert client.get("/staff", follow_redirects=False).status_code == 200
    assert _reload(database, user).totp_secret == secret
    assert "user.two_factor.enrol" in _actions(database)


@pytest.mark.parametrize("secret", ["", "short", "a" * 32, "<script>alert(1)</script>" + "A" * 7])
def test_set_up_with_a_tampered_secret_offers_a_new_one(
    client: TestClient, session: Session, database: Any, secret: str
) -> None:
    user = factories.user(session, Role.LEAD, with_totp=False)
    session.commit()
    _post_login(client, user.email)

    response = _post_setup(client, secret, "123456")

    assert response.status_code == 400
    offered = re.search(r'name="secret" value="([A-Z2-7]{32})"', response.text)
    assert offered
    assert offered.group(1) != secret
    assert "<script>alert(1)" not in response.text
    assert _reload(database, user).totp_secret is None


def test_set_up_is_only_for_a_pending_user_without_totp(
    client: TestClient, session: Session
) -> None:
    assert _is_sent_to_login(client.get("/account/two-factor/setup", follow_redirects=False))
    user = factories.user(session, Role.REVIEWER)
    session.commit()
    _post_login(client, user.email)
    assert _is_sent_to_login(client.get("/account/two-factor/setup", follow_redirects=False))
    assert _is_sent_to_login(_post_setup(client, totp.new_secret(), "123456"))


# --- sign-out -----------------------------------------------------------------------------------


def test_sign_out_forgets_the_session(client: TestClient, session: Session, database: Any) -> None:
    user = factories.user(session, Role.HRD)
    session.commit()
    _post_login(client, user.email)
    token = client.cookies[SESSION_COOKIE]

    refused = client.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/portal", follow_redirects=False).status_code == 200

    response = client.post(
        "/logout",
        data={"csrf_token": factories.csrf_token(client, "/login")},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert SESSION_COOKIE not in client.cookies
    assert "user.logout" in _actions(database)
    client.cookies.set(SESSION_COOKIE, token)
    assert _is_sent_to_login(client.get("/portal", follow_redirects=False))
