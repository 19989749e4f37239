"""Logs never hold personal data, secrets or the client's address, across a full request cycle."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient

from hrdshield.security import totp
from hrdshield.security.rbac import Role
from tests import factories
from tests.conftest import TestDatabase

FORWARDED_FOR = "203.0.113.77"  # documentation range, sent as a proxy header
PERSONAL = {
    "email": "qlog-hrd@example.test",
    "password": "qlog secret password 123",
    "name": "Qlog Defender Name",
    "phone": "+44 7700 900321",
    "address": "9 Qlog Street",
    "handle": "@qlog_handle",
}


def _self_register(client: TestClient) -> None:
    token = factories.csrf_token(client, "/enrol")
    response = client.post(
        "/enrol",
        data={
            "csrf_token": token,
            "email": PERSONAL["email"],
            "password": PERSONAL["password"],
            "display_name": PERSONAL["name"],
            "country": "GB",
            "languages": ["en"],
            "handles": PERSONAL["handle"],
            "phone": PERSONAL["phone"],
            "address": PERSONAL["address"],
            "contact_channel": "email",
            "contact_address": PERSONAL["email"],
            "consents": ["processing"],
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def test_full_request_cycle_logs_nothing_personal(
    client: TestClient, database: TestDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client.headers["x-forwarded-for"] = FORWARDED_FOR
    with database.session_factory() as session, session.begin():
        reviewer = factories.user(session, Role.REVIEWER, email="qlog-reviewer@example.test")
        reviewer_secret = reviewer.totp_secret
    _self_register(client)
    client.get("/portal")
    client.post("/logout", data={"csrf_token": factories.csrf_token(client, "/portal")})
    # A failed sign-in, a malformed body full of personal data, and a staff sign-in with TOTP.
    client.post("/api/v1/session", json={"email": PERSONAL["email"], "password": "wrong pass"})
    client.post("/api/v1/session", content=f'{{"email": "{PERSONAL["email"]}", broken')
    assert reviewer_secret is not None
    code = totp.code_at(reviewer_secret)
    signed_in = client.post(
        "/api/v1/session",
        json={
            "email": "qlog-reviewer@example.test",
            "password": factories.PASSWORD,
            "totp_code": code,
        },
    )
    assert signed_in.status_code == 201
    csrf = signed_in.json()["csrf_token"]
    client.headers["x-csrf-token"] = csrf
    listed = client.get("/api/v1/defenders").json()
    client.get(f"/api/v1/defenders/{listed['items'][0]['id']}")
    client.get("/staff/defenders")
    client.get("/api/v1/defenders/unknown-id")

    server_records = [r for r in caplog.records if not r.name.startswith("httpx")]  # the client's
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in server_records)
    assert "hrdshield.access" in logged, "the access log was not captured"
    assert re.search(r"POST /enrol 303", logged)
    session_token = client.cookies.get("hrdshield_session")
    forbidden = [
        *PERSONAL.values(),
        "qlog-reviewer@example.test",
        code,
        csrf,
        FORWARDED_FOR,
        "testclient",
        str(reviewer_secret),
        str(session_token),
        "+447700900321",
        "7700 900321",
        listed["items"][0]["id"],
    ]
    for value in forbidden:
        assert value.lower() not in logged.lower(), f"logged: {value}"
