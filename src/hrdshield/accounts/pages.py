"""Sign-in pages: password, then TOTP for staff, first-time TOTP set-up, and sign-out.

Every step works with plain HTML forms; no step needs JavaScript.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from hrdshield.accounts import service
from hrdshield.accounts.models import User
from hrdshield.security import totp
from hrdshield.security.rbac import Principal
from hrdshield.web.cookies import clear_session_cookie, set_session_cookie
from hrdshield.web.deps import DB_SESSION, SESSION_COOKIE
from hrdshield.web.i18n import translations
from hrdshield.web.templating import render

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Return `target` if it is a path on this site, else the home page (no open redirects)."""
    if (
        target
        and target.startswith("/")
        and not target.startswith(("//", "/\\"))
        and len(target) < 500
    ):
        return target
    return "/home"


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:  # noqa: A002  (query name)
    """Show the sign-in form."""
    if request.state.principal is not None:
        return _redirect(safe_next(next))
    return render(request, "accounts/login.html", {"next": safe_next(next), "error": None})


@router.post("/login")
def login(
    request: Request,
    email: str = Form("", max_length=254),
    password: str = Form("", max_length=1024),
    next: str = Form("/home", max_length=500),  # noqa: A002  (form field name)
    session: Session = DB_SESSION,
) -> Response:
    """Check the password; staff continue to the TOTP step."""
    _ = translations(request.state.language).gettext
    context = {"next": safe_next(next), "email": email}
    if not request.app.state.client_throttle.hit(request.client.host if request.client else "-"):
        return render(
            request,
            "accounts/login.html",
            {**context, "error": _("Too many attempts. Wait a few minutes and try again.")},
            status_code=429,
        )
    try:
        result = service.sign_in(
            session=session,
            email=email,
            password=password,
            totp_code=None,
            policy=request.app.state.login_policy,
        )
    except service.LoginRefused:
        # The same words whether the account is locked or the password wrong: a distinct answer
        # would tell a stranger that an e-mail address belongs to somebody enrolled here.
        message = _(
            "E-mail or password not recognised. After repeated failures, sign-in is paused for "
            "a while."
        )
        return render(
            request, "accounts/login.html", {**context, "error": message}, status_code=401
        )
    if result.complete:
        target = safe_next(next)
    elif result.user.totp_secret is None:
        target = "/account/two-factor/setup?" + urlencode({"next": safe_next(next)})
    else:
        target = "/login/two-factor?" + urlencode({"next": safe_next(next)})
    response = _redirect(target)
    set_session_cookie(response, request, result.token)
    return response


def _pending(request: Request) -> User | None:
    return getattr(request.state, "pending_user", None)


@router.get("/login/two-factor")
def two_factor_form(request: Request, next: str | None = None) -> Response:  # noqa: A002
    """Ask for the TOTP code."""
    if _pending(request) is None:
        return _redirect("/login")
    return render(request, "accounts/two_factor.html", {"next": safe_next(next), "error": None})


@router.post("/login/two-factor")
def two_factor(
    request: Request,
    code: str = Form("", max_length=20),
    next: str = Form("/home", max_length=500),  # noqa: A002
    session: Session = DB_SESSION,
) -> Response:
    """Check the TOTP code and complete the sign-in with a fresh session token."""
    user = _pending(request)
    if user is None:
        return _redirect("/login")
    _ = translations(request.state.language).gettext
    policy = request.app.state.login_policy
    if not service.verify_second_factor(session=session, user=user, code=code, policy=policy):
        if service.is_locked(user):
            service.end_session(session=session, token=request.cookies.get(SESSION_COOKIE, ""))
        return render(
            request,
            "accounts/two_factor.html",
            {"next": safe_next(next), "error": _("That code is not valid. Try the current one.")},
            status_code=401,
        )
    token = service.upgrade_session(
        session=session, token=request.cookies.get(SESSION_COOKIE, ""), user=user, policy=policy
    )
    response = _redirect(safe_next(next))
    set_session_cookie(response, request, token)
    return response


def _setup_context(user: User, secret: str, next_url: str, error: str | None) -> dict[str, object]:
    uri = totp.provisioning_uri(secret, user.email)
    return {"secret": secret, "qr_svg": totp.qr_svg(uri), "next": next_url, "error": error}


@router.get("/account/two-factor/setup")
def two_factor_setup_form(request: Request, next: str | None = None) -> Response:  # noqa: A002
    """Show a new TOTP secret (QR code and text) for a user who has none yet."""
    user = _pending(request)
    if user is None or user.totp_secret is not None:
        return _redirect("/login")
    return render(
        request,
        "accounts/two_factor_setup.html",
        _setup_context(user, totp.new_secret(), safe_next(next), None),
    )


@router.post("/account/two-factor/setup")
def two_factor_setup(
    request: Request,
    secret: str = Form("", max_length=64),
    code: str = Form("", max_length=20),
    next: str = Form("/home", max_length=500),  # noqa: A002
    session: Session = DB_SESSION,
) -> Response:
    """Store the TOTP secret once a valid code proves the app is set up."""
    user = _pending(request)
    if user is None or user.totp_secret is not None:
        return _redirect("/login")
    _ = translations(request.state.language).gettext
    valid_secret = len(secret) == 32 and secret.isalnum() and secret.isupper()
    principal = Principal(user.id, user.role, user.organisation_id)
    if not valid_secret or not service.enrol_second_factor(
        session=session, user=user, secret=secret, code=code, actor=principal
    ):
        fresh = secret if valid_secret else totp.new_secret()
        return render(
            request,
            "accounts/two_factor_setup.html",
            _setup_context(
                user,
                fresh,
                safe_next(next),
                _("That code is not valid. Check the time on your phone and try again."),
            ),
            status_code=400,
        )
    token = service.upgrade_session(
        session=session,
        token=request.cookies.get(SESSION_COOKIE, ""),
        user=user,
        policy=request.app.state.login_policy,
    )
    response = _redirect(safe_next(next))
    set_session_cookie(response, request, token)
    return response


@router.post("/logout")
def logout(request: Request, session: Session = DB_SESSION) -> Response:
    """Sign out and forget the session."""
    service.sign_out(session=session, token=request.cookies.get(SESSION_COOKIE, ""))
    response = _redirect("/")
    clear_session_cookie(response, request)
    return response
