"""Reports from the public and from partners: receipt codes, files, and reporter messages.

A report needs no account. It opens a case through `service.create` (severity suggestion, SLA
deadline, timeline and audit included), then gets a receipt code that is shown once and stored
only as a keyed digest and an argon2id hash (see `receipts`). With the code, the reporter reads
the case's status and the response team's questions, and answers them. A trusted partner's
report concerns one of its defenders (or a person not enrolled) and is followed in the portal.
Files sent with a report go through the evidence service in the same transaction, so a refused
file refuses the report; a one-time form token makes a second send of the same form open nothing.

This module must never store anything about the reporter's connection (address, browser, headers)
and never put a narrative, a question, an answer or a contact address in a log or an audit detail.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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
from hrdshield.cases.evidence import service as evidence
from hrdshield.cases.models import Case, CaseEvent, CaseMessage, ReportSubmission
from hrdshield.cases.schemas import CaseCreate
from hrdshield.cases.sla import SlaPolicy
from hrdshield.defenders.models import Defender
from hrdshield.errors import N_, DomainError, ValidationProblem
from hrdshield.notify import service as notifications
from hrdshield.notify.enums import NotificationChannel, TemplateKey
from hrdshield.security import audit
from hrdshield.security.rbac import Principal, Role

MAX_NARRATIVE = 20_000
MAX_LINKS = 5_000
MAX_EMAIL = 254
MAX_MESSAGE = 10_000
MAX_FILES = 5  # files sent with one report
SUBMISSION_TOKEN_BYTES = 32
_SUBMISSION_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
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
    """A case just opened from a report, and its receipt code (which exists only here).

    A partner's report has no code: the partner follows it in the portal.
    """

    case: Case
    code: str | None
    files: int = 0


@dataclass(frozen=True)
class ReportFiles:
    """The files sent with a report, and where and how large they may be stored."""

    uploads: Sequence[evidence.EvidenceFile]
    uploads_dir: Path
    max_bytes: int


class FileRefused(DomainError):
    """A file sent with a report was refused, so nothing of the report was kept."""

    def __init__(self, filename: str | None, reason: DomainError) -> None:
        super().__init__(reason.message, **reason.values)
        self.status, self.filename, self.reason = reason.status, filename, reason


class AlreadyReceived(DomainError):
    """The form was sent before (a reload of the receipt page): the report exists already."""

    status = 409
    title = "Conflict"


def new_submission_token() -> str:
    """Return a one-time token for a report form (sent back in a hidden field)."""
    return secrets.token_urlsafe(SUBMISSION_TOKEN_BYTES)


def _submission_digest(token: str) -> str:
    if not _SUBMISSION_TOKEN.fullmatch(token):
        raise ValidationProblem(N_("the form is out of date; reload it and send it again"))
    return hashlib.sha256(token.encode()).hexdigest()


def submission_spent(*, session: Session, token: str) -> bool:
    """Return whether a report was already opened with this form token."""
    if not _SUBMISSION_TOKEN.fullmatch(token):
        return False
    return session.get(ReportSubmission, _submission_digest(token)) is not None


def _summary(narrative: str) -> str:
    first_line = next((line.strip() for line in narrative.splitlines() if line.strip()), "")
    if len(first_line) <= SUMMARY_LENGTH:
        return first_line
    return first_line[: SUMMARY_LENGTH - 1].rstrip() + "…"


def _sender(reporter: Principal | None) -> tuple[Principal, Role | None]:
    """Return who opens the case, and as what: a defender, a partner, or the public."""
    if reporter is not None and reporter.role is Role.HRD and reporter.defender_id is not None:
        return reporter, Role.HRD
    if reporter is not None and reporter.role is Role.PARTNER and reporter.organisation_id:
        return reporter, Role.PARTNER
    return PUBLIC_REPORTER, None


def submit(
    *,
    session: Session,
    reporter: Principal | None,
    report_in: ReportCreate,
    language: str,
    policy: SlaPolicy | None = None,
    defender_id: str | None = None,
    files: ReportFiles | None = None,
    submission_token: str | None = None,
) -> Receipt:
    """Open a case from a report, with its files, and issue its receipt code.

    A signed-in defender's report is linked to their enrolment (their profile says how to reach
    them); a partner's concerns the defender it names among its own (or an unenrolled person
    the narrative describes) and is followed in the portal; anybody else's is anonymous,
    reached only as they chose in the report. A `submission_token` is spent here: the same
    form sent again raises `AlreadyReceived`. Any refused file refuses the whole report.
    """
    digest = _submission_digest(submission_token) if submission_token is not None else None
    if digest is not None and session.get(ReportSubmission, digest) is not None:
        raise AlreadyReceived(N_("this report was already received"))
    uploads = files.uploads if files is not None else ()
    if len(uploads) > MAX_FILES:
        raise ValidationProblem(N_("send at most %(most)s files with one report"), most=MAX_FILES)
    actor, sent_as = _sender(reporter)
    for_defender = defender_id if sent_as is Role.PARTNER else None
    opened = service.create(
        session=session,
        actor=actor,
        case_in=CaseCreate(
            category=report_in.category,
            summary=_summary(report_in.narrative),
            narrative=report_in.narrative,
            defender_id=for_defender,
            # a partner's report about an enrolled defender is in the defender's language
            language=report_in.language or (None if for_defender else language),
        ),
        policy=policy,
    )
    code = _describe_sender(session, opened, sent_as, report_in)
    opened.reported_links = report_in.links or None
    for upload in uploads:
        assert files is not None  # noqa: S101  (uploads come from files)
        try:
            evidence.receive(
                session=session,
                actor=actor,
                case=opened,
                upload=upload,
                max_bytes=files.max_bytes,
                uploads_dir=files.uploads_dir,
            )
        except DomainError as error:
            raise FileRefused(upload.filename, error) from error
    if digest is not None:
        session.add(ReportSubmission(token_digest=digest, case_id=opened.id))
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="case.receipt_issued",
        entity_type="case",
        entity_id=opened.id,
        detail={"source": opened.source.value, "files": len(uploads)},
    )
    return Receipt(case=opened, code=code, files=len(uploads))


def _describe_sender(
    session: Session, opened: Case, sent_as: Role | None, report_in: ReportCreate
) -> str | None:
    """Record who sent the report and how they hear back; return the receipt code, if any."""
    if sent_as is Role.PARTNER:
        opened.reporter_relation = ReporterRelation.ON_BEHALF
        return None  # the partner follows its report in the portal
    if sent_as is Role.HRD:
        opened.reporter_relation = ReporterRelation.SELF
    else:
        opened.source = CaseSource.ANONYMOUS
        opened.reporter_relation = report_in.relation
        opened.reporter_contact = report_in.contact
        opened.reporter_email = report_in.contact_email
        _correct_created_event(session, opened)
    code = receipts.new_code()
    canonical = receipts.normalise(code)
    assert canonical is not None  # noqa: S101  (a fresh code is always well-formed)
    opened.receipt_lookup = receipts.lookup_digest(canonical)
    opened.receipt_hash = receipts.hash_code(canonical)
    return code


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
