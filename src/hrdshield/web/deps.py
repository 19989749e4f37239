"""Request dependencies: the database session, the signed-in principal, CSRF and access control.

``require(permission)`` is the single place where routes are guarded; the RBAC matrix test reads
the permission it attaches to each route.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable
from typing import Any

from anyio import CancelScope, CapacityLimiter, to_thread
from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session, SessionTransaction

from hrdshield.accounts import service as accounts
from hrdshield.accounts import tokens
from hrdshield.accounts.models import User
from hrdshield.defenders.models import Defender
from hrdshield.detection import platforms
from hrdshield.errors import N_
from hrdshield.security.rbac import Permission, Principal, principal_allows
from hrdshield.web.errors import NotAuthenticated

SESSION_COOKIE = "hrdshield_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


async def get_db(request: Request) -> AsyncIterator[Session]:
    """Yield the request's session; commit when the route succeeds, roll back otherwise.

    Opening a session does no I/O (a connection is taken at the first query), so it happens on
    the event loop; only the commit or the rollback goes to a worker thread. Like FastAPI's own
    handling of generator dependencies, that step has a thread of its own (never waiting for a
    busy pool) and is shielded from cancellation, so a connection is always given back.
    """
    session: Session = request.app.state.session_factory()
    transaction = session.begin().__enter__()  # left in `_end`, as `with session.begin()` would
    try:
        yield session
    except BaseException as error:
        with CancelScope(shield=True):
            await to_thread.run_sync(_end, transaction, error, limiter=CapacityLimiter(1))
        raise
    with CancelScope(shield=True):
        await to_thread.run_sync(_end, transaction, None, limiter=CapacityLimiter(1))


def _end(transaction: SessionTransaction, error: BaseException | None) -> None:
    with transaction.session:  # closes the session, also when the commit fails
        if error is None:
            transaction.__exit__(None, None, None)  # commits
        else:
            transaction.__exit__(type(error), error, error.__traceback__)  # rolls back


# "function" scope commits before the response goes out; the default would commit after it, and a
# fast browser following a redirect could then miss the change it was redirected to see.
DB_SESSION: Any = Depends(get_db, scope="function")


def principal_of(session: Session, user: User) -> Principal:
    """Return the principal acting for `user`."""
    defender_id = None
    if user.role.value == "hrd":
        defender_id = session.query(Defender.id).filter(Defender.user_id == user.id).scalar()
    return Principal(
        user_id=user.id,
        role=user.role,
        organisation_id=user.organisation_id,
        defender_id=defender_id,
    )


_NUL_MARKERS = (b"\x00", b"\\u0000")
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def reject_nul_bytes(request: Request) -> None:
    """Refuse NUL characters in the address, query or fields: none needs one, PostgreSQL fails."""
    if "\x00" in request.url.path or b"%00" in request.scope.get("query_string", b""):
        raise HTTPException(status_code=400, detail=N_("the address contains a NUL character"))
    if request.method not in UNSAFE_METHODS:
        return
    if request.headers.get("content-type", "").startswith(_FORM_TYPES):
        form = await request.form()  # parsed once and cached; files are not inspected
        values = [*form.keys(), *(value for value in form.values() if isinstance(value, str))]
        found = any("\x00" in value for value in values)
    else:
        body = (await request.body()).lower()
        found = any(marker in body for marker in _NUL_MARKERS)
    if found:
        raise HTTPException(status_code=400, detail=N_("the request contains a NUL character"))


def request_context(request: Request, session: Session = DB_SESSION) -> None:
    """Attach the principal (only for a fully signed-in session) to the request state."""
    request.state.principal = None
    request.state.pending_user = None
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
        authenticate = (
            platforms.authenticate
            if token.startswith(platforms.TOKEN_PREFIX)
            else tokens.authenticate
        )
        request.state.principal = authenticate(session=session, token=token)
        if request.state.principal is None:
            raise HTTPException(status_code=401, detail="the API token is unknown or revoked")
        return
    loaded = accounts.find_signed_in(session=session, token=request.cookies.get(SESSION_COOKIE, ""))
    if loaded is None:
        return
    web_session, user = loaded
    accounts.touch_session(web_session=web_session, policy=request.app.state.login_policy)
    if web_session.mfa_verified or not user.needs_two_factor:
        request.state.principal = principal_of(session, user)
    else:
        request.state.pending_user = user


async def csrf_protect(request: Request) -> None:
    """Refuse unsafe requests that do not carry the CSRF token bound to this browser."""
    if request.method not in UNSAFE_METHODS:
        return
    content_type = request.headers.get("content-type", "")
    is_form = content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))
    if not is_form and SESSION_COOKIE not in request.cookies:
        return  # no ambient credential to abuse: a cross-site page cannot send JSON or a cookie
    expected = getattr(request.state, "csrf_token", "")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and is_form:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise HTTPException(
            status_code=403,
            detail=N_("the form expired or came from another site; reload the page and try again"),
        )


def current_principal(request: Request) -> Principal:
    """Return the signed-in principal or ask the client to sign in."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise NotAuthenticated
    return principal


def require(permission: Permission) -> Any:
    """Return a dependency that lets through only roles granted `permission`."""

    async def check(request: Request) -> Principal:  # no I/O: stays on the event loop
        principal = current_principal(request)
        if not principal_allows(principal, permission):
            raise HTTPException(status_code=403, detail=N_("your role does not allow this"))
        return principal

    check.permission = permission  # type: ignore[attr-defined]  # read by the RBAC matrix test
    return Depends(check)


def required_permission(dependency: Callable[..., Any]) -> Permission | None:
    """Return the permission a `require()` dependency enforces, if it is one."""
    return getattr(dependency, "permission", None)
