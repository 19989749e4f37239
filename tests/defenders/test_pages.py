"""Enrolment pages: self-registration, partners enrolling on behalf, and the staff directory."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrdshield.accounts.models import User
from hrdshield.defenders.enums import DefenderStatus, EnrolmentRoute
from hrdshield.defenders.models import Defender
from hrdshield.notify.enums import NotificationChannel, TemplateKey
from hrdshield.notify.models import Notification
from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Role
from hrdshield.web.deps import SESSION_COOKIE
from tests import factories
from tests.factories import PASSWORD

SCRIPT = '"><script>alert("enrol")</script>'
ARABIC = re.compile(r"[\u0621-\u064a]")


def _count(database: Any, column: Any) -> int:
    with database.session_factory() as fresh:
        return fresh.scalar(select(func.count(column))) or 0


def _actions(database: Any) -> list[str]:
    with database.session_factory() as fresh:
        return list(fresh.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def _defenders(database: Any) -> list[Defender]:
    with database.session_factory() as fresh:
        return list(fresh.scalars(select(Defender)))


def _form(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "email": "self.registered@example.test",
        "password": factories.PASSWORD,
        "display_name": "Self Registered",
        "country": "mx",
        "languages": ["es", "en"],
        "groups": ["journalist", "women_hrd"],
        "handles": "@self_registered\nhttps://platform.example/self_registered_alt\n\n",
        "phone": "+52 55 1234 5678",
        "identifier_email": "",
        "address": "",
        "national_id": "",
        "contact_channel": "email",
        "contact_address": "self.registered@example.test",
        "consents": ["processing", "proactive_notification"],
    }
    values.update(overrides)
    return values


def _post(client: TestClient, path: str, data: dict[str, Any], *, csrf: bool = True) -> Any:
    if csrf and "x-csrf-token" not in client.headers:
        data = {**data, "csrf_token": factories.csrf_token(client, path)}
    return client.post(path, data=data, follow_redirects=False)


def _error_for(page: str, field: str) -> str | None:
    match = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    return match.group(1) if match else None


def _signed_in(client: TestClient, session: Session, role: Role) -> User:
    user = factories.user(session, role)
    session.commit()
    factories.sign_in(client, user)
    return user


# --- self-registration --------------------------------------------------------------------------


def test_enrol_form_works_without_javascript(client: TestClient) -> None:
    page = client.get("/enrol")
    assert page.status_code == 200
    assert 'name="csrf_token"' in page.text
    assert 'name="email"' in page.text
    assert 'name="password"' in page.text
    assert "<script" not in page.text


def test_self_registration_creates_a_pending_defender_who_then_signs_in(
    client: TestClient, database: Any
) -> None:
    response = _post(client, "/enrol", _form())

    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/enrol/received"
    assert SESSION_COOKIE not in client.cookies  # an existing address could not be signed in
    received = client.get("/enrol/received")
    assert received.status_code == 200
    assert "Thank you. Your enrolment was received." in received.text
    (defender,) = _defenders(database)
    assert defender.status is DefenderStatus.PENDING
    assert defender.enrolled_via is EnrolmentRoute.SELF
    assert defender.country == "MX"
    assert defender.display_name == "Self Registered"
    with database.session_factory() as fresh:
        user = fresh.get(User, defender.user_id)
        assert user is not None
        assert user.role is Role.HRD
        assert user.email == "self.registered@example.test"
        assert len(fresh.get(Defender, defender.id).identifiers) == 3  # type: ignore[union-attr]
    signed_in = client.post(
        "/api/v1/session", json={"email": "self.registered@example.test", "password": PASSWORD}
    )
    assert signed_in.status_code == 201
    portal = client.get("/portal")
    assert portal.status_code == 200
    assert defender.pseudonym in portal.text
    actions = _actions(database)
    assert "user.create" in actions
    assert "defender.enrol" in actions


def test_self_registered_defender_can_sign_in_later(client: TestClient, database: Any) -> None:
    _post(client, "/enrol", _form())
    client.cookies.clear()
    signed_in = client.post(
        "/api/v1/session",
        json={"email": "Self.Registered@example.test", "password": factories.PASSWORD},
    )
    assert signed_in.status_code == 201, signed_in.text
    assert signed_in.json()["user"]["role"] == "hrd"


BAD_FORMS: dict[str, tuple[dict[str, Any], str]] = {
    "country-name": ({"country": "Mexico"}, "country"),
    "no-language": ({"languages": []}, "languages"),
    "language-not-a-code": ({"languages": ["klingon language"]}, "languages"),
    "blank-name": ({"display_name": "   "}, "display_name"),
    "no-consent": ({"consents": []}, "consents"),
    "handle-too-long": ({"handles": "@" + "h" * 120}, "handles"),
    "no-processing-consent": ({"consents": ["proactive_notification"]}, "form"),
    "bad-phone": ({"phone": "call me maybe"}, "form"),
    "weak-password": ({"password": "short"}, "form"),
    "email-without-at": ({"email": "not-an-address"}, "form"),
    "unknown-contact-channel": ({"contact_channel": "carrier-pigeon"}, "contact_channel"),
}


def test_mistakes_are_shown_by_their_field_and_nothing_is_saved(
    client: TestClient, database: Any, subtests: pytest.Subtests
) -> None:
    for name, (overrides, field) in BAD_FORMS.items():
        with subtests.test(name):
            response = _post(client, "/enrol", _form(**overrides))

            assert response.status_code == 400, response.text
            assert 'role="alert"' in response.text
            if field != "contact_channel":  # the select has no message slot of its own
                assert _error_for(response.text, field), response.text
            assert factories.PASSWORD not in response.text
            if field != "display_name":
                assert 'value="Self Registered"' in response.text
    assert _count(database, User.id) == 0
    assert _count(database, Defender.id) == 0
    assert SESSION_COOKIE not in client.cookies


def test_hostile_values_are_shown_again_escaped(client: TestClient, database: Any) -> None:
    response = _post(client, "/enrol", _form(display_name=SCRIPT, country="??"))
    assert response.status_code == 400
    assert "<script>alert" not in response.text
    assert "&lt;script&gt;" in response.text
    assert _count(database, Defender.id) == 0


def test_an_email_already_registered_gets_the_same_answer_and_its_owner_an_e_mail(
    client: TestClient, app: Any, session: Session, database: Any
) -> None:
    owner = factories.user(session, Role.HRD, email="self.registered@example.test")
    session.commit()
    with TestClient(app) as stranger:
        new = _post(stranger, "/enrol", _form(email="somebody.new@example.test"))

    response = _post(client, "/enrol?lang=es", _form(email="SELF.registered@example.test"))
    again = _post(client, "/enrol?lang=es", _form(email="self.registered@example.test"))

    for answer in (response, again):
        assert (answer.status_code, answer.headers["location"]) == (303, new.headers["location"])
        assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")
    assert SESSION_COOKIE not in new.headers.get("set-cookie", "")
    assert _count(database, User.id) == 2  # the owner and the new address, nobody else
    assert _count(database, Defender.id) == 1
    with database.session_factory() as fresh:
        [told] = fresh.scalars(select(Notification)).all()  # once a day, however many tries
        assert (told.template, told.channel) == (
            TemplateKey.ACCOUNT_EXISTS,
            NotificationChannel.EMAIL,
        )
        assert (told.address, told.language) == (owner.email, "es")
    assert "user.registration_refused" in _actions(database)


def test_an_invalid_phone_rolls_back_the_new_account_too(client: TestClient, database: Any) -> None:
    response = _post(client, "/enrol", _form(phone="+44 12"))
    assert response.status_code == 400
    assert _count(database, User.id) == 0
    assert "user.create" not in _actions(database)


def test_enrol_form_needs_its_csrf_token(client: TestClient, database: Any) -> None:
    response = _post(client, "/enrol", _form(), csrf=False)
    assert response.status_code == 403
    assert _count(database, User.id) == 0


def test_signed_in_hrd_enrols_once(client: TestClient, session: Session, database: Any) -> None:
    _signed_in(client, session, Role.HRD)
    form = {key: value for key, value in _form().items() if key not in ("email", "password")}

    first = _post(client, "/enrol", form)
    second = _post(client, "/enrol", form)

    assert first.status_code == 303
    assert second.status_code == 400
    assert _error_for(second.text, "form")
    assert _count(database, Defender.id) == 1


def test_staff_are_sent_home_from_self_registration(client: TestClient, session: Session) -> None:
    _signed_in(client, session, Role.REVIEWER)
    response = client.get("/enrol", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/home"


# --- partners -----------------------------------------------------------------------------------


def test_partner_enrols_a_defender_for_its_organisation(
    client: TestClient, session: Session, database: Any
) -> None:
    partner = _signed_in(client, session, Role.PARTNER)
    assert client.get("/portal/defenders/new").status_code == 200
    form = {key: value for key, value in _form().items() if key not in ("email", "password")}

    response = _post(client, "/portal/defenders/new", form)

    assert response.status_code == 303
    (defender,) = _defenders(database)
    assert defender.organisation_id == partner.organisation_id
    assert defender.enrolled_via is EnrolmentRoute.PARTNER
    assert defender.status is DefenderStatus.ACTIVE
    assert defender.pseudonym in client.get("/portal").text


def test_partner_form_mistakes_save_nothing(
    client: TestClient, session: Session, database: Any
) -> None:
    _signed_in(client, session, Role.PARTNER)
    response = _post(client, "/portal/defenders/new", _form(country="", languages=[]))
    assert response.status_code == 400
    assert _error_for(response.text, "country")
    assert _error_for(response.text, "languages")
    assert _count(database, Defender.id) == 0


def test_only_partners_use_the_partner_form(client: TestClient, session: Session) -> None:
    anonymous = client.get("/portal/defenders/new", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    _signed_in(client, session, Role.HRD)
    assert client.get("/portal/defenders/new").status_code == 403
    assert _post(client, "/portal/defenders/new", _form()).status_code == 403


# --- staff directory ----------------------------------------------------------------------------


def test_staff_verify_a_self_registration(
    client: TestClient, session: Session, database: Any
) -> None:
    pending = factories.defender(session, factories.principal(factories.user(session, Role.HRD)))
    active = factories.defender(session)
    _signed_in(client, session, Role.REVIEWER)

    listing = client.get("/staff/defenders", params={"status": "pending"})
    assert pending.pseudonym in listing.text
    assert active.pseudonym not in listing.text
    detail = client.get(f"/staff/defenders/{pending.id}")
    assert detail.status_code == 200
    assert f'action="/staff/defenders/{pending.id}/status"' in detail.text

    response = _post(client, f"/staff/defenders/{pending.id}/status", {"status": "active"})

    assert response.status_code == 303
    assert response.headers["location"] == f"/staff/defenders/{pending.id}"
    with database.session_factory() as fresh:
        assert fresh.get(Defender, pending.id).status is DefenderStatus.ACTIVE  # type: ignore[union-attr]
    assert (
        f'action="/staff/defenders/{pending.id}/status"'
        not in client.get(f"/staff/defenders/{pending.id}").text
    )
    assert "defender.update" in _actions(database)


def test_defender_names_are_escaped_in_staff_pages(client: TestClient, session: Session) -> None:
    defender = factories.defender(session, display_name=SCRIPT, handles=["@<b>bold</b>"])
    _signed_in(client, session, Role.LEAD)

    page = client.get(f"/staff/defenders/{defender.id}")

    assert page.status_code == 200
    assert "<script>alert" not in page.text
    assert "<b>bold</b>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_staff_enrol_from_the_directory(
    client: TestClient, session: Session, database: Any
) -> None:
    _signed_in(client, session, Role.LEAD)
    form = {key: value for key, value in _form().items() if key not in ("email", "password")}

    response = _post(client, "/staff/defenders/new", form)

    assert response.status_code == 303
    (defender,) = _defenders(database)
    assert response.headers["location"] == f"/staff/defenders/{defender.id}"
    assert defender.enrolled_via is EnrolmentRoute.STAFF


def test_staff_directory_bad_requests(client: TestClient, session: Session) -> None:
    _signed_in(client, session, Role.REVIEWER)
    assert client.get("/staff/defenders", params={"status": "deleted"}).status_code == 422
    assert client.get("/staff/defenders", params={"offset": -5}).status_code == 200
    assert client.get("/staff/defenders/" + "0" * 32).status_code == 404
    assert client.get("/staff/defenders/%00").status_code == 400
    missing = _post(client, "/staff/defenders/" + "0" * 32 + "/status", {"status": "active"})
    assert missing.status_code == 404
    defender = factories.defender(session)
    session.commit()
    bad = _post(client, f"/staff/defenders/{defender.id}/status", {"status": "deleted"})
    assert bad.status_code == 422


@pytest.mark.parametrize("role", [Role.HRD, Role.PARTNER, Role.AUDITOR])
def test_directory_is_for_staff_who_work_with_defenders(
    client: TestClient, session: Session, role: Role
) -> None:
    defender = factories.defender(session)
    _signed_in(client, session, role)
    assert client.get("/staff/defenders").status_code == 403
    assert client.get(f"/staff/defenders/{defender.id}").status_code == 403
    refused = _post(client, f"/staff/defenders/{defender.id}/status", {"status": "withdrawn"})
    assert refused.status_code == 403


def test_field_problems_are_said_in_the_reader_s_language(client: TestClient) -> None:
    token = factories.csrf_token(client, "/enrol?lang=ar")
    response = client.post(
        "/enrol?lang=ar",
        data={**_form(country="Mexico", languages=[]), "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 400
    country, languages = (
        _error_for(response.text, "country"),
        _error_for(response.text, "languages"),
    )
    assert country
    assert languages
    assert ARABIC.search(country)
    assert ARABIC.search(languages)
    assert "String should match" not in response.text
