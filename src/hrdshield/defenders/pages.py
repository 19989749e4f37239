"""Enrolment pages: self-registration, a partner enrolling on a defender's behalf, and staff views.

Forms are plain HTML; a mistake re-shows the form with each problem next to its field and
nothing saved.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from hrdshield.defenders import service
from hrdshield.defenders.enums import (
    ConsentScope,
    ContactChannel,
    DefenderGroup,
    DefenderStatus,
    IdentifierKind,
)
from hrdshield.defenders.schemas import DefenderCreate, DefenderUpdate, IdentifierIn
from hrdshield.errors import DomainError
from hrdshield.security.rbac import Permission, Principal, Role
from hrdshield.web.deps import DB_SESSION, require
from hrdshield.web.errors import shown
from hrdshield.web.i18n import translations
from hrdshield.web.templating import render

router = APIRouter(include_in_schema=False)

FORM_LANGUAGES = ("en", "es", "fr", "ar", "ru", "pt", "fa", "tr", "sw", "zh")
_IDENTIFIER_FIELDS = {
    "phone": IdentifierKind.PHONE,
    "identifier_email": IdentifierKind.EMAIL,
    "address": IdentifierKind.ADDRESS,
    "national_id": IdentifierKind.NATIONAL_ID,
}


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


async def _read_form(request: Request) -> dict[str, Any]:
    form = await request.form()
    values: dict[str, Any] = {
        key: str(form.get(key, ""))[:2000]
        for key in (
            "display_name",
            "country",
            "handles",
            "contact_channel",
            "contact_address",
            "email",
            "password",
            *_IDENTIFIER_FIELDS,
        )
    }
    values["languages"] = [str(code) for code in form.getlist("languages")][:10]
    values["groups"] = [str(group) for group in form.getlist("groups")][:9]
    values["consents"] = [str(scope) for scope in form.getlist("consents")][:4]
    return values


def _to_create(values: dict[str, Any]) -> DefenderCreate:
    identifiers = [
        IdentifierIn(kind=kind, value=values[field])
        for field, kind in _IDENTIFIER_FIELDS.items()
        if values.get(field, "").strip()
    ]
    return DefenderCreate(
        display_name=values["display_name"],
        handles=_lines(values["handles"]),
        country=values["country"],
        languages=values["languages"],
        groups=values["groups"],
        contact_channel=values["contact_channel"] or ContactChannel.IN_APP.value,
        contact_address=values["contact_address"] or None,
        identifiers=identifiers,
        consents=values["consents"] or [],
    )


def _field_messages(request: Request) -> dict[str, str]:
    """Return what to say next to each field of the enrolment form, in the reader's language."""
    _ = translations(request.state.language).gettext
    return {
        "display_name": _("Enter a name or pseudonym of at most 200 characters."),
        "country": _("Enter the two-letter code of the country, such as MX or KE."),
        "languages": _("Choose at least one language, and at most ten."),
        "groups": _("Choose only among the groups listed."),
        "handles": _("Give at most 20 handles, one per line, each of 1 to 100 characters."),
        "contact_channel": _("Choose how we may contact you."),
        "contact_address": _("Keep the contact address to at most 500 characters."),
        "consents": _("Choose at least the consent to processing."),
        "phone": _("Check the phone number, address and identity number you entered."),
        "form": _("Check the values marked and try again."),
    }


def _problems(request: Request, error: ValidationError | DomainError) -> dict[str, str]:
    if isinstance(error, DomainError):
        return {"form": shown(request, error)}
    messages = _field_messages(request)
    problems: dict[str, str] = {}
    for item in error.errors():
        location = [str(part) for part in item.get("loc", ())]
        field = location[0] if location else "form"
        if field == "identifiers":
            field = "phone"
        problems.setdefault(field, messages.get(field, messages["form"]))
    return problems


def _form_context(mode: str, values: dict[str, Any], problems: dict[str, str]) -> dict[str, Any]:
    return {
        "mode": mode,
        "values": values,
        "problems": problems,
        "form_languages": FORM_LANGUAGES,
        "groups": list(DefenderGroup),
        "channels": list(ContactChannel),
        "scopes": list(ConsentScope),
    }


_EMPTY = {
    "languages": [],
    "groups": [],
    "consents": [ConsentScope.PROCESSING.value, ConsentScope.PROACTIVE_NOTIFICATION.value],
}


@router.get("/enrol")
def self_enrol_form(request: Request) -> Response:
    """Show the self-registration form."""
    if request.state.principal is not None and request.state.principal.role is not Role.HRD:
        return RedirectResponse("/home", status_code=303)
    return render(request, "defenders/form.html", _form_context("self", dict(_EMPTY), {}))


@router.post("/enrol")
async def self_enrol(request: Request, session: Session = DB_SESSION) -> Response:
    """Take a self-registration; staff verify it before protection starts.

    A new address and one already registered get the same answer (its owner is e-mailed
    instead), so this form cannot tell a stranger who is enrolled. Nobody is signed in here.
    """
    principal = request.state.principal
    if principal is not None and principal.role is not Role.HRD:
        return RedirectResponse("/home", status_code=303)
    values = await _read_form(request)
    try:
        defender_in = _to_create(values)
        with session.begin_nested():
            if principal is None:
                service.self_register(
                    session=session,
                    email=values["email"],
                    password=values["password"],
                    defender_in=defender_in,
                    language=request.state.language,
                )
            else:
                service.enrol(session=session, actor=principal, defender_in=defender_in)
    except (ValidationError, DomainError) as error:
        values["password"] = ""
        return render(
            request,
            "defenders/form.html",
            _form_context("self", values, _problems(request, error)),
            status_code=400,
        )
    target = "/enrol/received" if principal is None else "/portal?enrolled=1"
    return RedirectResponse(target, status_code=303)


@router.get("/enrol/received")
def self_enrol_received(request: Request) -> Response:
    """Say that a self-registration was received, the same way whatever the address was."""
    return render(request, "defenders/received.html")


def _enrol_on_behalf_form(request: Request, mode: str) -> Response:
    return render(request, "defenders/form.html", _form_context(mode, dict(_EMPTY), {}))


async def _enrol_on_behalf(
    request: Request, session: Session, principal: Principal, mode: str, done: str
) -> Response:
    values = await _read_form(request)
    try:
        defender_in = _to_create(values)
        with session.begin_nested():
            defender = service.enrol(session=session, actor=principal, defender_in=defender_in)
    except (ValidationError, DomainError) as error:
        return render(
            request,
            "defenders/form.html",
            _form_context(mode, values, _problems(request, error)),
            status_code=400,
        )
    return RedirectResponse(done.format(id=defender.id), status_code=303)


@router.get("/portal/defenders/new")
def partner_enrol_form(
    request: Request, _principal: Principal = require(Permission.ENROL_ON_BEHALF)
) -> Response:
    """Show the form a partner uses to enrol a defender who consented."""
    return _enrol_on_behalf_form(request, "partner")


@router.post("/portal/defenders/new")
async def partner_enrol(
    request: Request,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.ENROL_ON_BEHALF),
) -> Response:
    """Enrol a defender on their behalf."""
    return await _enrol_on_behalf(request, session, principal, "partner", "/portal?enrolled=1")


@router.get("/staff/defenders")
def staff_list(
    request: Request,
    status: DefenderStatus | None = None,
    offset: int = 0,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.DEFENDER_DIRECTORY),
) -> Response:
    """List defenders, newest first, optionally by status."""
    rows, total = service.list_page(
        session=session, actor=principal, offset=max(offset, 0), limit=50, status=status
    )
    return render(
        request,
        "defenders/list.html",
        {
            "defenders": rows,
            "total": total,
            "status": status,
            "offset": max(offset, 0),
            "statuses": list(DefenderStatus),
        },
    )


@router.get("/staff/defenders/new")
def staff_enrol_form(
    request: Request, _principal: Principal = require(Permission.DEFENDER_DIRECTORY)
) -> Response:
    """Show the staff enrolment form."""
    return _enrol_on_behalf_form(request, "staff")


@router.post("/staff/defenders/new")
async def staff_enrol(
    request: Request,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.DEFENDER_DIRECTORY),
) -> Response:
    """Enrol a defender as staff."""
    return await _enrol_on_behalf(request, session, principal, "staff", "/staff/defenders/{id}")


@router.get("/staff/defenders/{defender_id}")
def staff_detail(
    request: Request,
    defender_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.DEFENDER_DIRECTORY),
) -> Response:
    """Show one defender's profile and consent history."""
    defender = service.get(session=session, actor=principal, defender_id=defender_id)
    return render(
        request,
        "defenders/detail.html",
        {
            "defender": defender,
            "handles": service.decoded_list(defender.handles),
            "groups": service.decoded_list(defender.groups),
        },
    )


@router.post("/staff/defenders/{defender_id}/status")
def staff_set_status(
    defender_id: str,
    status: DefenderStatus = Form(...),
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.DEFENDER_DIRECTORY),
) -> Response:
    """Verify (activate) or suspend a defender's protection."""
    service.update(
        session=session,
        actor=principal,
        defender_id=defender_id,
        defender_in=DefenderUpdate(status=status),
    )
    return RedirectResponse(f"/staff/defenders/{defender_id}", status_code=303)
