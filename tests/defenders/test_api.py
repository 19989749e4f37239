"""Defenders API: enrolment by role, scoping (404, not 403), staff-only fields, bad input."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrdshield.accounts.models import User
from hrdshield.defenders.models import Defender
from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Role
from tests import factories
from tests.factories import problem as _problem

SQL_LOOKING = "Robert'); DROP TABLE defenders;--"
HTML_LOOKING = "<img src=x onerror=alert(1)>"


def _count_defenders(database: Any) -> int:
    with database.session_factory() as fresh:
        return fresh.scalar(select(func.count(Defender.id))) or 0


def _actions(database: Any) -> list[str]:
    with database.session_factory() as fresh:
        return list(fresh.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def _enrolment(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "display_name": "Api Defender",
        "handles": ["@api_defender"],
        "country": "ke",
        "languages": ["sw", "en"],
        "groups": ["lawyer"],
        "risk_level": "high",
        "contact_channel": "in_app",
        "identifiers": [{"kind": "phone", "value": "+44 7700 900456"}],
        "consents": ["processing"],
    }
    body.update(overrides)
    return body


def _sign_in_new(client: TestClient, session: Session, role: Role, **kwargs: Any) -> User:
    user = factories.user(session, role, **kwargs)
    session.commit()
    client.cookies.clear()
    factories.sign_in(client, user)
    return user


# --- enrolment ----------------------------------------------------------------------------------


def test_enrolment_route_and_status_follow_the_role(
    client: TestClient, session: Session, database: Any, subtests: pytest.Subtests
) -> None:
    expected = {
        Role.HRD: ("self", "pending"),
        Role.PARTNER: ("partner", "active"),
        Role.REVIEWER: ("staff", "active"),
    }
    for role, (route, status) in expected.items():
        with subtests.test(role.value):
            user = _sign_in_new(client, session, role)

            response = client.post("/api/v1/defenders", json=_enrolment())

            assert response.status_code == 201, response.text
            body = response.json()
            assert (body["enrolled_via"], body["status"]) == (route, status)
            assert body["organisation_id"] == user.organisation_id
            assert body["country"] == "KE"
            assert body["identifier_count"] == 2  # the phone and the handle
            assert "900456" not in response.text
            assert [consent["scope"] for consent in body["consents"]] == ["processing"]
            assert client.get(f"/api/v1/defenders/{body['id']}").json() == body
    assert _actions(database).count("defender.enrol") == len(expected)


def test_roles_without_enrolment_rights_are_refused(
    client: TestClient, session: Session, database: Any
) -> None:
    _problem(client.post("/api/v1/defenders", json=_enrolment()), 401)
    _sign_in_new(client, session, Role.AUDITOR)
    _problem(client.post("/api/v1/defenders", json=_enrolment()), 403)
    _problem(client.get("/api/v1/defenders"), 403)
    assert _count_defenders(database) == 0


def test_partner_enrolling_for_another_organisation_is_forbidden(
    client: TestClient, session: Session, database: Any
) -> None:
    other = factories.organisation(session)
    _sign_in_new(client, session, Role.PARTNER)
    _problem(client.post("/api/v1/defenders", json=_enrolment(organisation_id=other.id)), 403)
    assert _count_defenders(database) == 0


BAD_ENROLMENTS: dict[str, tuple[Any, int]] = {
    "truncated-json": (b'{"display_name": "x", ', 422),
    "array": (b'["display_name"]', 422),
    "null": (b"null", 422),
    "languages-not-a-list": (_enrolment(languages="en"), 422),
    "name-a-number": (_enrolment(display_name=42), 422),
    "extra-field": (_enrolment(status="active"), 422),
    "name-too-long": (_enrolment(display_name="x" * 201), 422),
    "name-blank": (_enrolment(display_name="   "), 422),
    "country-name": (_enrolment(country="Kenya"), 422),
    "language-not-a-code": (_enrolment(languages=["Kiswahili"]), 422),
    "language-with-newline": (_enrolment(languages=["sw\n"]), 422),
    "no-languages": (_enrolment(languages=[]), 422),
    "unknown-group": (_enrolment(groups=["spy"]), 422),
    "unknown-risk": (_enrolment(risk_level="extreme"), 422),
    "unknown-consent": (_enrolment(consents=["everything"]), 422),
    "no-processing-consent": (_enrolment(consents=["threat_sharing"]), 422),
    "bad-phone": (_enrolment(identifiers=[{"kind": "phone", "value": "call me"}]), 422),
    "unknown-identifier-kind": (_enrolment(identifiers=[{"kind": "dna", "value": "x"}]), 422),
    "identifier-too-long": (
        _enrolment(identifiers=[{"kind": "address", "value": "x" * 301}]),
        422,
    ),
    "too-many-identifiers": (
        _enrolment(identifiers=[{"kind": "national_id", "value": f"ID{n}"} for n in range(51)]),
        422,
    ),
    "handle-too-long": (_enrolment(handles=["@" + "h" * 100]), 422),
    "handle-empty-once-normalised": (_enrolment(handles=["@"]), 422),
    "contact-too-long": (_enrolment(contact_address="x" * 501), 422),
    "organisation-id-too-long": (_enrolment(organisation_id="f" * 33), 422),
    "unknown-organisation": (_enrolment(organisation_id="f" * 32), 404),
    "organisation-id-with-nul": (_enrolment(organisation_id="f\u0000f"), 400),
}


def test_bad_enrolments_are_refused_and_save_nothing(
    client: TestClient, session: Session, database: Any, subtests: pytest.Subtests
) -> None:
    _sign_in_new(client, session, Role.LEAD)

    for name, (body, status) in BAD_ENROLMENTS.items():
        with subtests.test(name):
            if isinstance(body, bytes):
                response = client.post(
                    "/api/v1/defenders",
                    content=body,
                    headers={"content-type": "application/json"},
                )
            else:
                response = client.post("/api/v1/defenders", json=body)
            _problem(response, status)

    assert _count_defenders(database) == 0


def test_hostile_strings_are_stored_and_returned_verbatim(
    client: TestClient, session: Session
) -> None:
    _sign_in_new(client, session, Role.REVIEWER)
    for name in (SQL_LOOKING, HTML_LOOKING, "نام مدافع", "名前"):
        created = client.post(
            "/api/v1/defenders", json=_enrolment(display_name=name, handles=[], identifiers=[])
        )
        assert created.status_code == 201, created.text
        assert client.get(f"/api/v1/defenders/{created.json()['id']}").json()["display_name"] == (
            name
        )
    assert client.get("/api/v1/defenders").json()["total"] == 4


def test_csrf_header_is_needed_with_a_session(
    client: TestClient, session: Session, database: Any
) -> None:
    _sign_in_new(client, session, Role.REVIEWER)
    del client.headers["x-csrf-token"]
    _problem(client.post("/api/v1/defenders", json=_enrolment()), 403)
    assert _count_defenders(database) == 0


# --- scoping ------------------------------------------------------------------------------------


def test_partner_gets_404_for_another_organisations_defender(
    client: TestClient, session: Session
) -> None:
    other_partner = factories.principal(factories.user(session, Role.PARTNER))
    theirs = factories.defender(session, other_partner)
    _sign_in_new(client, session, Role.PARTNER)
    mine = client.post("/api/v1/defenders", json=_enrolment()).json()

    path = f"/api/v1/defenders/{theirs.id}"
    _problem(client.get(path), 404)
    _problem(client.patch(path, json={"display_name": "Hijacked"}), 404)
    _problem(client.delete(f"{path}/consents/processing"), 404)
    _problem(client.put(f"{path}/consents/threat_sharing"), 404)
    _problem(
        client.post(
            f"{path}/identifiers", json={"identifiers": [{"kind": "handle", "value": "@x"}]}
        ),
        404,
    )
    listed = client.get("/api/v1/defenders").json()
    assert [item["id"] for item in listed["items"]] == [mine["id"]]
    assert listed["total"] == 1


def test_hrd_sees_only_their_own_enrolment(client: TestClient, session: Session) -> None:
    someone = factories.defender(session)
    _sign_in_new(client, session, Role.HRD)
    own = client.post("/api/v1/defenders", json=_enrolment()).json()

    _problem(client.get(f"/api/v1/defenders/{someone.id}"), 404)
    assert [item["id"] for item in client.get("/api/v1/defenders").json()["items"]] == [own["id"]]


@pytest.mark.parametrize("unknown", ["0" * 32, "f" * 100, "not-an-id", "..%2F..%2Fetc"], ids=str)
def test_unknown_ids_are_404_problems(client: TestClient, session: Session, unknown: str) -> None:
    _sign_in_new(client, session, Role.LEAD)
    path = f"/api/v1/defenders/{unknown}"
    _problem(client.get(path), 404)
    _problem(client.patch(path, json={"display_name": "x"}), 404)
    _problem(client.put(f"{path}/consents/processing"), 404)
    _problem(
        client.post(
            f"{path}/identifiers", json={"identifiers": [{"kind": "handle", "value": "@x"}]}
        ),
        404,
    )


# --- updates ------------------------------------------------------------------------------------


def test_hrd_cannot_change_risk_or_status(client: TestClient, session: Session) -> None:
    _sign_in_new(client, session, Role.HRD)
    own = client.post("/api/v1/defenders", json=_enrolment()).json()
    path = f"/api/v1/defenders/{own['id']}"

    _problem(client.patch(path, json={"risk_level": "low"}), 403)
    _problem(client.patch(path, json={"status": "active"}), 403)
    _problem(client.patch(path, json={"status": "active", "display_name": "Sneaky"}), 403)

    unchanged = client.get(path).json()
    assert (unchanged["risk_level"], unchanged["status"]) == (own["risk_level"], own["status"])
    assert unchanged["display_name"] == own["display_name"]
    renamed = client.patch(path, json={"display_name": "Renamed", "languages": ["fr"]})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["display_name"] == "Renamed"
    assert renamed.json()["languages"] == ["fr"]


def test_staff_verify_a_self_registration(
    client: TestClient, session: Session, database: Any
) -> None:
    hrd = factories.principal(factories.user(session, Role.HRD))
    pending = factories.defender(session, hrd)
    _sign_in_new(client, session, Role.REVIEWER)

    response = client.patch(
        f"/api/v1/defenders/{pending.id}", json={"status": "active", "risk_level": "critical"}
    )

    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["risk_level"]) == ("active", "critical")
    assert "defender.update" in _actions(database)


BAD_UPDATES: dict[str, dict[str, Any]] = {
    "extra-field": {"user_id": "0" * 32},
    "unknown-status": {"status": "deleted"},
    "name-too-long": {"display_name": "x" * 201},
    "name-blank": {"display_name": " "},
    "country-name": {"country": "Mexico"},
    "languages-empty": {"languages": []},
    "handles-a-string": {"handles": "@someone"},
    "handle-empty-once-normalised": {"handles": ["https://platform.example/"]},
}


def test_bad_updates_are_refused_and_change_nothing(
    client: TestClient, session: Session, subtests: pytest.Subtests
) -> None:
    _sign_in_new(client, session, Role.LEAD)
    created = client.post("/api/v1/defenders", json=_enrolment()).json()
    path = f"/api/v1/defenders/{created['id']}"

    for name, body in BAD_UPDATES.items():
        with subtests.test(name):
            _problem(client.patch(path, json=body), 422)

    assert client.get(path).json() == created


def test_nulls_in_an_update_leave_fields_unchanged(client: TestClient, session: Session) -> None:
    _sign_in_new(client, session, Role.HRD)
    created = client.post("/api/v1/defenders", json=_enrolment()).json()
    path = f"/api/v1/defenders/{created['id']}"

    response = client.patch(
        path,
        json={
            "display_name": None,
            "handles": None,
            "groups": None,
            "languages": None,
            "country": None,
            "risk_level": None,
            "status": None,
        },
    )

    assert response.status_code == 200, response.text
    after = response.json()
    for field in ("display_name", "handles", "groups", "languages", "country", "risk_level"):
        assert after[field] == created[field]
    assert after["status"] == created["status"]


# --- identifiers and consent --------------------------------------------------------------------


def test_identifiers_in_another_written_form_are_not_added_twice(
    client: TestClient, session: Session, database: Any
) -> None:
    _sign_in_new(client, session, Role.LEAD)
    created = client.post("/api/v1/defenders", json=_enrolment()).json()
    path = f"/api/v1/defenders/{created['id']}/identifiers"

    same = client.post(path, json={"identifiers": [{"kind": "phone", "value": "0044-7700-900456"}]})
    new = client.post(
        path,
        json={
            "identifiers": [
                {"kind": "email", "value": "Private@Example.test"},
                {"kind": "email", "value": "private@example.TEST"},
            ]
        },
    )

    assert same.json() == {"added": 0}
    assert new.json() == {"added": 1}
    assert client.get(f"/api/v1/defenders/{created['id']}").json()["identifier_count"] == 3
    assert "defender.identifiers.add" in _actions(database)
    for bad in ({"identifiers": []}, {"identifiers": [{"kind": "phone", "value": "nope"}]}, {}):
        _problem(client.post(path, json=bad), 422)


def test_consent_withdrawal_and_grant(client: TestClient, session: Session, database: Any) -> None:
    _sign_in_new(client, session, Role.PARTNER)
    created = client.post("/api/v1/defenders", json=_enrolment()).json()
    path = f"/api/v1/defenders/{created['id']}/consents"

    granted = client.put(f"{path}/partner_actions")
    assert granted.status_code == 200, granted.text
    assert "partner_actions" in {consent["scope"] for consent in granted.json()["consents"]}

    withdrawn = client.delete(f"{path}/processing")

    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    processing = [c for c in withdrawn.json()["consents"] if c["scope"] == "processing"]
    assert processing
    assert all(consent["withdrawn_at"] for consent in processing)
    _problem(client.delete(f"{path}/everything"), 422)
    actions = _actions(database)
    assert "defender.consent.grant" in actions
    assert "defender.consent.withdraw" in actions


# --- listing ------------------------------------------------------------------------------------


def test_list_filters_by_status_and_bounds_paging(
    client: TestClient, session: Session, subtests: pytest.Subtests
) -> None:
    lead = factories.principal(factories.user(session, Role.LEAD))
    factories.defender(session, lead)
    factories.defender(session, factories.principal(factories.user(session, Role.HRD)))
    _sign_in_new(client, session, Role.REVIEWER)

    pending = client.get("/api/v1/defenders", params={"status": "pending"}).json()
    assert pending["total"] == 1
    assert all(item["status"] == "pending" for item in pending["items"])
    assert client.get("/api/v1/defenders", params={"limit": 1}).json()["total"] == 2
    assert len(client.get("/api/v1/defenders", params={"limit": 1}).json()["items"]) == 1

    for query in ("limit=0", "limit=201", "offset=-1", "status=deleted", "offset=ten"):
        with subtests.test(query):
            _problem(client.get(f"/api/v1/defenders?{query}"), 422)
