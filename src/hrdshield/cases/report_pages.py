"""The public report pages: the form, the receipt shown once, and the status page.

Plain HTML forms that work with JavaScript off. The receipt code never appears in an address: the
receipt page is the answer to the form's POST, and the status page is reached by POSTing the
code; its answer form sends the code again in a hidden field, so no server-side state is kept for
a reporter. Code checks are throttled per client, and nothing about the client is stored.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from hrdshield.accounts.service import ClientThrottle
from hrdshield.cases import intake, receipts
from hrdshield.cases.enums import CaseCategory, ReporterContact, ReporterRelation
from hrdshield.cases.models import Case
from hrdshield.errors import DomainError
from hrdshield.security.rbac import Permission, Principal, Role
from hrdshield.web.deps import DB_SESSION, require
from hrdshield.web.i18n import translations
from hrdshield.web.templating import render

router = APIRouter(include_in_schema=False)

# Attempts per client per five minutes. Checking a code costs an argon2id hash, so the limits
# guard the server as much as the codes (which 100 random bits already protect from guessing).
LIMITS = {"status": 20, "submit": 20}
_THROTTLE_LOCK = threading.Lock()
_FIELDS = ("category", "links", "narrative", "relation", "contact", "contact_email")
_READ_LIMIT = intake.MAX_NARRATIVE + 1  # one more than allowed, so "too long" can be said


def allowed_now(request: Request, kind: str) -> bool:
    """Count an attempt of `kind` ("status" or "submit") by this client; False over the limit."""
    name = f"report_{kind}_throttle"
    with _THROTTLE_LOCK:
        throttle = getattr(request.app.state, name, None)
        if throttle is None:
            throttle = ClientThrottle(LIMITS[kind], processes=request.app.state.serving_processes)
            setattr(request.app.state, name, throttle)
    allowed: bool = throttle.hit(request.client.host if request.client else "-")
    return allowed


def reporting_defender(request: Request) -> Principal | None:
    """Return the signed-in defender sending a report, if it is one; None for anybody else."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None or principal.role is not Role.HRD or principal.defender_id is None:
        return None
    return principal


def _messages(request: Request) -> dict[str, str]:
    _ = translations(request.state.language).gettext
    return {
        "category": _("Choose what happened."),
        "links": _("Keep the links and accounts to at most 5,000 characters."),
        "narrative": _("Describe what happened, in at most 20,000 characters."),
        "relation": _("Say whether you are the person attacked or are reporting for someone."),
        "contact": _("Choose whether and how we may contact you."),
        "contact_email": _(
            "Enter an e-mail address such as name@example.org, or choose another way to hear "
            "from us."
        ),
        "form": _("Your report could not be saved. Please check it and try again."),
        "throttled": _("Too many attempts from this connection. Wait a few minutes and try again."),
    }


def _form(
    request: Request, values: dict[str, str], problems: dict[str, str], status_code: int = 200
) -> Response:
    return render(
        request,
        "report/form.html",
        {
            "values": values,
            "problems": problems,
            "categories": [category.value for category in CaseCategory],
            "relations": [relation.value for relation in ReporterRelation],
            "contacts": [contact.value for contact in ReporterContact],
            "as_defender": reporting_defender(request) is not None,
        },
        status_code=status_code,
    )


@router.get("/report")
def report_form(request: Request) -> Response:
    """Show the report form; no account needed."""
    defaults = {
        "relation": ReporterRelation.SELF.value,
        "contact": ReporterContact.STATUS_PAGE.value,
    }
    return _form(request, defaults, {})


def _report_in(values: dict[str, str], as_defender: bool) -> intake.ReportCreate:
    fields: dict[str, Any] = {name: values[name] for name in ("category", "links", "narrative")}
    if not as_defender:  # a defender's profile already says who they are and how to reach them
        fields.update(
            relation=values["relation"],
            contact=values["contact"],
            contact_email=values["contact_email"] or None,
        )
    return intake.ReportCreate(**fields)


@router.post("/report")
async def submit_report(request: Request, session: Session = DB_SESSION) -> Response:
    """Open a case from the report and show its receipt code, once."""
    form = await request.form()
    values = {name: str(form.get(name, ""))[:_READ_LIMIT] for name in _FIELDS}
    messages = _messages(request)
    if not allowed_now(request, "submit"):
        return _form(request, values, {"form": messages["throttled"]}, status_code=429)
    defender = reporting_defender(request)
    try:
        report_in = _report_in(values, defender is not None)
        with session.begin_nested():
            receipt = intake.submit(
                session=session,
                reporter=defender,
                report_in=report_in,
                language=request.state.language,
                policy=request.app.state.sla_policy,
            )
    except ValidationError as error:
        fields = {str(item["loc"][0]) for item in error.errors() if item.get("loc")}
        problems = {field: messages[field] for field in _FIELDS if field in fields}
        return _form(request, values, problems or {"form": messages["form"]}, status_code=400)
    except DomainError:
        return _form(request, values, {"form": messages["form"]}, status_code=400)
    return render(
        request,
        "report/receipt.html",
        {
            "code": receipt.code,
            "reference": receipt.case.reference,
            "contact": receipt.case.reporter_contact.value
            if receipt.case.reporter_contact
            else None,
            "as_defender": defender is not None,
        },
    )


def _status_form(request: Request, error: str | None = None, status_code: int = 200) -> Response:
    return render(request, "report/status.html", {"case": None, "error": error}, status_code)


def _status_page(
    request: Request,
    session: Session,
    shown: Case,
    code: str,
    *,
    answer: str = "",
    answer_error: str | None = None,
    sent: bool = False,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "report/status.html",
        {
            "case": shown,
            "code": code,
            "messages": intake.messages_of(session=session, case_id=shown.id),
            "answer": answer,
            "answer_error": answer_error,
            "sent": sent,
            "error": None,
        },
        status_code=status_code,
    )


@router.get("/report/status")
def status_form(request: Request) -> Response:
    """Ask for the receipt code (sent by POST, so it stays out of addresses and history)."""
    return _status_form(request)


@router.post("/report/status")
async def status(request: Request, session: Session = DB_SESSION) -> Response:
    """Show a report's status and messages to whoever holds its code; take their answer."""
    _ = translations(request.state.language).gettext
    form = await request.form()
    code = str(form.get("code", ""))[:200]
    if not allowed_now(request, "status"):
        message = _("Too many attempts from this connection. Wait a few minutes and try again.")
        return _status_form(request, message, status_code=429)
    shown = intake.find_by_code(session=session, code=code)
    if shown is None:
        message = _(
            "No report matches this code. Check the code and try again; letters can be typed in "
            "capitals or not, with or without dashes."
        )
        return _status_form(request, message, status_code=400)
    code = receipts.grouped(receipts.normalise(code) or "")  # sent back in the answer form
    if form.get("action") != "answer":
        return _status_page(request, session, shown, code)
    answer = str(form.get("answer", ""))[: intake.MAX_MESSAGE + 1]
    try:
        with session.begin_nested():
            intake.reply(session=session, case=shown, body=answer)
    except DomainError:
        problem = _("Write an answer of at most 10,000 characters.")
        return _status_page(
            request, session, shown, code, answer=answer, answer_error=problem, status_code=400
        )
    return _status_page(request, session, shown, code, sent=True)


@router.post("/staff/cases/{case_id}/questions")
def ask_form(
    case_id: str,
    body: str = Form("", max_length=intake.MAX_MESSAGE),
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_WORK),
) -> Response:
    """Ask the case's reporter a question (the form on the reviewer's case page)."""
    intake.ask(session=session, actor=principal, case_id=case_id, body=body)
    return RedirectResponse(f"/staff/cases/{case_id}", status_code=303)
