"""Public reports as a service and a JSON API: receipt codes, lookup, messages and notifications."""

from __future__ import annotations

import math
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdshield.accounts.service import ClientThrottle
from hrdshield.cases import intake, receipts
from hrdshield.cases.enums import CaseSource, MessageDirection, ReporterContact
from hrdshield.cases.models import Case
from hrdshield.errors import NotFound, ValidationProblem
from hrdshield.notify.enums import NotificationChannel, TemplateKey
from hrdshield.notify.models import Notification
from hrdshield.security.rbac import Role
from tests import factories
from tests.cases.test_report_pages import CODE_FORMAT, count_cases, fast_receipt_hashing, wire
from tests.conftest import TestDatabase


@pytest.fixture(autouse=True)
def _report_routes(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    wire(app)
    fast_receipt_hashing(monkeypatch)


def _report(**overrides: Any) -> intake.ReportCreate:
    values: dict[str, Any] = {
        "category": "impersonation",
        "narrative": "An account copies my name and photo and asks my contacts for money.",
        "links": "@fake_copy_account",
        **overrides,
    }
    return intake.ReportCreate(**values)


def _submit(session: Session, **overrides: Any) -> intake.Receipt:
    return intake.submit(
        session=session, reporter=None, report_in=_report(**overrides), language="es"
    )


# Receipt codes


def test_codes_have_at_least_80_bits_and_read_in_groups() -> None:
    assert len(receipts.ALPHABET) == len(set(receipts.ALPHABET)) == 32
    assert not set("ILOU") & set(receipts.ALPHABET)
    assert receipts.LENGTH * math.log2(len(receipts.ALPHABET)) == receipts.ENTROPY_BITS >= 80
    codes = {receipts.new_code() for _ in range(2_000)}
    assert len(codes) == 2_000
    assert all(CODE_FORMAT.fullmatch(code) for code in codes)
    # every symbol turns up: the generator draws from the whole alphabet
    assert set("".join(codes).replace("-", "")) == set(receipts.ALPHABET)


@pytest.mark.parametrize(
    "typed",
    [
        "7KQ3-M9TX-A0B1-CDEF-GHJK",
        "7kq3-m9tx-a0b1-cdef-ghjk",
        "7KQ3M9TXA0B1CDEFGHJK",
        " 7kq3 m9tx a0b1 cdef ghjk ",
        "7KQ3\u2013M9TX\u2013AOBI\u2013CDEF\u2013GHJK",  # en dashes, and O and I typed for 0 and 1
        "7kq3.m9tx.a0bl.cdef.ghjk",
    ],
)
def test_typed_codes_are_read_whatever_the_case_and_separators(typed: str) -> None:
    assert receipts.normalise(typed) == "7KQ3M9TXA0B1CDEFGHJK"


@pytest.mark.parametrize(
    "typed", ["", "7KQ3-M9TX", "7KQ3-M9TX-A0B1-CDEF-GHJKX", "7KQ3-M9TX-A0B1-CDEF-GHJ!", "A" * 65]
)
def test_what_cannot_be_a_code_is_refused(typed: str) -> None:
    assert receipts.normalise(typed) is None


def test_verification() -> None:
    canonical = "7KQ3M9TXA0B1CDEFGHJK"
    stored = receipts.hash_code(canonical)
    assert canonical not in stored
    assert receipts.verify(stored, canonical)
    assert not receipts.verify(stored, "7KQ3M9TXA0B1CDEFGHJM")
    assert not receipts.verify(None, canonical)
    assert not receipts.verify(stored, None)
    assert not receipts.verify("not a hash", canonical)


# Submission and lookup


def test_an_anonymous_report_opens_a_case_found_only_by_its_code(session: Session) -> None:
    receipt = _submit(session, contact="email", contact_email="reporter@example.org")
    opened = receipt.case
    assert opened.source is CaseSource.ANONYMOUS
    assert opened.language == "es"
    assert opened.created_by == intake.PUBLIC_REPORTER.user_id
    assert opened.summary.startswith("An account copies my name")
    assert opened.reporter_contact is ReporterContact.EMAIL
    assert opened.reporter_email == "reporter@example.org"
    canonical = receipts.normalise(receipt.code)
    assert canonical is not None
    assert opened.receipt_lookup == receipts.lookup_digest(canonical)
    assert canonical not in (opened.receipt_hash or "")

    for typed in (receipt.code, receipt.code.lower(), canonical, " ".join(receipt.code.split("-"))):
        assert intake.find_by_code(session=session, code=typed) is opened
    other = receipts.new_code()
    assert intake.find_by_code(session=session, code=other) is None
    assert intake.find_by_code(session=session, code="garbage") is None


def test_a_long_first_line_makes_a_short_summary(session: Session) -> None:
    opened = _submit(session, narrative="word " * 200 + "\nsecond line").case
    assert len(opened.summary) <= intake.SUMMARY_LENGTH
    assert opened.summary.endswith("…")


def test_codes_sharing_a_lookup_prefix_still_open_only_their_own_case(session: Session) -> None:
    first, second = _submit(session), _submit(session)
    second.case.receipt_lookup = first.case.receipt_lookup  # force the rare collision
    session.flush()
    assert intake.find_by_code(session=session, code=first.code) is first.case
    assert intake.find_by_code(session=session, code=second.code) is None  # wrong prefix now


class _CountingHasher:
    def __init__(self, inner: Any) -> None:
        self.inner, self.verifications = inner, 0

    def hash(self, password: str) -> str:
        return str(self.inner.hash(password))

    def verify(self, stored: str, password: str) -> bool:
        self.verifications += 1
        return bool(self.inner.verify(stored, password))


@pytest.mark.parametrize("kind", ["right", "wrong", "same prefix", "malformed", "empty"])
def test_every_code_costs_exactly_one_argon2_check(
    session: Session, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    receipt = _submit(session)
    code = {
        "right": receipt.code,
        "wrong": receipts.new_code(),
        "same prefix": receipt.code[:10] + "0000-0000-0000",
        "malformed": "not a code",
        "empty": "",
    }[kind]
    counting = _CountingHasher(receipts._hasher)
    monkeypatch.setattr(receipts, "_hasher", counting)
    found = intake.find_by_code(session=session, code=code)
    assert (found is not None) == (kind == "right")
    assert counting.verifications == 1


# Messages


def _reviewer(session: Session) -> Any:
    return factories.principal(factories.user(session, Role.REVIEWER))


def _question_notifications(session: Session, case_id: str) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification).where(
                Notification.case_id == case_id, Notification.template == TemplateKey.QUESTION
            )
        )
    )


def test_a_question_tells_a_reporter_who_left_an_e_mail_address(session: Session) -> None:
    opened = _submit(session, contact="email", contact_email="reporter@example.org").case
    reviewer = _reviewer(session)
    intake.ask(session=session, actor=reviewer, case_id=opened.id, body="When did it start?")
    intake.ask(session=session, actor=reviewer, case_id=opened.id, body="Any other account?")

    sent = _question_notifications(session, opened.id)
    assert len(sent) == 2  # one per question
    assert {n.channel for n in sent} == {NotificationChannel.EMAIL}
    assert {n.address for n in sent} == {"reporter@example.org"}
    assert {n.language for n in sent} == {"es"}
    assert all("When did it start" not in n.context for n in sent)
    thread = intake.messages_of(session=session, case_id=opened.id)
    assert [m.direction for m in thread] == [MessageDirection.TO_REPORTER] * 2
    assert thread[0].author_id == reviewer.user_id


@pytest.mark.parametrize("contact", ["none", "status_page"])
def test_a_question_is_not_sent_to_a_reporter_who_chose_not_to_be_written_to(
    session: Session, contact: str
) -> None:
    opened = _submit(session, contact=contact).case
    intake.ask(session=session, actor=_reviewer(session), case_id=opened.id, body="Still there?")
    assert _question_notifications(session, opened.id) == []


def test_a_question_on_a_defender_s_case_notifies_the_defender(session: Session) -> None:
    hrd = factories.user(session, Role.HRD)
    defender = factories.defender(session, factories.principal(hrd))
    reporter = factories.principal(hrd, defender.id)
    opened = intake.submit(
        session=session, reporter=reporter, report_in=_report(), language="en"
    ).case
    assert opened.source is CaseSource.HRD
    assert opened.defender_id == defender.id
    intake.ask(session=session, actor=_reviewer(session), case_id=opened.id, body="Who is it?")
    sent = _question_notifications(session, opened.id)
    assert [n.defender_id for n in sent] == [defender.id]


def test_questions_and_answers_are_checked(session: Session) -> None:
    opened = _submit(session).case
    reviewer = _reviewer(session)
    with pytest.raises(ValidationProblem):
        intake.ask(session=session, actor=reviewer, case_id=opened.id, body="  ")
    with pytest.raises(ValidationProblem):
        intake.reply(session=session, case=opened, body="x" * (intake.MAX_MESSAGE + 1))
    with pytest.raises(NotFound):
        intake.ask(session=session, actor=reviewer, case_id="0" * 32, body="Hello?")
    hrd = factories.principal(factories.user(session, Role.HRD))
    with pytest.raises(NotFound):  # the case is not theirs to see
        intake.ask(session=session, actor=hrd, case_id=opened.id, body="Hello?")


# JSON API


def test_the_api_takes_a_report_without_an_account(
    client: TestClient, database: TestDatabase
) -> None:
    response = client.post(
        "/api/v1/reports",
        json={"category": "phishing_spyware", "narrative": "A link that asks for my password."},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert CODE_FORMAT.fullmatch(body["receipt_code"])
    assert body["status"] == "new"
    assert body["language"] == "en"

    code = body["receipt_code"].replace("-", "").lower()
    status = client.post("/api/v1/reports/status", json={"code": code})
    assert status.status_code == 200
    assert status.json()["reference"] == body["reference"]
    assert status.json()["messages"] == []

    reply = client.post("/api/v1/reports/replies", json={"code": code, "body": "More detail."})
    assert reply.status_code == 201
    assert reply.json()["direction"] == "from_reporter"
    again = client.post("/api/v1/reports/status", json={"code": code}).json()
    assert [m["body"] for m in again["messages"]] == ["More detail."]
    assert "author_id" not in again["messages"][0]
    with database.session_factory() as session:
        stored = session.scalars(select(Case)).one()
    assert stored.source is CaseSource.ANONYMOUS


@pytest.mark.parametrize(
    "body",
    [
        {"narrative": "no category"},
        {"category": "harassment", "narrative": ""},
        {"category": "harassment", "narrative": "x", "contact": "email"},
        {"category": "harassment", "narrative": "x", "surprise": True},
        {"category": "harassment", "narrative": "x" * 20_001},
    ],
)
def test_bad_api_reports_are_refused_and_save_nothing(
    client: TestClient, database: TestDatabase, body: dict[str, Any]
) -> None:
    response = client.post("/api/v1/reports", json=body)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert count_cases(database) == 0


def test_a_wrong_code_through_the_api_is_a_plain_404(client: TestClient) -> None:
    for code in (receipts.new_code(), "x"):
        response = client.post("/api/v1/reports/status", json={"code": code})
        assert response.status_code == 404
        assert response.json()["detail"] == "no report matches this receipt code"
    reply = client.post("/api/v1/reports/replies", json={"code": "x", "body": "hi"})
    assert reply.status_code == 404


def test_api_code_checks_are_throttled(app: FastAPI, client: TestClient) -> None:
    app.state.report_status_throttle = ClientThrottle(2)
    codes = [client.post("/api/v1/reports/status", json={"code": "x"}).status_code for _ in "abc"]
    assert codes == [404, 404, 429]


def test_a_signed_in_defender_reports_through_the_api(
    client: TestClient, session: Session, database: TestDatabase
) -> None:
    hrd = factories.user(session, Role.HRD)
    defender = factories.defender(session, factories.principal(hrd))
    session.commit()
    factories.sign_in(client, hrd)
    response = client.post(
        "/api/v1/reports", json={"category": "doxxing", "narrative": "My address was posted."}
    )
    assert response.status_code == 201, response.text
    with database.session_factory() as fresh:
        stored = fresh.scalars(select(Case)).one()
    assert stored.defender_id == defender.id
    assert stored.source is CaseSource.HRD


def test_staff_ask_and_read_questions_through_the_api(client: TestClient, session: Session) -> None:
    opened = _submit(session).case
    reviewer = factories.user(session, Role.REVIEWER)
    hrd = factories.user(session, Role.HRD)
    session.commit()

    factories.sign_in(client, hrd)
    path = f"/api/v1/cases/{opened.id}"
    assert client.post(f"{path}/questions", json={"body": "Hi"}).status_code == 403
    assert client.get(f"{path}/messages").status_code == 403

    client.cookies.clear()
    factories.sign_in(client, reviewer)
    asked = client.post(f"{path}/questions", json={"body": "Can you send a screenshot?"})
    assert asked.status_code == 201, asked.text
    assert asked.json()["author_id"] == reviewer.id
    assert client.post(f"{path}/questions", json={"body": ""}).status_code == 422
    listed = client.get(f"{path}/messages").json()
    assert [m["body"] for m in listed] == ["Can you send a screenshot?"]
    assert client.get("/api/v1/cases/nope/messages").status_code == 404
