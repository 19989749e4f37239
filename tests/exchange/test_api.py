"""The indicator API: listing, importing by JSON body or upload, roles and bad input."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hrdshield.exchange.models import IndicatorSource
from hrdshield.security.rbac import Role
from tests.conftest import TestDatabase
from tests.exchange.bundles import (
    EAGLE,
    RCS,
    bundle,
    encode,
    feed,
    indicator,
    signed_in,
    stored,
)
from tests.factories import problem


def test_a_lead_imports_by_json_body_and_by_upload(
    client: TestClient, database: TestDatabase
) -> None:
    signed_in(client, database, Role.LEAD)
    response = client.post(
        "/api/v1/indicators/import?source=RCS%20Lab",
        content=feed(RCS).read_bytes(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["source_name"], body["imported"], body["skipped"]) == ("RCS Lab", 35, 5)
    assert body["skipped_by"] == [
        {
            "type": "app",
            "reason": "object_type",
            "description": "object type not matched by HRD Shield",
            "count": 5,
        }
    ]
    uploaded = client.post(
        "/api/v1/indicators/import",
        files={"file": ("eagle.stix2", feed(EAGLE).read_bytes(), "application/octet-stream")},
        data={"source": "Eagle"},
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["values_by_type"] == {
        "domain-name": 13,
        "file:sha-256": 25,
        "ipv4-addr": 13,
    }
    again = client.post(
        "/api/v1/indicators/import?source=Eagle",
        content=feed(EAGLE).read_bytes(),
        headers={"content-type": "application/stix+json;version=2.1"},
    )
    assert again.json()["unchanged"] == 51

    sources = client.get("/api/v1/indicator-sources").json()
    assert [(item["name"], item["active"], item["imports"]) for item in sources] == [
        ("Eagle", 51, 2),
        ("RCS Lab", 35, 1),
    ]
    assert sources[0]["last_report"]["unchanged"] == 51


def test_indicators_are_listed_by_type_and_source(
    client: TestClient, database: TestDatabase
) -> None:
    signed_in(client, database, Role.ADMIN)
    client.post("/api/v1/indicators/import", json=json.loads(feed(EAGLE).read_text()))
    client.post("/api/v1/indicators/import", json=json.loads(feed(RCS).read_text()))
    signed_in(client, database, Role.AUDITOR)
    page = client.get("/api/v1/indicators", params={"type": "ipv4-addr", "limit": 10})
    assert page.status_code == 200, page.text
    body = page.json()
    assert (body["total"], len(body["items"]), body["limit"]) == (13, 10, 10)
    assert {item["values"][0]["type"] for item in body["items"]} == {"ipv4-addr"}
    assert body["items"][0]["malware"] == ["EagleMsgSpy"]
    rcs = next(s for s in client.get("/api/v1/indicator-sources").json() if s["name"] == "RCSLab")
    by_source = client.get("/api/v1/indicators", params={"source_id": rcs["id"], "offset": 30})
    assert by_source.json()["total"] == 35
    assert len(by_source.json()["items"]) == 5
    assert client.get("/api/v1/indicators", params={"source_id": "0" * 32}).json()["total"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "process"}, "type"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"offset": -1}, "offset"),
        ({"source_id": "x" * 33}, "source_id"),
    ],
)
def test_bad_list_parameters_are_a_422(
    client: TestClient, database: TestDatabase, params: dict[str, object], field: str
) -> None:
    signed_in(client, database, Role.REVIEWER)
    body = problem(client.get("/api/v1/indicators", params=params), 422)
    assert field in body["detail"]


@pytest.mark.parametrize(
    ("content", "content_type", "status", "message"),
    [
        (b"{oops", "application/json", 422, "not valid JSON"),
        (b"[]", "application/json", 422, "not a STIX bundle"),
        (b'{"type": "bundle", "id": "bundle--1"}', "application/json", 422, 'no valid "id"'),
        (
            encode(bundle(indicator(1, "[domain-name:value='a.example']", revoked="yes"))),
            "application/json",
            422,
            r'"revoked" is not true or false',
        ),
        (b"<stix/>", "application/xml", 415, "application/json"),
        (b"x", "text/plain", 415, "multipart/form-data"),
        (b'{"type": "bundle", "name": "a\\u0000b"}', "application/json", 400, "NUL"),
    ],
)
def test_bad_bundles_are_refused_and_change_nothing(
    client: TestClient,
    database: TestDatabase,
    content: bytes,
    content_type: str,
    status: int,
    message: str,
) -> None:
    signed_in(client, database, Role.LEAD)
    response = client.post(
        "/api/v1/indicators/import", content=content, headers={"content-type": content_type}
    )
    body = problem(response, status)
    assert message.replace("\\", "") in body["detail"] or message in body["detail"]
    assert stored(database) == 0


def test_an_upload_without_a_file_or_with_a_hostile_name_is_refused(
    client: TestClient, database: TestDatabase
) -> None:
    signed_in(client, database, Role.LEAD)
    problem(client.post("/api/v1/indicators/import", data={"source": "x"}, files={}), 415)
    missing = client.post(
        "/api/v1/indicators/import", files={"other": ("a.json", b"{}", "application/json")}
    )
    assert 'form field "file"' in problem(missing, 422)["detail"]
    hostile = client.post(
        "/api/v1/indicators/import",
        files={"file": ("a.json", feed(RCS).read_bytes(), "application/json")},
        data={"source": "line\rbreak"},
    )
    assert "control characters" in problem(hostile, 422)["detail"]
    assert stored(database) == 0


def test_a_bundle_over_the_request_limit_is_a_413(
    client: TestClient, database: TestDatabase
) -> None:
    signed_in(client, database, Role.LEAD)
    limit = client.app.state.settings.max_request_bytes  # type: ignore[attr-defined]
    response = client.post(
        "/api/v1/indicators/import",
        content=b" " * (limit + 1),
        headers={"content-type": "application/json"},
    )
    problem(response, 413)
    assert stored(database) == 0


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.AUDITOR, Role.PARTNER, Role.HRD])
def test_only_leads_and_admins_may_import(
    client: TestClient, database: TestDatabase, role: Role
) -> None:
    signed_in(client, database, role)
    response = client.post(
        "/api/v1/indicators/import",
        content=feed(RCS).read_bytes(),
        headers={"content-type": "application/json"},
    )
    problem(response, 403)
    with database.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(IndicatorSource)) == 0


def test_signed_out_callers_are_asked_to_sign_in(client: TestClient) -> None:
    problem(client.get("/api/v1/indicators"), 401)
    problem(client.post("/api/v1/indicators/import", json={}), 401)
