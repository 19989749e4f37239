"""JSON routes for sessions, users and organisations."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from hrdshield.accounts import service, tokens
from hrdshield.accounts.models import ApiToken
from hrdshield.accounts.schemas import (
    ApiTokenCreate,
    ApiTokenIssued,
    ApiTokenRead,
    OrganisationCreate,
    OrganisationRead,
    SessionCreate,
    SessionRead,
    UserCreate,
    UserRead,
)
from hrdshield.db import split_list
from hrdshield.security.rbac import Permission, Principal
from hrdshield.web.cookies import clear_session_cookie, set_session_cookie
from hrdshield.web.deps import DB_SESSION, SESSION_COOKIE, current_principal, require
from hrdshield.web.errors import problem

router = APIRouter(tags=["accounts"])


@router.post("/session", response_model=SessionRead, status_code=201)
def create_session(
    body: SessionCreate, request: Request, response: Response, session: Session = DB_SESSION
) -> dict[str, object] | JSONResponse:
    """Sign in; staff must send their current TOTP code in `totp_code`."""
    if not request.app.state.client_throttle.hit(request.client.host if request.client else "-"):
        raise HTTPException(status_code=429, detail="too many sign-in attempts; wait a few minutes")
    try:
        result = service.sign_in(
            session=session,
            email=body.email,
            password=body.password,
            totp_code=body.totp_code,
            policy=request.app.state.login_policy,
        )
    except service.LoginRefused as refused:
        # Answer instead of raising: raising rolls back the failure count, and lockout with it.
        return problem(401, _refusal(refused))
    if not result.complete:
        service.end_session(session=session, token=result.token)
        return problem(401, "this account needs a valid totp_code")
    set_session_cookie(response, request, result.token)
    return {"user": service.user_read(result.user), "csrf_token": request.state.csrf_token}


def _refusal(_refused: service.LoginRefused) -> str:
    # One message for every refusal: a distinct "locked" answer would tell a stranger that an
    # e-mail address belongs to somebody enrolled here.
    return "e-mail, password or code not recognised; after repeated failures, wait a while"


@router.delete("/session", status_code=204)
def delete_session(
    request: Request,
    response: Response,
    session: Session = DB_SESSION,
    _principal: Principal = Depends(current_principal),
) -> None:
    """Sign out."""
    service.sign_out(session=session, token=request.cookies.get(SESSION_COOKIE, ""))
    clear_session_cookie(response, request)


@router.get("/me", response_model=UserRead)
def me(
    session: Session = DB_SESSION, principal: Principal = Depends(current_principal)
) -> dict[str, object]:
    """Return the signed-in user."""
    assert principal.user_id is not None  # noqa: S101  (a signed-in principal always has one)
    return service.user_read(service.get_user(session=session, user_id=principal.user_id))


@router.post("/users", response_model=UserRead, status_code=201)
def create_user(
    body: UserCreate,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.USER_MANAGE),
) -> dict[str, object]:
    """Create a user."""
    user = service.create_user(
        session=session,
        actor=principal,
        email=body.email,
        display_name=body.display_name,
        password=body.password,
        role=body.role,
        organisation_id=body.organisation_id,
        languages=",".join(body.languages),
        regions=",".join(code.upper() for code in body.regions),
    )
    return service.user_read(user)


@router.get("/users", response_model=list[UserRead])
def list_users(
    offset: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=500),
    session: Session = DB_SESSION,
    _principal: Principal = require(Permission.USER_MANAGE),
) -> list[dict[str, object]]:
    """List users."""
    return [
        service.user_read(user)
        for user in service.list_users(session=session, offset=offset, limit=limit)
    ]


@router.post("/organisations", response_model=OrganisationRead, status_code=201)
def create_organisation(
    body: OrganisationCreate,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.ORGANISATION_MANAGE),
) -> object:
    """Register a trusted partner organisation."""
    return service.create_organisation(
        session=session, actor=principal, name=body.name, country=body.country
    )


@router.get("/organisations", response_model=list[OrganisationRead])
def list_organisations(
    session: Session = DB_SESSION,
    _principal: Principal = require(Permission.ORGANISATION_MANAGE),
) -> object:
    """List trusted partner organisations."""
    return service.list_organisations(session=session)


def _token_read(row: ApiToken) -> dict[str, object]:
    return {
        "id": row.id,
        "organisation_id": row.organisation_id,
        "name": row.name,
        "prefix": row.prefix,
        "scopes": split_list(row.scopes),
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "revoked_at": row.revoked_at,
    }


@router.post(
    "/organisations/{organisation_id}/tokens", response_model=ApiTokenIssued, status_code=201
)
def issue_token(
    organisation_id: str,
    body: ApiTokenCreate,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.ORGANISATION_MANAGE),
) -> dict[str, object]:
    """Issue an API token to a partner organisation; the token is in this answer only."""
    row, token = tokens.issue(
        session=session,
        actor=principal,
        organisation_id=organisation_id,
        name=body.name,
        scopes=set(body.scopes),
    )
    return {**_token_read(row), "token": token}


@router.get("/organisations/{organisation_id}/tokens", response_model=list[ApiTokenRead])
def list_tokens(
    organisation_id: str,
    session: Session = DB_SESSION,
    _principal: Principal = require(Permission.ORGANISATION_MANAGE),
) -> list[dict[str, object]]:
    """List an organisation's API tokens."""
    return [
        _token_read(row)
        for row in tokens.list_for(session=session, organisation_id=organisation_id)
    ]


@router.delete("/tokens/{token_id}", response_model=ApiTokenRead)
def revoke_token(
    token_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.ORGANISATION_MANAGE),
) -> dict[str, object]:
    """Revoke an API token at once."""
    return _token_read(tokens.revoke(session=session, actor=principal, token_id=token_id))
