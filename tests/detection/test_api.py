"""The events API for platforms and the alerts API for reviewers, through the real app."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrdshield.detection import ingest, platforms, schema
from hrdshield.detection.enums import IngestChannel
from hrdshield.detection.models import Alert, InboxEvent
from hrdshield.detection.tasks import build_consumer
from hrdshield.security.rbac import Principal, Role
from tests import factories
from tests.conftest import TestDatabase
from tests.detection.streams import StreamBuilder

NDJSON = {"content-type": "application/x-ndjson"}


@pytest.fixture
def platform_token(database: TestDatabase) -> str:
    with database.session_factory() as session, session.begin():
        _, token = platforms.register(session=session, actor=Principal.system("t"), name="demo")
    return token


def _body(stream: StreamBuilder) -> bytes:
    return b"\n".join(json.dumps(schema.to_dict(event)).encode() for event in stream.events)


def _inbox(database: TestDatabase) -> int:
    with database.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(InboxEvent)) or 0)


def test_a_platform_posts_a_batch_and_gets_a_report_per_line(
    client: TestClient, database: TestDatabase, platform_token: str
) -> None:
    stream = StreamBuilder()
    stream.reply("someone", "demo_hrd_amara")
    stream.report("someone", "demo_hrd_amara")
    body = _body(stream) + b"\n{broken\n" + _body(stream)
    response = client.post(
        "/api/v1/events",
        content=body,
        headers={**NDJSON, "authorization": f"Bearer {platform_token}"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["accepted"], report["duplicates"]) == (2, 2)
    assert [error["line"] for error in report["rejected"]] == [3]
    assert _inbox(database) == 2


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({"content-type": "application/json"}, b"{}", 415),
        (NDJSON, b"\n\n", 422),
        (NDJSON, b"\n" * 10_001, 413),
    ],
)
def test_bad_batches_are_refused_and_store_nothing(
    client: TestClient,
    database: TestDatabase,
    platform_token: str,
    headers: dict[str, str],
    body: bytes,
    status: int,
) -> None:
    response = client.post(
        "/api/v1/events",
        content=body,
        headers={**headers, "authorization": f"Bearer {platform_token}"},
    )
    factories.problem(response, status)
    assert _inbox(database) == 0


def test_events_need_a_live_platform_token(
    client: TestClient, database: TestDatabase, platform_token: str
) -> None:
    stream = StreamBuilder()
    stream.reply("someone", "demo_hrd_amara")
    factories.problem(client.post("/api/v1/events", content=_body(stream), headers=NDJSON), 401)
    with database.session_factory() as session, session.begin():
        platforms.revoke(session=session, actor=Principal.system("t"), name="demo")
    response = client.post(
        "/api/v1/events",
        content=_body(stream),
        headers={**NDJSON, "authorization": f"Bearer {platform_token}"},
    )
    factories.problem(response, 401)
    assert _inbox(database) == 0


def test_a_platform_token_can_do_nothing_else(client: TestClient, platform_token: str) -> None:
    auth = {"authorization": f"Bearer {platform_token}"}
    factories.problem(client.get("/api/v1/alerts", headers=auth), 403)
    factories.problem(client.get("/api/v1/cases", headers=auth), 403)
    factories.problem(client.get("/api/v1/defenders", headers=auth), 403)


def _alert(database: TestDatabase) -> str:
    with database.session_factory() as session, session.begin():
        factories.defender(session, handles=["@demo_hrd_amara"])
    stream = StreamBuilder()
    for number in range(12):
        stream.tick(seconds=20)
        stream.reply(f"brigade{number}", "demo_hrd_amara", text=f"go away {number}")
    with database.session_factory() as session, session.begin():
        ingest.accept_events(session=session, events=stream.events, channel=IngestChannel.API)
    build_consumer(database.session_factory, database.keyring).drain()
    with database.session_factory() as session:
        return session.scalars(select(Alert.id)).one()


def test_reviewers_read_alerts_with_evidence_and_judge_them(
    client: TestClient, database: TestDatabase, session: Session
) -> None:
    alert_id = _alert(database)
    reviewer = factories.user(session, Role.REVIEWER)
    session.commit()
    factories.sign_in(client, reviewer)
    listed = client.get("/api/v1/alerts?detector=pile_on").json()
    assert [item["id"] for item in listed] == [alert_id]
    detail = client.get(f"/api/v1/alerts/{alert_id}").json()
    assert detail["explanation"]["rule"] == "distinct_accounts_over_baseline"
    assert len(detail["evidence"]) == 12
    assert detail["evidence"][0]["event"]["content"]["text"] == "go away 0"
    csrf = factories.csrf_token(client, "/staff/alerts")
    judged = client.post(
        f"/api/v1/alerts/{alert_id}/verdict",
        json={"verdict": "false_positive"},
        headers={"x-csrf-token": csrf},
    )
    assert judged.json()["verdict"] == "false_positive"
    feedback = {row["detector"]: row for row in client.get("/api/v1/detection/feedback").json()}
    assert feedback["pile_on"]["false_positives"] == 1
    assert feedback["pile_on"]["precision"] == 0.0


def test_bad_alert_requests_get_clear_errors(
    client: TestClient, database: TestDatabase, session: Session
) -> None:
    alert_id = _alert(database)
    reviewer = factories.user(session, Role.REVIEWER)
    session.commit()
    factories.sign_in(client, reviewer)
    csrf = {"x-csrf-token": factories.csrf_token(client, "/staff/alerts")}
    factories.problem(client.get("/api/v1/alerts/" + "0" * 32), 404)
    factories.problem(client.get("/api/v1/alerts?detector=nonsense"), 422)
    factories.problem(
        client.post(f"/api/v1/alerts/{alert_id}/verdict", json={"verdict": "maybe"}, headers=csrf),
        422,
    )
    factories.problem(
        client.post(f"/api/v1/alerts/{alert_id}/verdict", content=b"{", headers=csrf), 422
    )
    assert client.get(f"/api/v1/alerts/{alert_id}").json()["verdict"] is None


def test_administrators_register_platforms_and_see_dead_letters(
    client: TestClient, session: Session
) -> None:
    admin = factories.user(session, Role.ADMIN)
    session.commit()
    factories.sign_in(client, admin)
    csrf = {"x-csrf-token": factories.csrf_token(client, "/staff")}
    created = client.post("/api/v1/platforms", json={"name": "Example-Net"}, headers=csrf)
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert token.startswith("hrdp_")
    assert created.json()["name"] == "example-net"
    factories.problem(
        client.post("/api/v1/platforms", json={"name": "example-net"}, headers=csrf), 409
    )
    factories.problem(
        client.post("/api/v1/platforms", json={"name": "bad name!"}, headers=csrf), 422
    )
    listed = client.get("/api/v1/platforms").json()
    assert [item["name"] for item in listed] == ["example-net"]
    assert "token" not in listed[0]
    bad = client.post(
        "/api/v1/events",
        content=b"not json",
        headers={**NDJSON, "authorization": f"Bearer {token}"},
    )
    assert bad.json()["rejected"][0]["line"] == 1
    letters = client.get("/api/v1/detection/dead-letters").json()
    assert [(letter["stage"], letter["platform"]) for letter in letters] == [
        ("validation", "example-net")
    ]
    revoked = client.post("/api/v1/platforms/example-net/revoke", headers=csrf)
    assert revoked.json()["revoked_at"] is not None
