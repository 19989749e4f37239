"""The public report pages: the form, the receipt shown once, the status page, and what is kept."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from argon2 import PasswordHasher, Type
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrdshield.accounts.service import ClientThrottle
from hrdshield.cases import intake, receipts, report_api, report_pages
from hrdshield.cases.enums import (
    CaseCategory,
    CaseEventKind,
    CaseSource,
    MessageDirection,
    ReporterContact,
    ReporterRelation,
)
from hrdshield.cases.models import Case, CaseEvent
from hrdshield.cases.service import suggest_severity
from hrdshield.notify import templates
from hrdshield.notify.enums import TemplateKey
from hrdshield.notify.models import Notification
from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Role
from hrdshield.web.i18n import translations
from tests import factories
from tests.conftest import TestDatabase
from tests.security.test_encryption_at_rest import _dump

CODE_ON_PAGE = re.compile(r'id="receipt-code" dir="ltr">([0-9A-Z-]+)<')
CODE_FORMAT = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(?:-[0-9A-HJKMNP-TV-Z]{4}){4}")


def wire(app: FastAPI) -> FastAPI:
    """Include the report routers, as app.py will once the app owner wires them in."""
    if not any(getattr(route, "path", "") == "/report" for route in app.routes):
        app.include_router(report_pages.router)
        app.include_router(report_api.router, prefix="/api/v1")
    return app


def fast_receipt_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hash receipt codes with argon2id at minimum cost, as the suite does for passwords."""
    fast = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID)
    monkeypatch.setattr(receipts, "_hasher", fast)


@pytest.fixture(autouse=True)
def _report_routes(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    wire(app)
    fast_receipt_hashing(monkeypatch)


def count_cases(database: TestDatabase) -> int:
    """Return how many cases the database holds."""
    with database.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(Case)) or 0)


SUBMISSION_ON_PAGE = re.compile(r'name="submission" value="([^"]+)"')


def report_form(
    client: TestClient, lang: str = "en", path: str = "/report", **fields: Any
) -> dict[str, Any]:
    """Return a valid report form with the CSRF and one-time tokens this client was handed."""
    page = client.get(f"{path}?lang={lang}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    submission = SUBMISSION_ON_PAGE.search(page.text)
    assert csrf, f"no CSRF token on {path}"
    assert submission, f"no one-time token on {path}"
    return {
        "csrf_token": csrf.group(1),
        "submission": submission.group(1),
        "category": "harassment",
        "narrative": "A pile-on of insulting replies under every post since Monday.",
        "links": "https://platform.example/post/1\n@attacker_account",
        "relation": "self",
        "contact": "status_page",
        "contact_email": "",
        **fields,
    }


def send_report(client: TestClient, lang: str = "en", **fields: Any) -> str:
    """Send a report through the form; return the receipt code the page shows."""
    response = client.post(f"/report?lang={lang}", data=report_form(client, lang, **fields))
    assert response.status_code == 200, response.text
    match = CODE_ON_PAGE.search(response.text)
    assert match, "no receipt code on the receipt page"
    return match.group(1)


def the_case(database: TestDatabase) -> Case:
    """Return the newest case."""
    with database.session_factory() as session:
        found = session.scalars(select(Case).order_by(Case.created_at.desc())).first()
        assert found is not None
        session.expunge(found)
        return found


def test_the_form_needs_no_account_and_lists_every_category(client: TestClient) -> None:
    page = client.get("/report")
    assert page.status_code == 200
    assert 'method="post" action="/report"' in page.text
    for category in CaseCategory:
        assert f'name="category" value="{category.value}"' in page.text
    for label in ("Threat of violence", "Phishing or spyware link", "Content or account taken"):
        assert label in page.text
    assert 'name="contact_email"' in page.text
    assert 'value="status_page" checked' in page.text


def test_the_form_is_translated_and_right_to_left_in_arabic(client: TestClient) -> None:
    page = client.get("/report?lang=ar")
    assert '<html lang="ar" dir="rtl">' in page.text
    assert "Report an incident" not in page.text
    assert "Threat of violence" not in page.text


@pytest.mark.parametrize("category", list(CaseCategory))
def test_a_report_opens_an_anonymous_case_for_every_category(
    client: TestClient, database: TestDatabase, category: CaseCategory
) -> None:
    narrative = f"Synthetic report about {category.value} on the platform."
    code = send_report(client, "fr", category=category.value, narrative=narrative)

    assert CODE_FORMAT.fullmatch(code)
    opened = the_case(database)
    assert opened.category is category
    assert opened.source is CaseSource.ANONYMOUS
    assert opened.defender_id is None
    assert opened.language == "fr"
    assert opened.severity is suggest_severity(category, None, f"{narrative}\n{narrative}")
    assert opened.sla_due_at is not None
    assert opened.sla_due_at > opened.created_at
    assert opened.narrative == narrative
    assert opened.reported_links == "https://platform.example/post/1\n@attacker_account"
    assert opened.reporter_relation is ReporterRelation.SELF
    assert opened.reporter_contact is ReporterContact.STATUS_PAGE
    assert opened.reporter_email is None
    assert code not in (opened.receipt_hash or "")
    assert opened.receipt_lookup
    with database.session_factory() as session:
        events = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == opened.id)))
        actions = set(
            session.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == opened.id))
        )
    assert [(event.kind, event.data["source"]) for event in events] == [
        (CaseEventKind.CREATED, "anonymous")
    ]
    assert {"case.create", "case.receipt_issued"} <= actions


def test_the_receipt_page_shows_the_code_once_with_advice(client: TestClient) -> None:
    response = client.post("/report", data=report_form(client, contact="none"))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert len(CODE_ON_PAGE.findall(response.text)) == 1
    assert "Write this code down" in response.text
    assert "You asked us not to contact you" in response.text
    assert client.get("/report/status").text.count("receipt-code") == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"category": ""}, "category"),
        ({"category": "not-a-category"}, "category"),
        ({"narrative": "   "}, "narrative"),
        ({"narrative": "x" * 20_001}, "narrative"),
        ({"links": "y" * 5_001}, "links"),
        ({"relation": "neighbour"}, "relation"),
        ({"contact": "pigeon"}, "contact"),
        ({"contact": "email", "contact_email": ""}, "contact_email"),
        ({"contact": "email", "contact_email": "not an address"}, "contact_email"),
    ],
)
def test_bad_input_is_shown_next_to_its_field_and_nothing_is_saved(
    client: TestClient, database: TestDatabase, fields: dict[str, str], field: str
) -> None:
    before = count_cases(database)
    response = client.post("/report", data=report_form(client, **fields))
    assert response.status_code == 400
    assert f'id="{field}-error"' in response.text
    assert "Nothing was saved" in response.text
    assert 'aria-invalid="true"' in response.text
    assert count_cases(database) == before


def test_an_address_typed_without_choosing_e_mail_is_not_kept(
    client: TestClient, database: TestDatabase
) -> None:
    send_report(client, contact="status_page", contact_email="someone@example.org")
    opened = the_case(database)
    assert opened.reporter_email is None
    assert opened.reporter_contact is ReporterContact.STATUS_PAGE


def test_the_form_needs_its_csrf_token(client: TestClient, database: TestDatabase) -> None:
    fields = report_form(client)
    del fields["csrf_token"]
    assert client.post("/report", data=fields).status_code == 403
    assert client.post("/report/status", data={"code": "X"}).status_code == 403
    assert count_cases(database) == 0


def test_a_signed_in_defender_s_report_is_linked_to_their_enrolment(
    client: TestClient, session: Session, database: TestDatabase
) -> None:
    hrd = factories.user(session, Role.HRD)
    defender = factories.defender(session, factories.principal(hrd))
    session.commit()
    factories.sign_in(client, hrd)

    page = client.get("/report")
    assert 'name="relation"' not in page.text
    assert 'name="contact_email"' not in page.text
    send_report(client, category="doxxing", relation="", contact="", contact_email="")

    opened = the_case(database)
    assert opened.defender_id == defender.id
    assert opened.source is CaseSource.HRD
    assert opened.region == defender.country
    assert opened.reporter_contact is None


def test_a_reviewer_asks_a_question_with_a_plain_form(
    client: TestClient, session: Session, database: TestDatabase
) -> None:
    code = send_report(client)
    opened = the_case(database)
    reviewer = factories.user(session, Role.REVIEWER)
    hrd = factories.user(session, Role.HRD)
    session.commit()
    path = f"/staff/cases/{opened.id}/questions"

    factories.sign_in(client, hrd)
    token = factories.csrf_token(client, "/report")
    assert client.post(path, data={"csrf_token": token, "body": "Hi"}).status_code == 403

    client.cookies.clear()
    factories.sign_in(client, reviewer)
    token = factories.csrf_token(client, "/report")
    asked = client.post(
        path, data={"csrf_token": token, "body": "Is the account still up?"}, follow_redirects=False
    )
    assert asked.status_code == 303
    assert asked.headers["location"] == f"/staff/cases/{opened.id}"
    assert client.post(path, data={"csrf_token": token, "body": " "}).status_code == 422
    client.cookies.clear()
    del client.headers["x-csrf-token"]  # signed out: the form's own token is used
    assert "Is the account still up?" in _status(client, code).text


def _status(client: TestClient, code: str, **fields: str) -> Any:
    token = factories.csrf_token(client, "/report/status")
    return client.post("/report/status", data={"csrf_token": token, "code": code, **fields})


def test_the_status_page_shows_questions_and_takes_answers(
    client: TestClient, database: TestDatabase
) -> None:
    code = send_report(client)
    opened = the_case(database)
    with database.session_factory() as session, session.begin():
        reviewer = factories.user(session, Role.REVIEWER)
        intake.ask(
            session=session,
            actor=factories.principal(reviewer),
            case_id=opened.id,
            body="Which account sent the first reply?",
        )

    typed = code.lower().replace("-", " ")
    page = _status(client, typed)
    assert page.status_code == 200
    assert opened.reference in page.text
    assert "Which account sent the first reply?" in page.text
    assert "1 message so far." in page.text
    assert typed not in str(page.url)
    assert code not in str(page.url)

    answered = _status(client, typed, action="answer", answer="It was @attacker_account.")
    assert answered.status_code == 200
    assert "Your answer was sent" in answered.text
    assert "It was @attacker_account." in answered.text
    _status(client, code, action="answer", answer="It was @attacker_account.")  # a reload
    with database.session_factory() as session:
        thread = intake.messages_of(session=session, case_id=opened.id)
    assert [message.direction for message in thread] == [
        MessageDirection.TO_REPORTER,
        MessageDirection.FROM_REPORTER,
    ]

    empty = _status(client, code, action="answer", answer="  ")
    assert empty.status_code == 400
    assert 'id="answer-error"' in empty.text


@pytest.mark.parametrize("lang", ["ru", "pt"])
def test_a_report_in_russian_or_portuguese_is_followed_in_that_language(
    client: TestClient, database: TestDatabase, lang: str
) -> None:
    ui = translations(lang)
    form = client.get(f"/report?lang={lang}")
    assert f'<html lang="{lang}" dir="ltr">' in form.text
    assert ui.gettext("What kind of attack is it?") in form.text
    assert "Report an incident" not in form.text

    mistyped = report_form(client, lang, contact="email", contact_email="not an address")
    refused = client.post(f"/report?lang={lang}", data=mistyped)
    assert refused.status_code == 400
    assert (
        ui.gettext("Please correct the problems marked below. Nothing was saved.") in refused.text
    )
    problem = (
        "Enter an e-mail address such as name@example.org, or choose another way to hear from us."
    )
    assert ui.gettext(problem) in refused.text

    fields = report_form(client, lang, contact="email", contact_email="reporter@example.test")
    receipt = client.post(f"/report?lang={lang}", data=fields)
    assert receipt.status_code == 200
    assert ui.gettext("Your report was received") in receipt.text
    code = CODE_ON_PAGE.search(receipt.text)
    assert code
    opened = the_case(database)
    assert opened.language == lang

    with database.session_factory() as session, session.begin():
        reviewer = factories.user(session, Role.REVIEWER)
        intake.ask(
            session=session, actor=factories.principal(reviewer), case_id=opened.id, body="?"
        )
        [question] = session.scalars(select(Notification).where(Notification.case_id == opened.id))
        queued = (question.template, question.language)
    assert queued == (TemplateKey.QUESTION, lang)
    context = {"reference": opened.reference}
    written = templates.render(*queued, context)
    assert written.language == lang
    assert opened.reference in written.subject
    assert written.subject != templates.render(TemplateKey.QUESTION, "en", context).subject

    status = _status(client, code[1])
    assert f'<html lang="{lang}" dir="ltr">' in status.text
    so_far = ui.ngettext("%(num)s message so far.", "%(num)s messages so far.", 1) % {"num": 1}
    assert so_far in status.text


def test_a_wrong_code_gets_the_same_answer_as_a_malformed_one(client: TestClient) -> None:
    code = send_report(client)
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    answers = [_status(client, candidate) for candidate in (wrong, "nonsense", "")]
    assert {answer.status_code for answer in answers} == {400}
    texts = {re.search(r'id="code-error">([^<]+)<', a.text).group(1) for a in answers}  # type: ignore[union-attr]
    assert len(texts) == 1


def test_guessing_codes_is_throttled_per_client(app: FastAPI, client: TestClient) -> None:
    app.state.report_status_throttle = ClientThrottle(3)
    for _ in range(3):
        assert _status(client, "AAAA-AAAA-AAAA-AAAA-AAAA").status_code == 400
    refused = _status(client, "AAAA-AAAA-AAAA-AAAA-AAAA")
    assert refused.status_code == 429
    assert "Too many attempts" in refused.text
    api = client.post("/api/v1/reports/status", json={"code": "AAAA"})
    assert api.status_code == 429


# Synthetic canaries: none may reach a log or the raw database in plaintext.
CANARY = {
    "narrative": "Qcanary narrative of the intake test",
    "links": "@qcanary_attacker_handle",
    "email": "qcanary-reporter@example.test",
    "header": "Qcanary-Header-Value",
    "agent": "QcanaryBrowser/9.9",
    "address": "198.51.100.23",
    "answer": "Qcanary answer from the reporter",
}


def test_no_trace_of_the_reporter_in_logs_or_the_raw_database(
    client: TestClient, database: TestDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client.headers.update(
        {
            "x-canary": CANARY["header"],
            "user-agent": CANARY["agent"],
            "x-forwarded-for": CANARY["address"],
        }
    )
    code = send_report(
        client,
        narrative=CANARY["narrative"],
        links=CANARY["links"],
        contact="email",
        contact_email=CANARY["email"],
    )
    _status(client, code, action="answer", answer=CANARY["answer"])
    opened = the_case(database)
    assert opened.reporter_email == CANARY["email"]  # kept, encrypted, to say there is news
    with database.session_factory() as session, session.begin():
        reviewer = factories.user(session, Role.REVIEWER)
        intake.ask(
            session=session, actor=factories.principal(reviewer), case_id=opened.id, body="?"
        )

    logged = "\n".join(record.getMessage() for record in caplog.records).lower()
    dump = _dump(database).lower()
    assert b"hse1." in dump
    for name, secret in [*CANARY.items(), ("code", code), ("canonical", code.replace("-", ""))]:
        assert secret.lower() not in logged, f"{name} found in the logs"
        assert secret.lower().encode() not in dump, f"{name} found in the database"
