"""Walk every route against every role and check the allowed/denied matrix.

The expected answer comes from the permission each route declares with ``require()`` and the
grants in ``hrdshield.security.rbac``; a route that declares none must be listed below as public
or as open to anyone signed in, so a new unguarded route fails this test until somebody decides.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from hrdshield.detection import platforms
from hrdshield.security.rbac import GRANTS, USER_ROLES, Permission, Principal, Role
from hrdshield.web.deps import current_principal, required_permission
from tests import factories
from tests.conftest import TestDatabase

PUBLIC = {
    ("GET", "/"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/login/two-factor"),
    ("POST", "/login/two-factor"),
    ("GET", "/account/two-factor/setup"),
    ("POST", "/account/two-factor/setup"),
    ("POST", "/logout"),
    ("GET", "/enrol"),
    ("POST", "/enrol"),
    ("GET", "/enrol/received"),
    ("POST", "/api/v1/session"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/report"),
    ("POST", "/report"),
    ("GET", "/report/status"),
    ("POST", "/report/status"),
    ("POST", "/api/v1/reports"),
    ("POST", "/api/v1/reports/status"),
    ("POST", "/api/v1/reports/replies"),
    ("GET", "/guides"),
    ("GET", "/guides/{slug}"),
}
SIGNED_IN = {("GET", "/home"), ("GET", "/api/v1/me"), ("DELETE", "/api/v1/session")}
ANONYMOUS = "anonymous"


def _dependencies(dependant: Any) -> list[Any]:
    found = []
    for dependency in dependant.dependencies:
        found.append(dependency.call)
        found.extend(_dependencies(dependency))
    return found


def route_guards(app: FastAPI) -> list[tuple[str, str, Permission | None, bool]]:
    """List (method, path, permission, needs-sign-in) for every API and page route."""
    guards = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        calls = _dependencies(route.dependant)
        permissions = {p for p in map(required_permission, calls) if p is not None}
        assert len(permissions) <= 1, f"{context.path} declares several permissions"
        permission = next(iter(permissions), None)
        for method in sorted(context.methods or ()):
            guards.append((method, str(context.path), permission, current_principal in calls))
    assert len(guards) > 20, "the route walk found too few routes"
    return guards


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "0" * 32, path)


def _clients(app: FastAPI, database: TestDatabase) -> dict[str, TestClient]:
    clients: dict[str, TestClient] = {ANONYMOUS: TestClient(app)}
    with database.session_factory() as session, session.begin():
        users = {role: factories.user(session, role) for role in USER_ROLES}
        _, platform_token = platforms.register(
            session=session, actor=Principal.system("tests"), name="matrix-platform"
        )
    for role, user in users.items():
        client = TestClient(app)
        factories.sign_in(client, user)
        clients[role.value] = client
    # A platform is not a person: it authenticates with its token on every request.
    clients[Role.PLATFORM.value] = TestClient(
        app, headers={"authorization": f"Bearer {platform_token}"}
    )
    anonymous = clients[ANONYMOUS]
    anonymous.headers["x-csrf-token"] = factories.csrf_token(anonymous)
    return clients


def _call(client: TestClient, method: str, path: str) -> int:
    if method in {"POST", "PUT", "PATCH"}:
        response = client.request(method, _concrete(path), json={}, follow_redirects=False)
    else:
        response = client.request(method, _concrete(path), follow_redirects=False)
    return response.status_code


def _denied_anonymously(status: int, path: str) -> bool:
    return status == 401 if path.startswith("/api/") else status == 303


def test_every_route_is_classified(app: FastAPI) -> None:
    unclassified = [
        (method, path)
        for method, path, permission, needs_sign_in in route_guards(app)
        if permission is None and not needs_sign_in and (method, path) not in PUBLIC
    ]
    assert not unclassified, f"routes with no access decision: {unclassified}"
    signed_in = {(m, p) for m, p, perm, needs in route_guards(app) if perm is None and needs}
    assert signed_in == SIGNED_IN


def test_role_matrix(app: FastAPI, database: TestDatabase) -> None:
    with TestClient(app):  # runs the lifespan once for all clients
        clients = _clients(app, database)
        mismatches = []
        checked = 0
        for method, path, permission, _ in route_guards(app):
            if (method, path) in PUBLIC or (method, path) == ("DELETE", "/api/v1/session"):
                continue  # public routes; signing out would end the client's session mid-walk
            for who, client in clients.items():
                status = _call(client, method, path)
                checked += 1
                if who == ANONYMOUS:
                    ok = _denied_anonymously(status, path)
                elif permission is None or Role(who) in GRANTS[permission]:
                    ok = status not in {401, 403}
                else:
                    ok = status == 403
                if not ok:
                    mismatches.append(f"{who:<9} {method} {path} -> {status}")
        assert checked > 100
        assert not mismatches, "\n".join(mismatches)


def test_staff_without_second_factor_is_treated_as_signed_out(
    app: FastAPI, database: TestDatabase
) -> None:
    with database.session_factory() as session, session.begin():
        reviewer = factories.user(session, Role.REVIEWER, with_totp=False)
    with TestClient(app) as client:
        token = factories.csrf_token(client)
        client.post(
            "/login",
            data={"email": reviewer.email, "password": factories.PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        for method, path, permission, _ in route_guards(app):
            if permission is None or method != "GET":
                continue
            status = _call(client, method, path)
            assert _denied_anonymously(status, path), f"{method} {path} -> {status}"
