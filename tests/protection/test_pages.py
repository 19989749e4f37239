"""Safety pages and the protection API through the real app: forms, errors, who may do what."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from hrdshield.accounts.models import User
from hrdshield.protection.enums import ActionKind, ActionState
from hrdshield.protection.models import ProtectiveAction
from tests import factories
from tests.conftest import TestDatabase
from tests.protection.conftest import World, build_world


def _sign_in(client: TestClient, database: TestDatabase, user_id: str | None) -> str:
    with database.session_factory() as session:
        user = session.get(User, user_id)
    assert user is not None
    factories.sign_in(client, user)
    del client.headers["x-csrf-token"]  # pages post their forms with the form's token
    return factories.csrf_token(client, "/home")


def _actions(database: TestDatabase, world: World, kind: ActionKind) -> list[ProtectiveAction]:
    with database.session_factory() as session:
        return list(
            session.scalars(
                select(ProtectiveAction).where(
                    ProtectiveAction.defender_id == world.defender_id, ProtectiveAction.kind == kind
                )
            )
        )


def test_the_defender_presses_the_panic_button_and_turns_it_off(
    client: TestClient, database: TestDatabase, world: World
) -> None:
    token = _sign_in(client, database, world.hrd.user_id)
    page = client.get("/portal/safety")
    assert "Lock down my account now" in page.text
    pressed = client.post(
        "/portal/safety/panic", data={"csrf_token": token}, follow_redirects=False
    )
    assert pressed.status_code == 303
    assert pressed.headers["location"] == "/portal/safety?done=lockdown"
    (action,) = _actions(database, world, ActionKind.LOCKDOWN)
    assert action.state is ActionState.REQUESTED
    again = client.post("/portal/safety/panic", data={"csrf_token": token})
    assert again.status_code == 409
    assert "already on" in again.text
    off = client.post(
        f"/portal/safety/actions/{action.id}/revert",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert off.status_code == 303
    assert _actions(database, world, ActionKind.LOCKDOWN)[0].state is ActionState.REVERTED


def test_bad_form_input_gets_a_readable_answer_and_changes_nothing(
    client: TestClient, database: TestDatabase, world: World
) -> None:
    token = _sign_in(client, database, world.hrd.user_id)
    for values in (
        {"kind": "explode", "duration": ""},
        {"kind": "shield", "duration": "forever"},
        {"kind": "disable_account", "duration": ""},
    ):
        answer = client.post("/portal/safety/actions", data={**values, "csrf_token": token})
        assert answer.status_code == 422, values
        assert 'class="error"' in answer.text
    assert client.post("/portal/safety/panic").status_code == 403  # no CSRF token
    with database.session_factory() as session:
        kinds = session.scalars(select(ProtectiveAction.kind)).all()
        assert kinds == [ActionKind.HOLD_TAKEDOWNS]  # only what enrolment set up


def test_the_defender_opts_in_to_the_automatic_shield(
    client: TestClient, database: TestDatabase, world: World
) -> None:
    token = _sign_in(client, database, world.hrd.user_id)
    client.post("/portal/safety/auto-shield", data={"auto_shield": "on", "csrf_token": token})
    assert 'name="auto_shield" value="on" checked' in client.get("/portal/safety").text
    client.post("/portal/safety/auto-shield", data={"csrf_token": token})
    assert 'name="auto_shield" value="on" checked' not in client.get("/portal/safety").text


def test_partners_ask_and_a_second_officer_approves_through_the_pages(
    client: TestClient, database: TestDatabase
) -> None:
    world = build_world(database, standing_consent=False)
    base = f"/portal/defenders/{world.defender_id}/safety"
    token = _sign_in(client, database, world.partner.user_id)
    client.post(f"{base}/actions", data={"kind": "lockdown", "duration": "", "csrf_token": token})
    (action,) = _actions(database, world, ActionKind.LOCKDOWN)
    assert action.state is ActionState.AWAITING_APPROVAL
    own = client.post(f"{base}/actions/{action.id}/approve", data={"csrf_token": token})
    assert own.status_code == 403
    client.cookies.clear()
    token = _sign_in(client, database, world.second_partner.user_id)
    assert (
        client.post(f"{base}/actions/{action.id}/nonsense", data={"csrf_token": token}).status_code
        == 404
    )
    client.post(f"{base}/actions/{action.id}/approve", data={"csrf_token": token})
    assert _actions(database, world, ActionKind.LOCKDOWN)[0].state is ActionState.REQUESTED
    client.cookies.clear()
    token = _sign_in(client, database, world.other_partner.user_id)
    assert client.get(base).status_code == 404  # another organisation's defender


def test_the_api_requests_and_reports_actions(
    client: TestClient, database: TestDatabase, world: World
) -> None:
    with database.session_factory() as session:
        reviewer = session.get(User, world.reviewer.user_id)
    assert reviewer is not None
    csrf = factories.sign_in(client, reviewer)
    created = client.post(
        f"/api/v1/defenders/{world.defender_id}/actions",
        json={"kind": "shield", "hours": 12, "reason": "pile-on in progress"},
        headers={"x-csrf-token": csrf},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["kind"] == "shield"
    assert body["state"] == "requested"
    detail = client.get(f"/api/v1/actions/{body['id']}").json()
    assert [step["operation"] for step in detail["commands"]] == ["apply"]
    factories.problem(
        client.post(
            f"/api/v1/defenders/{world.defender_id}/actions",
            json={"kind": "shield", "hours": 0},
            headers={"x-csrf-token": csrf},
        ),
        422,
    )
    factories.problem(
        client.post(
            f"/api/v1/defenders/{world.defender_id}/actions",
            json={"kind": "shield"},
            headers={"x-csrf-token": csrf},
        ),
        409,
    )
    factories.problem(
        client.post(f"/api/v1/actions/{body['id']}/explode", headers={"x-csrf-token": csrf}), 404
    )
    reverted = client.post(f"/api/v1/actions/{body['id']}/revert", headers={"x-csrf-token": csrf})
    assert reverted.json()["state"] == "reverted"
