"""Cases API (skeleton): opening cases, scoped reading (404, not 403), and bad input."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrdshield.accounts.models import User
from hrdshield.cases import service
from hrdshield.cases.enums import CaseCategory
from hrdshield.cases.models import Case
from hrdshield.defenders.enums import RiskLevel
from hrdshield.defenders.models import Defender
from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Role
from tests import factories
from tests.factories import problem as _problem

SQL_LOOKING = "'; DELETE FROM cases; --"


def _count_cases(database: Any) -> int:
    with database.session_factory() as fresh:
        return fresh.scalar(select(func.count(Case.id))) or 0


def _sign_in(client: TestClient, session: Session, user: User) -> None:
    session.commit()
    client.cookies.clear()
    factories.sign_in(client, user)


def _enrolled_hrd(session: Session, risk: str = "high") -> tuple[User, Defender]:
    user = factories.user(session, Role.HRD)
    defender = factories.defender(session, factories.principal(user), risk_level=risk)
    return user, defender


def _case(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"category": "doxxing", "summary": "Home address posted"}
    body.update(overrides)
    return body


def test_hrd_reports_and_reads_their_own_case(
    client: TestClient, session: Session, database: Any
) -> None:
    user, defender = _enrolled_hrd(session, risk="high")
    _sign_in(client, session, user)

    created = client.post("/api/v1/cases", json=_case(narrative=SQL_LOOKING))

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["defender_id"] == defender.id
    assert body["source"] == "hrd"
    assert body["status"] == "new"
    assert body["severity"] == (
        service.suggest_severity(CaseCategory.DOXXING, RiskLevel.HIGH).value
    )
    assert body["narrative"] == SQL_LOOKING
    assert client.get(f"/api/v1/cases/{body['id']}").json() == body
    assert [case["id"] for case in client.get("/api/v1/cases").json()] == [body["id"]]
    with database.session_factory() as fresh:
        assert "case.create" in fresh.scalars(select(AuditEntry.action)).all()


def test_other_people_get_404_for_a_case_they_may_not_see(
    client: TestClient, session: Session
) -> None:
    user, _ = _enrolled_hrd(session)
    other_hrd, _ = _enrolled_hrd(session)
    other_partner = factories.user(session, Role.PARTNER)
    reviewer = factories.user(session, Role.REVIEWER)
    _sign_in(client, session, user)
    case_id = client.post("/api/v1/cases", json=_case()).json()["id"]

    for outsider in (other_hrd, other_partner):
        _sign_in(client, session, outsider)
        _problem(client.get(f"/api/v1/cases/{case_id}"), 404)
        assert client.get("/api/v1/cases").json() == []

    _sign_in(client, session, reviewer)
    assert client.get(f"/api/v1/cases/{case_id}").status_code == 200


def test_partner_cannot_open_a_case_about_another_organisations_defender(
    client: TestClient, session: Session, database: Any
) -> None:
    theirs = factories.defender(session, factories.principal(factories.user(session, Role.PARTNER)))
    partner = factories.user(session, Role.PARTNER)
    _sign_in(client, session, partner)

    _problem(client.post("/api/v1/cases", json=_case(defender_id=theirs.id)), 404)

    assert _count_cases(database) == 0
    own = client.post("/api/v1/cases", json=_case())
    assert own.status_code == 201
    assert own.json()["organisation_id"] == partner.organisation_id


def test_roles_without_case_rights_are_refused(client: TestClient, session: Session) -> None:
    _problem(client.get("/api/v1/cases"), 401)
    _problem(client.post("/api/v1/cases", json=_case()), 401)
    _sign_in(client, session, factories.user(session, Role.AUDITOR))
    _problem(client.get("/api/v1/cases"), 403)
    _problem(client.post("/api/v1/cases", json=_case()), 403)


BAD_CASES: dict[str, tuple[Any, int]] = {
    "truncated-json": (b'{"category": "doxxing", ', 422),
    "array": (b'["doxxing"]', 422),
    "unknown-category": (_case(category="gossip"), 422),
    "unknown-severity": (_case(severity="apocalyptic"), 422),
    "summary-missing": ({"category": "doxxing"}, 422),
    "summary-empty": (_case(summary=""), 422),
    "summary-too-long": (_case(summary="x" * 301), 422),
    "summary-a-list": (_case(summary=["x"]), 422),
    "narrative-too-long": (_case(narrative="x" * 20_001), 422),
    "extra-field": (_case(status="closed"), 422),
    "defender-id-too-long": (_case(defender_id="f" * 33), 422),
    "unknown-defender": (_case(defender_id="f" * 32), 404),
    "defender-id-with-nul": (_case(defender_id="f\u0000f"), 400),
}


def test_bad_cases_are_refused_and_save_nothing(
    client: TestClient, session: Session, database: Any, subtests: pytest.Subtests
) -> None:
    _sign_in(client, session, factories.user(session, Role.LEAD))

    for name, (body, status) in BAD_CASES.items():
        with subtests.test(name):
            if isinstance(body, bytes):
                response = client.post(
                    "/api/v1/cases", content=body, headers={"content-type": "application/json"}
                )
            else:
                response = client.post("/api/v1/cases", json=body)
            _problem(response, status)

    assert _count_cases(database) == 0


def test_unknown_ids_and_bad_paging_are_clear_errors(
    client: TestClient, session: Session, subtests: pytest.Subtests
) -> None:
    _sign_in(client, session, factories.user(session, Role.REVIEWER))
    for case_id in ("0" * 32, "not-an-id", "x" * 300):
        with subtests.test(case_id[:12]):
            _problem(client.get(f"/api/v1/cases/{case_id}"), 404)
    for query in ("limit=0", "limit=201", "limit=many"):
        with subtests.test(query):
            _problem(client.get(f"/api/v1/cases?{query}"), 422)
