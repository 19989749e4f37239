"""Session lifetime, lockout reset and who may open cases or enrol."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from hrdshield import clock
from hrdshield.accounts import service
from hrdshield.security.models import WebSession
from hrdshield.security.rbac import Role
from tests import factories
from tests.conftest import TestDatabase

POLICY = service.LoginPolicy(max_failures=3, lockout_minutes=10, session_hours=2)


def test_sessions_slide_while_used_and_end_at_the_absolute_limit(database: TestDatabase) -> None:
    start = clock.now()
    with clock.frozen(start), database.session_factory() as session, session.begin():
        hrd = factories.user(session, Role.HRD)
        token = service.start_session(session=session, user=hrd, mfa_verified=False, policy=POLICY)
    moment = start
    with database.session_factory() as session, session.begin():
        for _ in range(4 * 24):  # used every 90 minutes for six days
            moment += timedelta(minutes=90)
            with clock.frozen(moment):
                live = service.find_session(session=session, token=token)
                assert live is not None
                service.touch_session(web_session=live, policy=POLICY)
        with clock.frozen(moment + timedelta(hours=3)):
            assert service.find_session(session=session, token=token) is None  # idle too long
    with clock.frozen(start + timedelta(days=6, hours=23)), database.session_factory() as session:
        web_session = session.get(WebSession, service._token_id(token))
        assert web_session is not None
        assert web_session.expires_at <= start + timedelta(days=service.ABSOLUTE_SESSION_DAYS)


def test_a_complete_sign_in_ends_the_doubling_of_lockouts(database: TestDatabase) -> None:
    with database.session_factory() as session, session.begin():
        hrd = factories.user(session, Role.HRD)
        hrd.lockouts = 3
        result = service.sign_in(
            session=session,
            email=hrd.email,
            password=factories.PASSWORD,
            totp_code=None,
            policy=POLICY,
        )
        assert result.complete
        assert hrd.lockouts == 0


def test_password_alone_does_not_reset_a_staff_lockout_history(database: TestDatabase) -> None:
    with database.session_factory() as session, session.begin():
        reviewer = factories.user(session, Role.REVIEWER)
        reviewer.lockouts = 2
        result = service.sign_in(
            session=session,
            email=reviewer.email,
            password=factories.PASSWORD,
            totp_code=None,
            policy=POLICY,
        )
        assert not result.complete
        assert reviewer.lockouts == 2


def test_an_hrd_who_is_not_enrolled_is_asked_to_enrol_before_reporting(
    client: TestClient, database: TestDatabase
) -> None:
    with database.session_factory() as session, session.begin():
        hrd = factories.user(session, Role.HRD)
    factories.sign_in(client, hrd)
    response = client.post("/api/v1/cases", json={"category": "harassment", "summary": "x"})
    assert response.status_code == 422
    assert "enrol" in response.json()["detail"]


def test_staff_cannot_self_register_as_a_defender(
    client: TestClient, database: TestDatabase
) -> None:
    with database.session_factory() as session, session.begin():
        lead = factories.user(session, Role.LEAD)
    factories.sign_in(client, lead)
    response = client.post(
        "/enrol", data={"display_name": "x", "country": "KE"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/home"
    assert client.get("/api/v1/defenders").json()["total"] == 0
