"""Users, sign-in, two-factor authentication, lockout and sessions.

Failed sign-ins count against the account (lockout that doubles each time) and against the client
(a sliding window held in memory under a keyed hash of the address, never stored or logged).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session, defer

from hrdshield import clock
from hrdshield.accounts.models import Organisation, User
from hrdshield.db import split_list
from hrdshield.errors import N_, Conflict, NotFound, ValidationProblem
from hrdshield.security import audit, passwords, totp
from hrdshield.security.crypto import current_keyring
from hrdshield.security.models import WebSession
from hrdshield.security.rbac import USER_ROLES, Principal, Role

EMAIL_INDEX_KIND = "user_email"


def email_index(email: str) -> str:
    """Return the keyed hash under which a user's e-mail is looked up."""
    return current_keyring().blind_index(EMAIL_INDEX_KIND, email.strip().casefold())


def snapshot(user: User) -> dict[str, object]:
    """Return the audited state of a user (digested, never stored in clear)."""
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role.value,
        "organisation_id": user.organisation_id,
        "is_active": user.is_active,
        "two_factor": user.totp_secret is not None,
        "languages": user.languages,
        "regions": user.regions,
    }


def create_organisation(
    *, session: Session, actor: Principal, name: str, country: str | None = None
) -> Organisation:
    """Register a trusted partner organisation."""
    name = name.strip()
    if not name:
        raise ValidationProblem("organisation name is required")
    if not name.isprintable():  # NUL and control characters: PostgreSQL refuses NUL outright
        raise ValidationProblem("organisation name must not contain control characters")
    if session.scalar(select(Organisation).where(Organisation.name == name)) is not None:
        raise Conflict("an organisation with this name exists")
    organisation = Organisation(name=name, country=country.upper() if country else None)
    session.add(organisation)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="organisation.create",
        entity_type="organisation",
        entity_id=organisation.id,
        after={"id": organisation.id, "name": name},
    )
    return organisation


def check_email(email: str) -> str:
    """Return an e-mail address as it will be kept, or refuse one that cannot be an address."""
    email = email.strip()
    if "@" not in email or len(email) > 254:
        raise ValidationProblem(N_("a valid e-mail address is required"))
    return email


def check_password(password: str) -> None:
    """Refuse a password the policy does not allow, saying what it needs."""
    try:
        passwords.check_policy(password)
    except passwords.WeakPasswordError as error:
        raise ValidationProblem(
            N_("a password needs at least %(least)s and at most %(most)s characters"),
            least=passwords.MIN_LENGTH,
            most=passwords.MAX_LENGTH,
        ) from error


def create_user(
    *,
    session: Session,
    actor: Principal,
    email: str,
    display_name: str,
    password: str,
    role: Role,
    organisation_id: str | None = None,
    languages: str = "",
    regions: str = "",
) -> User:
    """Create a user; partners must belong to an organisation."""
    email = check_email(email)
    if role not in USER_ROLES:
        raise ValidationProblem(
            "platforms are registered with `hrdshield platform add`, not as users"
        )
    if role is Role.PARTNER and organisation_id is None:
        raise ValidationProblem("a partner user must belong to an organisation")
    if organisation_id is not None and session.get(Organisation, organisation_id) is None:
        raise NotFound("organisation not found")
    check_password(password)  # before the address is looked up: see defenders.self_register
    index = email_index(email)
    if session.scalar(select(User.id).where(User.email_index == index)) is not None:
        raise Conflict(N_("a user with this e-mail address exists"))
    password_hash = passwords.hash_password(password)
    user = User(
        email=email,
        email_index=index,
        display_name=display_name.strip() or email,
        password_hash=password_hash,
        role=role,
        organisation_id=organisation_id,
        languages=languages,
        regions=regions,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.create",
        entity_type="user",
        entity_id=user.id,
        after=snapshot(user),
        detail={"role": role.value},
    )
    return user


def get_user(*, session: Session, user_id: str) -> User:
    """Return a user or raise NotFound."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    return user


def find_by_email(*, session: Session, email: str) -> User | None:
    """Return the user with this e-mail address, if any."""
    return session.scalar(select(User).where(User.email_index == email_index(email)))


class ClientThrottle:
    """Sliding-window attempt counter per client, kept only in memory under keyed hashes.

    Each serving process keeps its own counts, so `processes` of them share the limit: each
    allows its share, and a client never gets more than `limit` attempts from all of them.
    """

    def __init__(self, limit: int, window_seconds: float = 300.0, *, processes: int = 1) -> None:
        self.limit, self.window = max(1, limit // max(1, processes)), window_seconds
        self._salt = secrets.token_bytes(16)
        self._attempts: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _key(self, client: str) -> str:
        return hashlib.blake2b(client.encode(), key=self._salt, digest_size=16).hexdigest()

    def hit(self, client: str) -> bool:
        """Record an attempt; return False when the client is over its limit."""
        now, key = time.monotonic(), self._key(client)
        with self._lock:
            attempts = self._attempts.setdefault(key, deque())
            while attempts and now - attempts[0] > self.window:
                attempts.popleft()
            if len(attempts) >= self.limit:
                return False
            attempts.append(now)
            if len(self._attempts) > 100_000:  # bound memory under a spray from many clients
                self._attempts = {k: v for k, v in self._attempts.items() if v}
            return True


@dataclass(frozen=True)
class LoginPolicy:
    """Lockout settings, taken from the configuration."""

    max_failures: int = 5
    lockout_minutes: int = 15
    session_hours: int = 12


class LoginRefused(Exception):
    """Sign-in was refused; `reason` is safe to show (it never tells which part was wrong)."""

    def __init__(self, reason: str, locked_until: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason, self.locked_until = reason, locked_until


def authenticate(*, session: Session, email: str, password: str, policy: LoginPolicy) -> User:
    """Check e-mail and password, applying lockout; raise LoginRefused on any failure."""
    user = find_by_email(session=session, email=email)
    now = clock.now()
    if user is not None and is_locked(user):
        passwords.verify_password(None, password)  # same cost as a real check
        raise LoginRefused("locked", user.locked_until)
    if user is None or not user.is_active:
        passwords.verify_password(None, password)
        raise LoginRefused("invalid")
    if not passwords.verify_password(user.password_hash, password):
        _count_failure(session, user, policy, now)
        raise LoginRefused("invalid")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.failed_logins = 0
    return user


def is_locked(user: User) -> bool:
    """Return whether the account is locked out now."""
    return user.locked_until is not None and user.locked_until > clock.now()


def _count_failure(session: Session, user: User, policy: LoginPolicy, now: datetime) -> None:
    user.failed_logins += 1
    if user.failed_logins >= policy.max_failures:
        user.lockouts += 1
        minutes = policy.lockout_minutes * 2 ** min(user.lockouts - 1, 6)
        user.locked_until = now + timedelta(minutes=minutes)
        user.failed_logins = 0
        audit.record(
            session,
            actor=Principal.system("login-throttle"),
            action="user.lock",
            entity_type="user",
            entity_id=user.id,
            detail={"minutes": minutes},
        )
    session.flush()


def verify_second_factor(*, session: Session, user: User, code: str, policy: LoginPolicy) -> bool:
    """Check a TOTP code against the user's secret, counting failures towards lockout."""
    if user.totp_secret is None or is_locked(user):
        return False
    step = totp.verify(user.totp_secret, code, user.totp_last_step)
    if step is None:
        _count_failure(session, user, policy, clock.now())
        return False
    user.totp_last_step = step
    user.failed_logins = 0
    session.flush()
    return True


def enrol_second_factor(
    *, session: Session, user: User, secret: str, code: str, actor: Principal
) -> bool:
    """Store a new TOTP secret once the user proves their app produces its codes."""
    step = totp.verify(secret, code, None)
    if step is None:
        return False
    before = snapshot(user)
    user.totp_secret, user.totp_last_step = secret, step
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.two_factor.enrol",
        entity_type="user",
        entity_id=user.id,
        before=before,
        after=snapshot(user),
    )
    return True


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(*, session: Session, user: User, mfa_verified: bool, policy: LoginPolicy) -> str:
    """Create a server-side session and return its token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(
        WebSession(
            id=_token_id(token),
            user_id=user.id,
            mfa_verified=mfa_verified,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=policy.session_hours),
        )
    )
    if mfa_verified or not user.needs_two_factor:
        user.last_login_at = now
        user.lockouts = 0  # only a complete sign-in ends the doubling of lockouts
        audit.record(
            session,
            actor=Principal(user.id, user.role),
            action="user.login",
            entity_type="user",
            entity_id=user.id,
        )
    session.flush()
    return token


ABSOLUTE_SESSION_DAYS = 7
_TOUCH_EVERY = timedelta(minutes=1)


def touch_session(*, web_session: WebSession, policy: LoginPolicy) -> None:
    """Extend an idle session on use, never past its absolute lifetime."""
    now = clock.now()
    if now - web_session.last_seen_at < _TOUCH_EVERY:
        return  # spare a write on every request
    web_session.last_seen_at = now
    web_session.expires_at = min(
        now + timedelta(hours=policy.session_hours),
        web_session.created_at + timedelta(days=ABSOLUTE_SESSION_DAYS),
    )


def find_session(*, session: Session, token: str) -> WebSession | None:
    """Return the live session for `token`, or None if unknown or expired."""
    if not token or len(token) > 128:
        return None
    web_session = session.get(WebSession, _token_id(token))
    if web_session is None or web_session.expires_at <= clock.now():
        return None
    return web_session


# Built once (every request runs it). Reading who is signed in needs neither the encrypted
# columns nor the password hash: left unloaded, they are read (and decrypted) only by the few
# requests that use them.
_SIGNED_IN = (
    select(WebSession, User)
    .join(User, User.id == WebSession.user_id)
    .where(WebSession.id == bindparam("token_id"), WebSession.expires_at > bindparam("now"))
    .options(
        defer(User.email),
        defer(User.display_name),
        defer(User.totp_secret),
        defer(User.password_hash),
    )
)


def find_signed_in(*, session: Session, token: str) -> tuple[WebSession, User] | None:
    """Return the live session for `token` and its active user in one query, or None."""
    if not token or len(token) > 128:
        return None
    found = session.execute(_SIGNED_IN, {"token_id": _token_id(token), "now": clock.now()}).first()
    if found is None or not found[1].is_active:
        return None
    return found[0], found[1]


def upgrade_session(*, session: Session, token: str, user: User, policy: LoginPolicy) -> str:
    """Replace a password-only session by a fully authenticated one (new token: no fixation)."""
    end_session(session=session, token=token)
    return start_session(session=session, user=user, mfa_verified=True, policy=policy)


def end_session(*, session: Session, token: str) -> None:
    """Delete the session for `token`."""
    session.execute(delete(WebSession).where(WebSession.id == _token_id(token)))


def sign_out(*, session: Session, token: str) -> None:
    """End the session for `token` at its user's request, and record it."""
    web_session = find_session(session=session, token=token)
    end_session(session=session, token=token)
    user = session.get(User, web_session.user_id) if web_session is not None else None
    if user is not None:
        audit.record(
            session,
            actor=Principal(user.id, user.role, user.organisation_id),
            action="user.logout",
            entity_type="user",
            entity_id=user.id,
        )


def purge_expired_sessions(*, session: Session) -> int:
    """Delete expired sessions; return how many went."""
    result = session.execute(delete(WebSession).where(WebSession.expires_at <= clock.now()))
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class SignIn:
    """The outcome of a password (and maybe TOTP) check: a session, complete or awaiting TOTP."""

    user: User
    token: str
    complete: bool


def sign_in(
    *, session: Session, email: str, password: str, totp_code: str | None, policy: LoginPolicy
) -> SignIn:
    """Check credentials and open a session; staff without a valid TOTP code get a partial one."""
    user = authenticate(session=session, email=email, password=password, policy=policy)
    complete = not user.needs_two_factor
    if user.needs_two_factor and totp_code and user.totp_secret is not None:
        if not verify_second_factor(session=session, user=user, code=totp_code, policy=policy):
            raise LoginRefused("invalid")
        complete = True
    token = start_session(session=session, user=user, mfa_verified=complete, policy=policy)
    return SignIn(user=user, token=token, complete=complete)


def user_read(user: User) -> dict[str, object]:
    """Return the public fields of a user for the API."""
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "role": user.role,
        "organisation_id": user.organisation_id,
        "two_factor_enabled": user.totp_secret is not None,
        "languages": split_list(user.languages),
        "regions": split_list(user.regions),
        "is_active": user.is_active,
        "created_at": user.created_at,
    }


def list_users(*, session: Session, offset: int = 0, limit: int = 100) -> list[User]:
    """Return users, oldest first."""
    return list(
        session.scalars(select(User).order_by(User.created_at, User.id).offset(offset).limit(limit))
    )


def list_organisations(*, session: Session) -> list[Organisation]:
    """Return all organisations by name."""
    return list(session.scalars(select(Organisation).order_by(Organisation.name)))
