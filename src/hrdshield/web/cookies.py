"""The session cookie: HttpOnly, SameSite=Strict, Secure unless configured off for loopback."""

from __future__ import annotations

from fastapi import Request, Response

from hrdshield.web.deps import SESSION_COOKIE


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    """Attach the session token to `response`."""
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    """Remove the session cookie from the browser."""
    settings = request.app.state.settings
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=settings.cookie_secure, httponly=True, samesite="strict"
    )
