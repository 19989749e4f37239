"""Report forms with files, the one-time submission token, and the partner's portal form."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrdshield.cases import intake
from hrdshield.cases.enums import CaseSource, ReporterRelation
from hrdshield.cases.evidence import storage
from hrdshield.cases.evidence.enums import CustodyAction, MediaType
from hrdshield.cases.evidence.models import CustodyEvent, Evidence
from hrdshield.cases.models import Case, ReportSubmission
from hrdshield.config import Settings
from hrdshield.security.crypto import current_keyring, decrypt_blob
from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Role
from tests import factories
from tests.cases.test_evidence_sniff import pdf, png, png_bomb
from tests.cases.test_report_pages import (
    CODE_ON_PAGE,
    count_cases,
    fast_receipt_hashing,
    report_form,
    the_case,
    wire,
)
from tests.conftest import TestDatabase


@pytest.fixture(autouse=True)
def _report_routes(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    wire(app)
    fast_receipt_hashing(monkeypatch)


def _files(*items: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("evidence", (name, data, "application/octet-stream")) for name, data in items]


def _post(
    client: TestClient, form: dict[str, Any], files: list[Any] | None = None, **kw: Any
) -> Any:
    return client.post(kw.pop("path", "/report"), data=form, files=files or None, **kw)


def _evidence(database: TestDatabase) -> list[Evidence]:
    with database.session_factory() as fresh:
        return list(fresh.scalars(select(Evidence).order_by(Evidence.uploaded_at, Evidence.id)))


def _stored_files(settings: Settings) -> list[str]:
    folder = storage.folder(settings.uploads_dir)
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_files_sent_with_a_public_report_are_hashed_sealed_and_in_custody(
    client: TestClient, database: TestDatabase, settings: Settings
) -> None:
    screenshot, letter = png(40, 20), pdf()
    response = _post(
        client,
        report_form(client),
        _files(("threat.png", screenshot), ("letter.pdf", letter)),
    )

    assert response.status_code == 200, response.text
    assert CODE_ON_PAGE.search(response.text)
    assert "2 files were received and encrypted." in response.text
    opened = the_case(database)
    items = _evidence(database)
    assert [(item.case_id, item.content_type) for item in items] == [
        (opened.id, MediaType.PNG),
        (opened.id, MediaType.PDF),
    ]
    assert [item.sha256 for item in items] == [
        hashlib.sha256(screenshot).hexdigest(),
        hashlib.sha256(letter).hexdigest(),
    ]
    assert {item.filename for item in items} == {"threat.png", "letter.pdf"}
    for item, original in zip(items, (screenshot, letter), strict=True):
        sealed = storage.read(settings.uploads_dir, item.storage_name)
        assert original not in sealed  # encrypted on disk
        assert decrypt_blob(current_keyring(), sealed, f"evidence:{item.id}") == original
    with database.session_factory() as fresh:
        custody = fresh.scalars(select(CustodyEvent).order_by(CustodyEvent.id)).all()
    assert [(event.action, event.actor_id) for event in custody] == [
        (CustodyAction.RECEIVED, "public-report"),
        (CustodyAction.RECEIVED, "public-report"),
    ]
    assert custody[0].detail["sha256"] == items[0].sha256


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "this file is none of them"),
        ("bomb.png", png_bomb(), "decompression bomb"),
        ("empty.txt", b"", "the file is empty"),
        ("evil\u202egnp.exe", png(), "text-direction characters"),
    ],
)
def test_a_refused_file_refuses_the_whole_report_with_a_readable_message(
    client: TestClient,
    database: TestDatabase,
    settings: Settings,
    name: str,
    data: bytes,
    words: str,
) -> None:
    form = report_form(client, narrative="Synthetic narrative that must not be half-saved.")
    response = _post(client, form, _files(("fine.png", png()), (name, data)))

    assert response.status_code in {400, 413, 415, 422}
    assert 'id="evidence-error"' in response.text
    assert words in response.text
    assert "Nothing was saved" in response.text
    assert "Synthetic narrative that must not be half-saved." in response.text  # kept to retry
    assert count_cases(database) == 0
    assert _evidence(database) == []
    assert _stored_files(settings) == []  # the first file's sealed copy went with the rollback
    with database.session_factory() as fresh:
        assert fresh.scalar(select(func.count()).select_from(ReportSubmission)) == 0
        assert fresh.scalar(select(func.count()).where(AuditEntry.action == "case.create")) == 0


def test_a_refused_file_is_explained_in_the_reader_s_language(client: TestClient) -> None:
    response = _post(client, report_form(client, "es"), _files(("bomb.png", png_bomb())))
    assert response.status_code == 422
    assert "decompression bomb" not in response.text
    assert "bomb.png" in response.text


def test_more_files_than_allowed_are_refused(client: TestClient, database: TestDatabase) -> None:
    many = [(f"shot-{index}.png", png()) for index in range(intake.MAX_FILES + 1)]
    response = _post(client, report_form(client), _files(*many))
    assert response.status_code == 400
    assert f"send at most {intake.MAX_FILES} files" in response.text
    assert count_cases(database) == 0


def test_other_problems_say_that_chosen_files_must_be_chosen_again(client: TestClient) -> None:
    response = _post(client, report_form(client, narrative=" "), _files(("a.png", png())))
    assert response.status_code == 400
    assert 'id="narrative-error"' in response.text
    assert "choose them again" in response.text


def test_a_form_larger_than_the_limit_gets_a_readable_page(
    client: TestClient, database: TestDatabase, settings: Settings
) -> None:
    too_big = b"a" * (settings.max_form_bytes + 1)
    response = _post(client, report_form(client, "fr"), _files(("long.txt", too_big)))
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="fr"' in response.text
    assert count_cases(database) == 0


def test_sending_the_same_form_again_opens_nothing_new(
    client: TestClient, database: TestDatabase
) -> None:
    form = report_form(client, "ar")
    first = _post(client, form, _files(("a.png", png())))
    assert first.status_code == 200
    code = CODE_ON_PAGE.search(first.text)
    assert code

    again = _post(client, form, _files(("a.png", png())))  # what a reload of the receipt does

    assert again.status_code == 409
    assert '<html lang="ar" dir="rtl">' in again.text
    assert code.group(1) not in again.text
    assert CODE_ON_PAGE.search(again.text) is None
    assert count_cases(database) == 1
    assert len(_evidence(database)) == 1
    english = _post(client, form, path="/report?lang=en")
    assert english.status_code == 409
    assert "This report was already received" in english.text


def test_a_form_without_its_one_time_token_is_refused(
    client: TestClient, database: TestDatabase
) -> None:
    form = report_form(client)
    for token in ("", "short", "x" * 43 + "!"):
        response = _post(client, {**form, "submission": token})
        assert response.status_code == 400
        assert "out of date" in response.text
    assert count_cases(database) == 0
    fresh_token = report_form(client)["submission"]
    assert fresh_token != form["submission"]  # every form gets its own


def test_two_sends_of_one_form_at_once_open_one_case(
    app: Any, client: TestClient, database: TestDatabase
) -> None:
    form = report_form(client)
    cookies = dict(client.cookies)
    statuses: list[int] = []

    def send() -> None:
        with TestClient(app, cookies=cookies) as other:
            statuses.append(other.post("/report", data=form).status_code)

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 409, 409]
    assert count_cases(database) == 1


def _partner_client(client: TestClient, session: Session) -> tuple[Any, Any, Any]:
    partner = factories.user(session, Role.PARTNER)
    defender = factories.defender(
        session, factories.principal(partner), languages=["ar"], contact_channel="in_app"
    )
    other_org = factories.defender(session)  # enrolled by staff for nobody's organisation
    session.commit()
    factories.sign_in(client, partner)
    del client.headers["x-csrf-token"]  # the form's own token is used, as a browser does
    return partner, defender, other_org


def test_a_partner_reports_for_one_of_its_defenders_from_the_portal(
    client: TestClient, session: Session, database: TestDatabase
) -> None:
    partner, defender, other_org = _partner_client(client, session)
    portal = client.get("/portal")
    assert 'href="/portal/report"' in portal.text
    page = client.get("/portal/report")
    assert page.status_code == 200
    assert 'action="/portal/report"' in page.text
    assert f'value="{defender.id}"' in page.text
    assert other_org.id not in page.text
    assert 'name="relation"' not in page.text
    assert 'name="evidence"' in page.text

    form = report_form(client, path="/portal/report", defender=defender.id)
    response = _post(client, form, _files(("shot.png", png())), path="/portal/report")

    assert response.status_code == 200, response.text
    assert CODE_ON_PAGE.search(response.text) is None  # followed in the portal instead
    opened = the_case(database)
    assert opened.source is CaseSource.PARTNER
    assert opened.defender_id == defender.id
    assert opened.organisation_id == partner.organisation_id
    assert opened.language == "ar"  # the defender's language, not the partner's interface
    assert opened.reporter_relation is ReporterRelation.ON_BEHALF
    assert opened.receipt_hash is None
    assert f'href="/portal/cases/{opened.id}"' in response.text
    assert [item.uploaded_by for item in _evidence(database)] == [partner.id]
    assert client.get(f"/portal/cases/{opened.id}").status_code == 200


def test_a_partner_may_report_for_somebody_not_enrolled(
    client: TestClient, session: Session, database: TestDatabase
) -> None:
    _partner_client(client, session)
    form = report_form(client, "fr", path="/portal/report", defender="")
    response = _post(client, form, path="/portal/report?lang=fr")
    assert response.status_code == 200, response.text
    opened = the_case(database)
    assert opened.source is CaseSource.PARTNER
    assert opened.defender_id is None
    assert opened.language == "fr"


def test_a_partner_cannot_report_for_another_organisation_s_defender(
    client: TestClient, session: Session, database: TestDatabase
) -> None:
    _, _, other_org = _partner_client(client, session)
    form = report_form(client, path="/portal/report", defender=other_org.id)
    response = _post(client, form, path="/portal/report")
    assert response.status_code == 400
    assert 'id="defender-error"' in response.text
    assert count_cases(database) == 0


def test_partner_reports_sort_first_among_cases_due_together(
    client: TestClient, session: Session, database: TestDatabase
) -> None:
    from hrdshield import clock  # noqa: PLC0415
    from hrdshield.cases import sla  # noqa: PLC0415

    _partner_client(client, session)
    with clock.frozen(clock.now()):
        public = TestClient(client.app)
        _post(public, report_form(public, category="harassment"))
        form = report_form(client, path="/portal/report", category="harassment", defender="")
        _post(client, form, path="/portal/report")
    lead = factories.user(session, Role.LEAD)
    session.commit()
    with database.session_factory() as fresh:
        reviewer = fresh.get(type(lead), lead.id)
        assert reviewer is not None
        first, second = sla.queue(session=fresh, reviewer=reviewer)[:2]
    assert (first.source, second.source) == (CaseSource.PARTNER, CaseSource.ANONYMOUS)


def test_only_partners_open_the_portal_report_form(client: TestClient, session: Session) -> None:
    hrd = factories.user(session, Role.HRD)
    session.commit()
    factories.sign_in(client, hrd)
    assert client.get("/portal/report").status_code == 403


def test_a_signed_in_defender_sends_files_with_their_report(
    client: TestClient, session: Session, database: TestDatabase
) -> None:
    hrd = factories.user(session, Role.HRD)
    defender = factories.defender(session, factories.principal(hrd))
    session.commit()
    factories.sign_in(client, hrd)
    del client.headers["x-csrf-token"]
    form = report_form(client, relation="", contact="")
    response = _post(client, form, _files(("note.txt", "Nota sintética".encode())))
    assert response.status_code == 200, response.text
    opened = the_case(database)
    assert opened.defender_id == defender.id
    [item] = _evidence(database)
    assert (item.content_type, item.uploaded_by) == (MediaType.TEXT, hrd.id)
    with database.session_factory() as fresh:
        assert fresh.get(Case, opened.id) is not None


def test_a_partner_opening_the_public_form_is_sent_to_its_own(
    client: TestClient, session: Session
) -> None:
    _partner_client(client, session)
    response = client.get("/report", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/portal/report")
