"""The report pages: the public form, the partner's portal form, the receipt, the status page.

Plain HTML forms that work with JavaScript off, with files sent as multipart form data and held
in memory only. The receipt code never appears in an address: the receipt page is the answer to
the form's POST, and the status page is reached by POSTing the code; its answer form sends the
code again in a hidden field, so no server-side state is kept for a reporter. Each form carries
a one-time token, so sending it again (a reload of the receipt) opens nothing new. Code checks
are throttled per client, and nothing about the client is stored.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from hrdshield.accounts.service import ClientThrottle
from hrdshield.cases import intake, receipts
from hrdshield.cases.enums import CaseCategory, ReporterContact, ReporterRelation
from hrdshield.cases.evidence import service as evidence
from hrdshield.cases.evidence.api import read_upload
from hrdshield.cases.models import Case
from hrdshield.defenders import service as defender_service
from hrdshield.defenders.models import Defender
from hrdshield.errors import DomainError, NotFound
from hrdshield.security.rbac import Permission, Principal, Role
from hrdshield.web.deps import DB_SESSION, require
from hrdshield.web.errors import shown as shown_error
from hrdshield.web.i18n import translations
from hrdshield.web.templating import render

router = APIRouter(include_in_schema=False)

# Attempts per client per five minutes. Checking a code costs an argon2id hash, so the limits
# guard the server as much as the codes (which 100 random bits already protect from guessing).
LIMITS = {"status": 20, "submit": 20}
_THROTTLE_LOCK = threading.Lock()
_FIELDS = ("category", "links", "narrative", "relation", "contact", "contact_email", "defender")
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
        "defender": _("Choose one of your organisation's defenders, or a person not enrolled."),
        "form": _("Your report could not be saved. Please check it and try again."),
        "throttled": _("Too many attempts from this connection. Wait a few minutes and try again."),
    }


def _form(
    request: Request,
    values: dict[str, str],
    problems: dict[str, str],
    status_code: int = 200,
    *,
    session: Session | None = None,
) -> Response:
    principal = request.state.principal
    partner = principal is not None and principal.role is Role.PARTNER
    defenders: list[Defender] = []
    if partner and session is not None:
        defenders, _total = defender_service.list_page(session=session, actor=principal, limit=200)
    settings = request.app.state.settings
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
            "as_partner": partner,
            "action": "/portal/report" if partner else "/report",
            "defenders": defenders,
            # a form is never shown twice with the same token: a failed one gets a fresh one
            "submission": intake.new_submission_token(),
            "max_files": intake.MAX_FILES,
            "max_megabytes": evidence.megabytes(settings.max_upload_bytes),
        },
        status_code=status_code,
    )


_DEFAULTS = {"relation": ReporterRelation.SELF.value, "contact": ReporterContact.STATUS_PAGE.value}


@router.get("/report")
def report_form(request: Request) -> Response:
    """Show the report form; no account needed (a partner is sent to its own form)."""
    principal = request.state.principal
    if principal is not None and principal.role is Role.PARTNER:
        return RedirectResponse("/portal/report", status_code=303)
    return _form(request, dict(_DEFAULTS), {})


def _report_in(values: dict[str, str], sent_as: Role | None) -> intake.ReportCreate:
    fields: dict[str, Any] = {name: values[name] for name in ("category", "links", "narrative")}
    if sent_as is Role.PARTNER:  # the partner follows its report in the portal
        fields.update(relation=ReporterRelation.ON_BEHALF, contact=ReporterContact.NONE)
    elif sent_as is None:  # a defender's profile already says who they are and how to reach them
        fields.update(
            relation=values["relation"],
            contact=values["contact"],
            contact_email=values["contact_email"] or None,
        )
    return intake.ReportCreate(**fields)


async def _read_form(
    request: Request,
) -> tuple[dict[str, str], str, list[evidence.EvidenceFile]]:
    """Return the form's fields, its one-time token and the files it carries (in memory)."""
    form = await request.form()
    try:
        values = {name: str(form.get(name, ""))[:_READ_LIMIT] for name in _FIELDS}
        token = str(form.get("submission", ""))[:100]
        limit = request.app.state.settings.max_upload_bytes
        uploads = [
            evidence.EvidenceFile(item.filename, read_upload(item, limit), item.content_type)
            for item in form.getlist("evidence")
            if isinstance(item, UploadFile) and item.filename  # a browser sends "" for no file
        ]
    finally:
        await form.close()  # the parser's in-memory copies go; only the bytes read here remain
    return values, token, uploads


async def _submit(
    request: Request, session: Session, reporter: Principal | None, sent_as: Role | None
) -> Response:
    values, token, uploads = await _read_form(request)
    if not allowed_now(request, "submit"):
        throttled = {"form": _messages(request)["throttled"]}
        return _form(request, values, throttled, 429, session=session)
    if intake.submission_spent(session=session, token=token):
        return _already_received(request)
    settings = request.app.state.settings
    try:
        report_in = _report_in(values, sent_as)
        with session.begin_nested():
            receipt = intake.submit(
                session=session,
                reporter=reporter,
                report_in=report_in,
                language=request.state.language,
                policy=request.app.state.sla_policy,
                defender_id=values["defender"] or None,
                files=intake.ReportFiles(uploads, settings.uploads_dir, settings.max_upload_bytes),
                submission_token=token,
            )
    except intake.AlreadyReceived:
        return _already_received(request)
    except IntegrityError:  # the same form sent twice at once: the other one was kept
        if intake.submission_spent(session=session, token=token):
            return _already_received(request)
        raise
    except (ValidationError, DomainError) as error:
        problems, status_code = _problems(request, error, sent_as)
        return _refused(
            request, session, values, problems, uploads=uploads, status_code=status_code
        )
    return _receipt(request, receipt, sent_as)


def _problems(
    request: Request, error: ValidationError | DomainError, sent_as: Role | None
) -> tuple[dict[str, str], int]:
    """Return what to show next to which field for a refused report, and the status."""
    messages = _messages(request)
    if isinstance(error, ValidationError):
        fields = {str(item["loc"][0]) for item in error.errors() if item.get("loc")}
        problems = {field: messages[field] for field in _FIELDS if field in fields}
        return problems or {"form": messages["form"]}, 400
    if isinstance(error, intake.FileRefused):
        _ = translations(request.state.language).gettext
        problem = _("%(name)s was not accepted: %(reason)s") % {
            "name": error.filename or "-",
            "reason": shown_error(request, error.reason),
        }
        return {"evidence": problem}, error.status
    if isinstance(error, NotFound) and sent_as is Role.PARTNER:
        return {"defender": messages["defender"]}, 400
    return {"form": shown_error(request, error)}, 400


def _refused(
    request: Request,
    session: Session,
    values: dict[str, str],
    problems: dict[str, str],
    *,
    uploads: list[evidence.EvidenceFile],
    status_code: int = 400,
) -> Response:
    if uploads and "evidence" not in problems:
        _ = translations(request.state.language).gettext
        problems["evidence"] = _(
            "Files are not kept when a report is not saved: choose them again."
        )
    return _form(request, values, problems, status_code, session=session)


def _already_received(request: Request) -> Response:
    return render(request, "report/already.html", {}, status_code=409)


def _receipt(request: Request, receipt: intake.Receipt, sent_as: Role | None) -> Response:
    contact = receipt.case.reporter_contact
    return render(
        request,
        "report/receipt.html",
        {
            "code": receipt.code,
            "case": receipt.case,
            "reference": receipt.case.reference,
            "contact": contact.value if contact else None,
            "as_defender": sent_as is Role.HRD,
            "as_partner": sent_as is Role.PARTNER,
            "files": receipt.files,
        },
    )


@router.post("/report")
async def submit_report(request: Request, session: Session = DB_SESSION) -> Response:
    """Open a case from the report and its files, and show its receipt code, once."""
    defender = reporting_defender(request)
    return await _submit(request, session, defender, Role.HRD if defender else None)


@router.get("/portal/report")
def partner_report_form(
    request: Request,
    session: Session = DB_SESSION,
    _principal: Principal = require(Permission.REPORT_ON_BEHALF),
) -> Response:
    """Show a trusted partner the form to report for one of its defenders."""
    return _form(request, dict(_DEFAULTS), {}, session=session)


@router.post("/portal/report")
async def partner_report(
    request: Request,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.REPORT_ON_BEHALF),
) -> Response:
    """Open a partner's case (queued first among cases due together) and show its reference."""
    return await _submit(request, session, principal, Role.PARTNER)


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
