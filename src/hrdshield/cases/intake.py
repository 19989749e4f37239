"""Reports from the public: the form and API anyone can use, receipt codes, and reporter messages.

A report needs no account. It opens a case through `service.create` (severity suggestion, SLA
deadline, timeline and audit included), then gets a receipt code that is shown once and stored
only as a keyed digest and an argon2id hash (see `receipts`). With the code, the reporter reads
the case's status and the response team's questions, and answers them.

This module must never store anything about the reporter's connection (address, browser, headers)
and never put a narrative, a question, an answer or a contact address in a log or an audit detail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.cases import receipts, service
from hrdshield.cases.enums import (
    CaseCategory,
    CaseEventKind,
    CaseSource,
    MessageDirection,
    ReporterContact,
    ReporterRelation,
)
from hrdshield.cases.models import Case, CaseEvent, CaseMessage
from hrdshield.cases.schemas import CaseCreate
from hrdshield.cases.sla import SlaPolicy
from hrdshield.defenders.models import Defender
from hrdshield.errors import N_, ValidationProblem
from hrdshield.notify import service as notifications
from hrdshield.notify.enums import NotificationChannel, TemplateKey
from hrdshield.security import audit
from hrdshield.security.rbac import Principal, Role

MAX_NARRATIVE = 20_000
MAX_LINKS = 5_000
MAX_EMAIL = 254
MAX_MESSAGE = 10_000
SUMMARY_LENGTH = 120
# The address check of the notification outbox, so an address accepted here can be written to.
_EMAIL = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+\.[^@\s<>()\[\],;:\"\\]+")

PUBLIC_REPORTER = Principal.system("public-report")


class ReportCreate(BaseModel):
    """A report sent through the public form or API; no account needed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category: CaseCategory
    links: str = Field("", max_length=MAX_LINKS)
    narrative: str = Field(min_length=1, max_length=MAX_NARRATIVE)
    relation: ReporterRelation = ReporterRelation.SELF
    contact: ReporterContact = ReporterContact.STATUS_PAGE
    contact_email: str | None = Field(None, max_length=MAX_EMAIL, validate_default=True)
    language: str | None = Field(None, pattern=r"^[a-z]{2,3}$")

    @field_validator("contact_email")
    @classmethod
    def _email_when_asked(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Require an e-mail address only to be contacted by e-mail; otherwise keep none."""
        if info.data.get("contact") is not ReporterContact.EMAIL:
            return None  # typed but not chosen: store less, not more
        if not value or not _EMAIL.fullmatch(value):
            raise ValueError("enter an e-mail address, or choose another way to hear from us")
        return value


@dataclass(frozen=True)
class Receipt:
    """A case just opened from a report, and its receipt code (which exists only here)."""

    case: Case
    code: str


def _summary(narrative: str) -> str:
    first_line = next((line.strip() for line in narrative.splitlines() if line.strip()), "")
    if len(first_line) <= SUMMARY_LENGTH:
        return first_line
    return first_line[: SUMMARY_LENGTH - 1].rstrip() + "…"


def submit(
    *,
    session: Session,
    reporter: Principal | None,
    report_in: ReportCreate,
    language: str,
    policy: SlaPolicy | None = None,
) -> Receipt:
    """Open a case from a public report and issue its receipt code.

    A signed-in defender's report is linked to their enrolment (their profile says how to reach
    them); anybody else's is anonymous, reached only as they chose in the report.
    """
    as_defender = (
        reporter is not None and reporter.role is Role.HRD and reporter.defender_id is not None
    )
    actor = reporter if as_defender and reporter is not None else PUBLIC_REPORTER
    opened = service.create(
        session=session,
        actor=actor,
        case_in=CaseCreate(
            category=report_in.category,
            summary=_summary(report_in.narrative),
            narrative=report_in.narrative,
            language=report_in.language or language,
        ),
        policy=policy,
    )
    if as_defender:
        opened.reporter_relation = ReporterRelation.SELF
    else:
        opened.source = CaseSource.ANONYMOUS
        opened.reporter_relation = report_in.relation
        opened.reporter_contact = report_in.contact
        opened.reporter_email = report_in.contact_email
        _correct_created_event(session, opened)
    opened.reported_links = report_in.links or None
    code = receipts.new_code()
    canonical = receipts.normalise(code)
    assert canonical is not None  # noqa: S101  (a fresh code is always well-formed)
    opened.receipt_lookup = receipts.lookup_digest(canonical)
    opened.receipt_hash = receipts.hash_code(canonical)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="case.receipt_issued",
        entity_type="case",
        entity_id=opened.id,
        detail={"source": opened.source.value},
    )
    return Receipt(case=opened, code=code)


def _correct_created_event(session: Session, opened: Case) -> None:
    # `service.create` records a principal without a role as the detection pipeline.
    created = session.scalar(
        select(CaseEvent).where(
            CaseEvent.case_id == opened.id, CaseEvent.kind == CaseEventKind.CREATED
        )
    )
    if created is not None:
        created.data = {**created.data, "source": opened.source.value}


def find_by_code(*, session: Session, code: str) -> Case | None:
    """Return the case a receipt code opens, or None; a wrong code costs as long as a right one."""
    canonical = receipts.normalise(code)
    candidates: list[Case | None] = []
    if canonical is not None:
        candidates.extend(
            session.scalars(
                select(Case).where(Case.receipt_lookup == receipts.lookup_digest(canonical))
            )
        )
    found = None
    for candidate in candidates or [None]:  # a prefix shared by two codes is rare, not an error
        stored = candidate.receipt_hash if candidate is not None else None
        if receipts.verify(stored, canonical) and candidate is not None:
            found = candidate
    return found


def messages_of(*, session: Session, case_id: str) -> list[CaseMessage]:
    """Return the messages between the response team and a case's reporter, oldest first."""
    return list(
        session.scalars(
            select(CaseMessage)
            .where(CaseMessage.case_id == case_id)
            .order_by(CaseMessage.created_at, CaseMessage.id)
        )
    )


def _checked_body(body: str) -> str:
    body = body.strip()
    if not body or len(body) > MAX_MESSAGE:
        raise ValidationProblem(N_("a message needs 1 to %(most)s characters"), most=MAX_MESSAGE)
    return body


def reply(*, session: Session, case: Case, body: str) -> CaseMessage:
    """Add the reporter's answer to a case they proved they hold the receipt code of.

    Sending the same answer again (a reloaded page) adds nothing.
    """
    body = _checked_body(body)
    earlier = messages_of(session=session, case_id=case.id)
    last = earlier[-1] if earlier else None
    if last is not None and last.direction is MessageDirection.FROM_REPORTER and last.body == body:
        return last
    now = clock.now()
    message = CaseMessage(
        case_id=case.id, direction=MessageDirection.FROM_REPORTER, body=body, created_at=now
    )
    session.add(message)
    case.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=PUBLIC_REPORTER,
        action="case.reporter_reply",
        entity_type="case",
        entity_id=case.id,
        detail={"message": message.id},
    )
    return message


def ask(*, session: Session, actor: Principal, case_id: str, body: str) -> CaseMessage:
    """Send the reporter a question; they are told (never what it says) as they asked to be."""
    body = _checked_body(body)
    asked = service.get(session=session, actor=actor, case_id=case_id)
    now = clock.now()
    message = CaseMessage(
        case_id=asked.id,
        direction=MessageDirection.TO_REPORTER,
        body=body,
        author_id=actor.user_id,
        created_at=now,
    )
    session.add(message)
    asked.updated_at = now
    session.flush()
    context = {"reference": asked.reference}
    # One notification per question: the key names the message, not only the case.
    key = f"case-{asked.id}-question-{message.id}"
    if asked.reporter_contact is ReporterContact.EMAIL and asked.reporter_email:
        notifications.enqueue(
            session=session,
            channel=NotificationChannel.EMAIL,
            address=asked.reporter_email,
            language=asked.language,
            template=TemplateKey.QUESTION,
            context=context,
            case_id=asked.id,
            idempotency_key=f"{key}-reporter",
        )
    defender = session.get(Defender, asked.defender_id) if asked.defender_id else None
    if defender is not None:
        notifications.enqueue_for_defender(
            session=session,
            defender=defender,
            template=TemplateKey.QUESTION,
            context=context,
            case_id=asked.id,
            idempotency_key=key,
        )
    audit.record(
        session,
        actor=actor,
        action="case.question",
        entity_type="case",
        entity_id=asked.id,
        detail={"message": message.id},
    )
    return message


def conversation(*, session: Session, actor: Principal, case_id: str) -> list[CaseMessage]:
    """Return a case's messages with its reporter, for somebody who may see the case."""
    shown = service.get(session=session, actor=actor, case_id=case_id)
    return messages_of(session=session, case_id=shown.id)
