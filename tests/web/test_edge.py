"""The web edge: security headers, cookies, CSRF, size limits and error answers."""

from __future__ import annotations

import logging
import re
import threading

import pytest
from fastapi.testclient import TestClient

from hrdshield.app import create_app
from hrdshield.db import make_engine
from hrdshield.defenders import service as defenders_service
from hrdshield.security.rbac import Role
from tests import factories
from tests.conftest import TestDatabase

PAGES = ["/", "/login", "/enrol", "/no-such-page"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_carry_a_strict_policy_and_load_nothing_from_elsewhere(
    client: TestClient, path: str
) -> None:
    response = client.get(path)
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy  # no script runs at all
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    # No third-party resource: every src/href is relative to this site.
    for url in re.findall(r'(?:src|href|action)="([^"]*)"', response.text):
        assert not re.match(r"^(?:[a-z]+:)?//", url), f"external reference {url} on {path}"


def test_stylesheet_is_served_locally(client: TestClient) -> None:
    response = client.get("/static/style.css")
    assert response.status_code == 200
    assert "@import" not in response.text
    assert "url(" not in response.text  # no fonts or images fetched from anywhere


def test_cookies_are_httponly_strict_and_secure_when_configured(
    settings, database: TestDatabase
) -> None:  # type: ignore[no-untyped-def]
    secure_app = create_app(
        settings.model_copy(update={"cookie_secure": True}), engine=database.engine
    )
    with TestClient(secure_app, base_url="https://testserver") as client:
        response = client.get("/login?lang=fr")
        cookies = response.headers.get_list("set-cookie")
        assert len(cookies) == 2
        for cookie in cookies:
            assert "HttpOnly" in cookie
            assert "SameSite=Strict" in cookie
            assert "Secure" in cookie
        assert "strict-transport-security" in response.headers


def test_form_without_csrf_token_is_refused_and_changes_nothing(
    client: TestClient, database: TestDatabase
) -> None:
    with database.session_factory() as session, session.begin():
        hrd = factories.user(session, Role.HRD)
    response = client.post("/login", data={"email": hrd.email, "password": factories.PASSWORD})
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "hrdshield_session" not in client.cookies


def test_form_with_another_browsers_token_is_refused(client: TestClient) -> None:
    token = factories.csrf_token(client)
    other = TestClient(client.app)
    factories.csrf_token(other)  # the other browser gets its own cookie
    response = other.post(
        "/login", data={"email": "a@example.test", "password": "x" * 12, "csrf_token": token}
    )
    assert response.status_code == 403


def test_cookie_authenticated_json_needs_the_csrf_header(
    client: TestClient, database: TestDatabase
) -> None:
    with database.session_factory() as session, session.begin():
        lead = factories.user(session, Role.LEAD)
    factories.sign_in(client, lead)
    del client.headers["x-csrf-token"]
    response = client.post(
        "/api/v1/defenders", json=factories.defender_in().model_dump(mode="json")
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/defenders").json()["total"] == 0


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2, 3]", "application/json"),
        (b'{"email": 5, "password": []}', "application/json"),
        (b'{"email": "a@example.test", "password": "x", "extra": 1}', "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b"email=a", "text/plain"),
    ],
)
def test_malformed_api_input_is_a_clear_4xx(
    client: TestClient, body: bytes, content_type: str
) -> None:
    response = client.post("/api/v1/session", content=body, headers={"content-type": content_type})
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == response.status_code
    assert problem["detail"]


def test_oversize_request_is_refused_before_reading(client: TestClient, settings) -> None:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/v1/session",
        content=b"x" * (settings.max_request_bytes + 1),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["title"] == "Request too large"


def test_unknown_api_route_and_method(client: TestClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    wrong_method = client.put("/api/v1/session", json={})
    assert wrong_method.status_code == 405


def test_unknown_page_is_a_readable_page(client: TestClient) -> None:
    response = client.get("/nothing-here?lang=es")
    assert response.status_code == 404
    assert "<h1>" in response.text
    assert 'lang="es"' in response.text


def test_unexpected_failure_is_a_bare_500_and_logs_no_detail(
    client: TestClient,
    database: TestDatabase,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(**_: object) -> None:
        raise RuntimeError("secret narrative +44 7700 900999")

    monkeypatch.setattr(defenders_service, "list_page", explode)
    with database.session_factory() as session, session.begin():
        lead = factories.user(session, Role.LEAD)
    quiet = TestClient(client.app, raise_server_exceptions=False)
    factories.sign_in(quiet, lead)
    caplog.set_level(logging.INFO)
    response = quiet.get("/api/v1/defenders")
    assert response.status_code == 500
    assert "secret" not in response.text
    assert response.headers["content-type"] == "application/problem+json"
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert "RuntimeError on GET /api/v1/defenders" in logged
    assert "secret" not in logged
    assert "7700" not in logged


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok", "database": "ok"}


def test_readiness_fails_when_the_database_is_not_migrated(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    empty = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    app = create_app(settings, engine=empty)
    client = TestClient(app)  # no lifespan: the keyring cannot load without tables
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] == "not migrated"
    empty.dispose()


def test_openapi_document_is_served_without_third_party_viewers(client: TestClient) -> None:
    document = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/defenders" in document["paths"]
    assert client.get("/docs").status_code == 404
    assert client.get("/redoc").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "content_type"),
    [
        ("GET", "/api/v1/defenders/%00abc", None, None),
        ("GET", "/staff/defenders?status=%00", None, None),
        ("POST", "/api/v1/organisations", b'{"name": "Nul\\u0000Org"}', "application/json"),
        (
            "POST",
            "/login",
            b"email=a%00b%40example.test&password=x",
            "application/x-www-form-urlencoded",
        ),
    ],
)
def test_nul_characters_are_refused_at_the_edge(
    client: TestClient,
    database: TestDatabase,
    method: str,
    path: str,
    body: bytes | None,
    content_type: str | None,
) -> None:
    with database.session_factory() as session, session.begin():
        admin = factories.user(session, Role.ADMIN)
    factories.sign_in(client, admin)
    headers = {"content-type": content_type} if content_type else {}
    response = client.request(method, path, content=body, headers=headers)
    assert response.status_code == 400
    assert "NUL" in response.text
    assert client.get("/api/v1/organisations").json() == []


def test_background_work_starts_with_the_server_and_stops_with_it(
    settings, database: TestDatabase
) -> None:  # type: ignore[no-untyped-def]
    app = create_app(settings.model_copy(update={"background_tasks": True}), engine=database.engine)
    with TestClient(app):
        running = {thread.name for thread in threading.enumerate()}
        assert {"sla-ladder", "notifier"} <= running
    remaining = {thread.name for thread in threading.enumerate()}
    assert not {"sla-ladder", "notifier"} & remaining


def test_a_worker_of_several_runs_only_its_key_refresher(settings, database: TestDatabase) -> None:  # type: ignore[no-untyped-def]
    background = settings.model_copy(update={"background_tasks": True})
    app = create_app(background, engine=database.engine, background=False, processes=2)
    before = {thread.name for thread in threading.enumerate()}
    with TestClient(app):
        started = {thread.name for thread in threading.enumerate()} - before
        assert started >= {"key-refresher"}
        assert not {"sla-ladder", "retention", "notifier", "demo-platform"} & started
    assert app.state.client_throttle.limit == settings.login_client_limit // 2
