"""Partner API tokens: issued once, stored hashed, scoped, revocable, audited."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Role
from tests import factories
from tests.conftest import TestDatabase
from tests.security.test_encryption_at_rest import _dump


def _issue(client: TestClient, organisation_id: str, scopes: list[str]) -> dict[str, object]:
    answer = client.post(
        f"/api/v1/organisations/{organisation_id}/tokens",
        json={"name": "Helpline case system", "scopes": scopes},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_a_partner_system_reports_with_its_token(
    client: TestClient, database: TestDatabase
) -> None:
    with database.session_factory() as session, session.begin():
        admin = factories.user(session, Role.ADMIN)
        organisation = factories.organisation(session)
        organisation_id = organisation.id
    factories.sign_in(client, admin)
    issued = _issue(client, organisation_id, ["case.create", "case.read", "defender.enrol"])
    token = str(issued["token"])
    assert token.startswith("hrds_")
    assert token.encode() not in _dump(database)  # only its hash is stored

    system = TestClient(client.app)
    system.headers["authorization"] = f"Bearer {token}"
    enrolled = system.post(
        "/api/v1/defenders", json=factories.defender_in().model_dump(mode="json")
    )
    assert enrolled.status_code == 201, enrolled.text
    assert enrolled.json()["organisation_id"] == organisation_id
    opened = system.post(
        "/api/v1/cases",
        json={"category": "harassment", "summary": "pile-on", "defender_id": enrolled.json()["id"]},
    )
    assert opened.status_code == 201
    assert opened.json()["source"] == "partner"
    assert system.get("/api/v1/cases").json()[0]["id"] == opened.json()["id"]

    # Outside its scopes, and outside what partners may do at all.
    assert (
        system.patch(
            f"/api/v1/defenders/{enrolled.json()['id']}", json={"display_name": "x"}
        ).status_code
        == 403
    )
    assert system.get("/api/v1/users").status_code == 403

    listed = client.get(f"/api/v1/organisations/{organisation_id}/tokens").json()
    assert [row["prefix"] for row in listed] == [issued["prefix"]]
    assert "token" not in listed[0]
    assert listed[0]["last_used_at"] is not None

    revoked = client.delete(f"/api/v1/tokens/{issued['id']}")
    assert revoked.status_code == 200
    refused = system.get("/api/v1/cases")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"

    with database.session_factory() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
        token_actors = session.scalars(
            select(AuditEntry.actor_type).where(AuditEntry.action == "case.create")
        ).all()
    assert {"api_token.issue", "api_token.revoke"} <= set(actions)
    assert token_actors == ["token"]


def test_tokens_cannot_be_given_staff_powers(client: TestClient, database: TestDatabase) -> None:
    with database.session_factory() as session, session.begin():
        admin = factories.user(session, Role.ADMIN)
        organisation_id = factories.organisation(session).id
    factories.sign_in(client, admin)
    for scopes in (["user.manage"], ["case.work"], [], ["not-a-permission"]):
        answer = client.post(
            f"/api/v1/organisations/{organisation_id}/tokens", json={"name": "x", "scopes": scopes}
        )
        assert answer.status_code == 422, scopes
    unknown = client.post(
        "/api/v1/organisations/nope/tokens", json={"name": "x", "scopes": ["case.read"]}
    )
    assert unknown.status_code == 404


def test_unknown_or_malformed_tokens_are_refused(client: TestClient) -> None:
    for value in ("Bearer nothing", "Bearer hrds_" + "a" * 43, "Bearer " + "x" * 500):
        answer = client.get("/api/v1/cases", headers={"authorization": value})
        assert answer.status_code == 401


def test_only_administrators_issue_tokens(client: TestClient, database: TestDatabase) -> None:
    with database.session_factory() as session, session.begin():
        partner = factories.user(session, Role.PARTNER)
        organisation_id = partner.organisation_id
    factories.sign_in(client, partner)
    answer = client.post(
        f"/api/v1/organisations/{organisation_id}/tokens",
        json={"name": "mine", "scopes": ["case.read"]},
    )
    assert answer.status_code == 403
