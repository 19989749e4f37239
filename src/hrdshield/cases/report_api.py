"""JSON routes for public reports (no account needed) and for the response team's questions.

The same rules as the pages: a receipt code is returned once, on creation, and is sent back only
in request bodies, never in an address; code checks are throttled per client.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from hrdshield.cases import intake, receipts
from hrdshield.cases.enums import CaseStatus, MessageDirection
from hrdshield.cases.models import Case, CaseMessage
from hrdshield.cases.report_pages import allowed_now, reporting_defender
from hrdshield.security.rbac import Permission, Principal
from hrdshield.web.deps import DB_SESSION, require

router = APIRouter(tags=["reports"])
_THROTTLED = "too many attempts from this client; wait a few minutes"


class ReceiptRead(BaseModel):
    """A report just received; `receipt_code` is shown this once and never again."""

    reference: str
    receipt_code: str
    status: CaseStatus
    language: str


class CodeIn(BaseModel):
    """A receipt code, in any case, with or without spaces or dashes."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=receipts.MAX_TYPED)


class ReplyIn(CodeIn):
    """The reporter's answer, with the receipt code that proves the report is theirs."""

    body: str = Field(min_length=1, max_length=intake.MAX_MESSAGE)


class QuestionIn(BaseModel):
    """A question to the case's reporter."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=intake.MAX_MESSAGE)


class ReporterMessageRead(BaseModel):
    """A message as the reporter sees it (who on the team wrote it is not shown)."""

    direction: MessageDirection
    body: str
    created_at: datetime


class CaseMessageRead(ReporterMessageRead):
    """A message as the response team sees it."""

    id: str
    author_id: str | None


class ReportStatusRead(BaseModel):
    """What the holder of a receipt code may know about their report."""

    reference: str
    status: CaseStatus
    language: str
    created_at: datetime
    messages: list[ReporterMessageRead]


def _throttle(request: Request, kind: str) -> None:
    if not allowed_now(request, kind):
        raise HTTPException(status_code=429, detail=_THROTTLED)


def _case_for(request: Request, session: Session, code: str) -> Case:
    _throttle(request, "status")
    found = intake.find_by_code(session=session, code=code)
    if found is None:
        raise HTTPException(status_code=404, detail="no report matches this receipt code")
    return found


@router.post("/reports", response_model=ReceiptRead, status_code=201)
def submit_report(
    body: intake.ReportCreate, request: Request, session: Session = DB_SESSION
) -> dict[str, object]:
    """Send a report without an account; the answer holds its receipt code, shown only once."""
    _throttle(request, "submit")
    receipt = intake.submit(
        session=session,
        reporter=reporting_defender(request),
        report_in=body,
        language=request.state.language,
        policy=request.app.state.sla_policy,
    )
    return {
        "reference": receipt.case.reference,
        "receipt_code": receipt.code,
        "status": receipt.case.status,
        "language": receipt.case.language,
    }


@router.post("/reports/status", response_model=ReportStatusRead)
def report_status(
    body: CodeIn, request: Request, session: Session = DB_SESSION
) -> dict[str, object]:
    """Return a report's status and messages to whoever holds its receipt code."""
    found = _case_for(request, session, body.code)
    return {
        "reference": found.reference,
        "status": found.status,
        "language": found.language,
        "created_at": found.created_at,
        "messages": intake.messages_of(session=session, case_id=found.id),
    }


@router.post("/reports/replies", response_model=ReporterMessageRead, status_code=201)
def reply(body: ReplyIn, request: Request, session: Session = DB_SESSION) -> CaseMessage:
    """Answer the response team, or add information, with the report's receipt code."""
    found = _case_for(request, session, body.code)
    return intake.reply(session=session, case=found, body=body.body)


@router.post("/cases/{case_id}/questions", response_model=CaseMessageRead, status_code=201)
def ask(
    case_id: str,
    body: QuestionIn,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_WORK),
) -> CaseMessage:
    """Ask the case's reporter a question; they are told there is news as they chose."""
    return intake.ask(session=session, actor=principal, case_id=case_id, body=body.body)


@router.get("/cases/{case_id}/messages", response_model=list[CaseMessageRead])
def messages(
    case_id: str,
    session: Session = DB_SESSION,
    principal: Principal = require(Permission.CASE_WORK),
) -> list[CaseMessage]:
    """Return the messages between the response team and the case's reporter, oldest first."""
    return intake.conversation(session=session, actor=principal, case_id=case_id)
