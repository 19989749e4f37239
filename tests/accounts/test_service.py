"""Accounts service: users, organisations, password sign-in, lockout, TOTP and sessions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.accounts import service
from hrdshield.accounts.models import User
from hrdshield.errors import Conflict, NotFound, ValidationProblem
from hrdshield.security import audit, totp
from hrdshield.security.crypto import current_keyring
from hrdshield.security.models import AuditEntry, WebSession
from hrdshield.security.rbac import Role
from tests import factories

POLICY = service.LoginPolicy(max_failures=2, lockout_minutes=15, session_hours=12)


@pytest.fixture
def now() -> Iterator[datetime]:
    """Freeze the clock for the test and return the frozen time."""
    start = datetime.now(UTC).replace(microsecond=0)
    with clock.frozen(start):
        yield start


def _actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def _fail(session: Session, user: User, times: int) -> None:
    for _ in range(times):
        with pytest.raises(service.LoginRefused):
            service.authenticate(
                session=session, email=user.email, password="not the password", policy=POLICY
            )


def _sign_in(session: Session, user: User, code: str | None) -> service.SignIn:
    return service.sign_in(
        session=session,
        email=user.email,
        password=factories.PASSWORD,
        totp_code=code,
        policy=POLICY,
    )


# --- users and organisations -------------------------------------------------------------------


def test_user_email_is_encrypted_at_rest_and_found_whatever_its_case(session: Session) -> None:
    email = "Amara.Example@Example.TEST"
    created = factories.user(session, Role.HRD, email=email)
    session.commit()

    raw = session.execute(
        text("SELECT email, email_index, display_name FROM users WHERE id = :id"),
        {"id": created.id},
    ).one()
    assert email.casefold() not in " ".join(raw).casefold()
    assert service.find_by_email(session=session, email=email.upper()) is created
    assert service.find_by_email(session=session, email=f"  {email.lower()} ") is created
    assert service.find_by_email(session=session, email="someone.else@example.test") is None
    assert "user.create" in _actions(session)


def test_duplicate_email_in_another_case_is_a_conflict(session: Session) -> None:
    factories.user(session, Role.HRD, email="dup@example.test")
    with pytest.raises(Conflict):
        factories.user(session, Role.HRD, email="DUP@example.test")


@pytest.mark.parametrize(
    ("email", "password", "role"),
    [
        ("no-at-sign.example.test", factories.PASSWORD, Role.HRD),
        ("x" * 250 + "@e.test", factories.PASSWORD, Role.HRD),
        ("short@example.test", "too short", Role.HRD),
        ("partner@example.test", factories.PASSWORD, Role.PARTNER),
    ],
    ids=["no-at-sign", "too-long", "weak-password", "partner-without-organisation"],
)
def test_create_user_refuses_bad_input_and_saves_nothing(
    session: Session, email: str, password: str, role: Role
) -> None:
    users_before = len(service.list_users(session=session))
    with pytest.raises(ValidationProblem):
        service.create_user(
            session=session,
            actor=factories.SYSTEM,
            email=email,
            display_name="Bad Input",
            password=password,
            role=role,
        )
    assert len(service.list_users(session=session)) == users_before


def test_create_user_in_unknown_organisation_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        factories.user(session, Role.PARTNER, organisation_id="0" * 32)


def test_organisation_names_are_unique_and_required(session: Session) -> None:
    created = factories.organisation(session, name="Helpline Example")
    assert created.is_trusted_partner
    with pytest.raises(Conflict):
        factories.organisation(session, name="  Helpline Example  ")
    with pytest.raises(ValidationProblem):
        factories.organisation(session, name="   ")
    with pytest.raises(ValidationProblem):
        factories.organisation(session, name="Nul\x00Byte Org")
    names = [row.name for row in service.list_organisations(session=session)]
    assert names.count("Helpline Example") == 1
    assert "organisation.create" in _actions(session)


# --- password sign-in and lockout --------------------------------------------------------------


def test_authenticate_accepts_the_right_password_and_resets_failures(session: Session) -> None:
    user = factories.user(session, Role.HRD)
    _fail(session, user, 1)
    assert user.failed_logins == 1
    found = service.authenticate(
        session=session, email=user.email, password=factories.PASSWORD, policy=POLICY
    )
    assert found is user
    assert user.failed_logins == 0


def test_unknown_email_and_wrong_password_are_refused_alike(session: Session) -> None:
    user = factories.user(session, Role.HRD)
    with pytest.raises(service.LoginRefused) as wrong_password:
        service.authenticate(session=session, email=user.email, password="nope", policy=POLICY)
    with pytest.raises(service.LoginRefused) as unknown:
        service.authenticate(
            session=session, email="nobody@example.test", password="nope", policy=POLICY
        )
    assert wrong_password.value.reason == unknown.value.reason
    assert str(wrong_password.value) == str(unknown.value)


def test_inactive_user_cannot_sign_in(session: Session) -> None:
    user = factories.user(session, Role.HRD)
    user.is_active = False
    with pytest.raises(service.LoginRefused):
        service.authenticate(
            session=session, email=user.email, password=factories.PASSWORD, policy=POLICY
        )


def test_lockout_after_failures_holds_until_it_expires(session: Session, now: datetime) -> None:
    user = factories.user(session, Role.HRD)
    _fail(session, user, POLICY.max_failures)

    assert user.locked_until == now + timedelta(minutes=POLICY.lockout_minutes)
    assert "user.lock" in _actions(session)
    with pytest.raises(service.LoginRefused) as refused:
        service.authenticate(
            session=session, email=user.email, password=factories.PASSWORD, policy=POLICY
        )
    assert refused.value.reason == "locked"

    clock.advance(minutes=POLICY.lockout_minutes - 1)
    with pytest.raises(service.LoginRefused):
        service.authenticate(
            session=session, email=user.email, password=factories.PASSWORD, policy=POLICY
        )
    clock.advance(minutes=1, seconds=1)
    assert (
        service.authenticate(
            session=session, email=user.email, password=factories.PASSWORD, policy=POLICY
        )
        is user
    )


def test_each_new_lockout_lasts_twice_as_long(session: Session, now: datetime) -> None:
    user = factories.user(session, Role.HRD)
    _fail(session, user, POLICY.max_failures)
    assert user.locked_until is not None
    first = user.locked_until - clock.now()

    clock.advance(minutes=POLICY.lockout_minutes + 1)
    _fail(session, user, POLICY.max_failures)
    assert user.locked_until is not None
    assert user.locked_until - clock.now() == 2 * first


def test_failures_while_locked_do_not_extend_the_lock(session: Session, now: datetime) -> None:
    user = factories.user(session, Role.HRD)
    _fail(session, user, POLICY.max_failures)
    locked_until = user.locked_until
    _fail(session, user, 3)
    assert user.locked_until == locked_until


# --- TOTP ---------------------------------------------------------------------------------------


def test_second_factor_accepts_the_current_code_once(session: Session, now: datetime) -> None:
    user = factories.user(session, Role.REVIEWER)
    assert user.totp_secret is not None
    code = totp.code_at(user.totp_secret)

    assert service.verify_second_factor(session=session, user=user, code=code, policy=POLICY)
    assert not service.verify_second_factor(session=session, user=user, code=code, policy=POLICY)
    assert user.failed_logins == 1  # the replay counts as a failure

    clock.advance(seconds=totp.STEP_SECONDS)
    fresh = totp.code_at(user.totp_secret)
    assert service.verify_second_factor(session=session, user=user, code=fresh, policy=POLICY)


FULLWIDTH_DIGITS = "\uff11\uff12\uff13\uff14\uff15\uff16"


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", FULLWIDTH_DIGITS])
def test_second_factor_refuses_malformed_codes(session: Session, code: str) -> None:
    user = factories.user(session, Role.REVIEWER)
    assert not service.verify_second_factor(session=session, user=user, code=code, policy=POLICY)


def test_second_factor_refuses_codes_from_far_in_the_past(session: Session, now: datetime) -> None:
    user = factories.user(session, Role.REVIEWER)
    assert user.totp_secret is not None
    old = totp.code_at(user.totp_secret)
    clock.advance(minutes=5)
    assert not service.verify_second_factor(session=session, user=user, code=old, policy=POLICY)


def test_wrong_codes_lock_the_account(session: Session, now: datetime) -> None:
    user = factories.user(session, Role.REVIEWER)
    for _ in range(POLICY.max_failures):
        service.verify_second_factor(session=session, user=user, code="000000", policy=POLICY)
    assert user.locked_until is not None
    assert user.locked_until > clock.now()


def test_locked_account_cannot_pass_the_second_factor(session: Session, now: datetime) -> None:
    user = factories.user(session, Role.REVIEWER)
    assert user.totp_secret is not None
    _fail(session, user, POLICY.max_failures)
    code = totp.code_at(user.totp_secret)
    assert not service.verify_second_factor(session=session, user=user, code=code, policy=POLICY)


def test_user_without_secret_never_passes_the_second_factor(session: Session) -> None:
    user = factories.user(session, Role.REVIEWER, with_totp=False)
    assert not service.verify_second_factor(
        session=session, user=user, code="123456", policy=POLICY
    )


def test_enrolling_a_second_factor_needs_a_valid_code(session: Session, now: datetime) -> None:
    user = factories.user(session, Role.LEAD, with_totp=False)
    actor = factories.principal(user)
    secret = totp.new_secret()
    wrong = "000000" if totp.code_at(secret) != "000000" else "111111"

    assert not service.enrol_second_factor(
        session=session, user=user, secret=secret, code=wrong, actor=actor
    )
    assert user.totp_secret is None

    code = totp.code_at(secret)
    assert service.enrol_second_factor(
        session=session, user=user, secret=secret, code=code, actor=actor
    )
    assert user.totp_secret == secret
    assert "user.two_factor.enrol" in _actions(session)
    # The code used to enrol cannot be replayed to sign in.
    assert not service.verify_second_factor(session=session, user=user, code=code, policy=POLICY)


# --- sign-in and sessions -----------------------------------------------------------------------


def test_hrd_sign_in_is_complete_without_second_factor(session: Session) -> None:
    user = factories.user(session, Role.HRD)
    result = _sign_in(session, user, None)
    assert result.complete
    assert result.user is user
    web_session = service.find_session(session=session, token=result.token)
    assert web_session is not None
    assert web_session.user_id == user.id
    assert "user.login" in _actions(session)


def test_staff_sign_in_without_code_is_partial(session: Session) -> None:
    user = factories.user(session, Role.REVIEWER)
    result = _sign_in(session, user, None)
    assert not result.complete
    web_session = service.find_session(session=session, token=result.token)
    assert web_session is not None
    assert not web_session.mfa_verified
    assert "user.login" not in _actions(session)


def test_staff_sign_in_with_code_is_complete_and_wrong_code_refused(
    session: Session, now: datetime
) -> None:
    user = factories.user(session, Role.REVIEWER)
    assert user.totp_secret is not None
    with pytest.raises(service.LoginRefused):
        service.sign_in(
            session=session,
            email=user.email,
            password=factories.PASSWORD,
            totp_code="000000" if totp.code_at(user.totp_secret) != "000000" else "111111",
            policy=POLICY,
        )
    code = totp.code_at(user.totp_secret)
    result = _sign_in(session, user, code)
    assert result.complete
    with pytest.raises(service.LoginRefused):
        service.sign_in(
            session=session,
            email=user.email,
            password=factories.PASSWORD,
            totp_code=code,
            policy=POLICY,
        )


def test_sessions_store_only_a_hash_of_the_token(session: Session) -> None:
    user = factories.user(session, Role.HRD)
    token = service.start_session(session=session, user=user, mfa_verified=False, policy=POLICY)
    stored = session.scalars(select(WebSession.id)).all()
    assert stored
    assert token not in stored


def test_sessions_expire(session: Session, now: datetime) -> None:
    user = factories.user(session, Role.HRD)
    token = service.start_session(session=session, user=user, mfa_verified=False, policy=POLICY)
    clock.advance(hours=POLICY.session_hours - 1)
    assert service.find_session(session=session, token=token) is not None
    clock.advance(hours=1)
    assert service.find_session(session=session, token=token) is None
    assert service.purge_expired_sessions(session=session) == 1


@pytest.mark.parametrize("token", ["", "x" * 129, "not-a-token"])
def test_unknown_or_absurd_tokens_find_no_session(session: Session, token: str) -> None:
    assert service.find_session(session=session, token=token) is None


def test_upgrade_replaces_the_token(session: Session) -> None:
    user = factories.user(session, Role.REVIEWER)
    partial = service.start_session(session=session, user=user, mfa_verified=False, policy=POLICY)
    full = service.upgrade_session(session=session, token=partial, user=user, policy=POLICY)
    assert full != partial
    assert service.find_session(session=session, token=partial) is None
    upgraded = service.find_session(session=session, token=full)
    assert upgraded is not None
    assert upgraded.mfa_verified


def test_end_session_forgets_the_token(session: Session) -> None:
    user = factories.user(session, Role.HRD)
    token = service.start_session(session=session, user=user, mfa_verified=False, policy=POLICY)
    service.end_session(session=session, token=token)
    assert service.find_session(session=session, token=token) is None
    assert "user.logout" not in _actions(session)


def test_sign_out_forgets_the_token_and_is_audited(session: Session) -> None:
    user = factories.user(session, Role.HRD)
    token = service.start_session(session=session, user=user, mfa_verified=False, policy=POLICY)
    service.sign_out(session=session, token=token)
    assert service.find_session(session=session, token=token) is None
    assert "user.logout" in _actions(session)
    service.sign_out(session=session, token=token)  # a second sign-out changes nothing
    assert _actions(session).count("user.logout") == 1


def test_client_throttle_refuses_over_the_limit_per_client() -> None:
    throttle = service.ClientThrottle(limit=3)
    assert all(throttle.hit("198.51.100.7") for _ in range(3))
    assert not throttle.hit("198.51.100.7")
    assert throttle.hit("203.0.113.9")


def test_processes_share_a_client_limit_so_together_they_allow_no_more() -> None:
    processes = [service.ClientThrottle(limit=7, processes=2) for _ in range(2)]
    allowed = sum(throttle.hit("198.51.100.7") for throttle in processes for _ in range(7))
    assert allowed == 6  # 3 each: never above the configured 7, whichever process is reached
    assert service.ClientThrottle(limit=1, processes=4).hit("198.51.100.7")  # at least one


def test_client_throttle_forgets_attempts_outside_its_window() -> None:
    throttle = service.ClientThrottle(limit=1, window_seconds=0.0)
    assert throttle.hit("198.51.100.7")
    assert throttle.hit("198.51.100.7")


def test_audit_chain_holds_after_account_changes(session: Session, now: datetime) -> None:
    user = factories.user(session, Role.PARTNER)
    _fail(session, user, POLICY.max_failures)
    session.commit()
    result = audit.verify(session, current_keyring())
    assert result.ok
    assert result.checked >= 3
