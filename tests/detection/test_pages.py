"""Reviewers' detection pages, through the real app (the browser tests check them with axe)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdshield.detection import ingest
from hrdshield.detection.enums import AlertVerdict, IngestChannel
from hrdshield.detection.models import Alert
from hrdshield.detection.tasks import build_consumer
from hrdshield.security.rbac import Role
from tests import factories
from tests.conftest import TestDatabase
from tests.detection.streams import StreamBuilder


def seed_pile_on(database: TestDatabase, handle: str = "demo_hrd_amara") -> tuple[str, str]:
    """Enrol a defender, stream a pile-on at them and run detection; return (defender, alert)."""
    with database.session_factory() as session, session.begin():
        defender_id = factories.defender(session, handles=[f"@{handle}"]).id
    stream = StreamBuilder()
    for number in range(12):
        stream.tick(seconds=20)
        stream.reply(f"brigade{number % 6}", handle, text=f"hostile reply {number}")
        stream.mention(f"crowd{number}", handle, text=f"look at this {number}")
    with database.session_factory() as session, session.begin():
        ingest.accept_events(session=session, events=stream.events, channel=IngestChannel.API)
    build_consumer(database.session_factory, database.keyring).drain()
    with database.session_factory() as session:
        return defender_id, session.scalars(select(Alert.id)).one()


def _reviewer(client: TestClient, session: Session) -> None:
    reviewer = factories.user(session, Role.REVIEWER)
    session.commit()
    factories.sign_in(client, reviewer)


def test_the_alerts_page_lists_and_filters(
    client: TestClient, database: TestDatabase, session: Session
) -> None:
    _, alert_id = seed_pile_on(database)
    _reviewer(client, session)
    page = client.get("/staff/alerts")
    assert page.status_code == 200
    assert f"/staff/alerts/{alert_id}" in page.text
    assert "Pile-on" in page.text
    assert f"/staff/alerts/{alert_id}" not in client.get("/staff/alerts?detector=doxxing").text
    assert client.get("/staff/alerts?detector=nonsense").status_code == 200  # shows all
    assert client.get("/staff/alerts?page=0").status_code == 422
    spanish = client.get("/staff/alerts?lang=es")
    assert "Alertas de detección" in spanish.text


def test_an_alert_shows_why_it_fired_and_folds_texts_away(
    client: TestClient, database: TestDatabase, session: Session
) -> None:
    _, alert_id = seed_pile_on(database)
    _reviewer(client, session)
    page = client.get(f"/staff/alerts/{alert_id}").text
    assert "distinct_accounts_over_baseline" in page
    assert re.search(r"<details><summary>[^<]+</summary><p class=\"evidence-text\"", page)
    assert "hostile reply 0" in page
    assert client.get("/staff/alerts/" + "0" * 32).status_code == 404


def test_the_verdict_form_records_and_refuses_nonsense(
    client: TestClient, database: TestDatabase, session: Session
) -> None:
    _, alert_id = seed_pile_on(database)
    _reviewer(client, session)
    csrf = factories.csrf_token(client, f"/staff/alerts/{alert_id}")
    done = client.post(
        f"/staff/alerts/{alert_id}/verdict",
        data={"verdict": "true_positive", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert done.status_code == 303
    refused = client.post(
        f"/staff/alerts/{alert_id}/verdict", data={"verdict": "perhaps", "csrf_token": csrf}
    )
    assert refused.status_code == 422
    assert "true positive or false positive" in refused.text
    del client.headers["x-csrf-token"]  # set by sign_in for API calls
    no_csrf = client.post(f"/staff/alerts/{alert_id}/verdict", data={"verdict": "false_positive"})
    assert no_csrf.status_code == 403
    with database.session_factory() as check:
        assert check.get(Alert, alert_id).verdict is AlertVerdict.TRUE_POSITIVE  # type: ignore[union-attr]


def test_the_campaign_view_groups_accounts_and_draws_a_timeline(
    client: TestClient, database: TestDatabase, session: Session
) -> None:
    defender_id, _ = seed_pile_on(database)
    _reviewer(client, session)
    page = client.get(f"/staff/defenders/{defender_id}/campaign").text
    assert '<svg role="img"' in page
    assert "@brigade0" in page
    rows = re.findall(
        r"<td dir=\"ltr\">@brigade0 <span class=\"hint\">#[0-9a-f]{8}</span></td>\s*<td>(\d+)</td>",
        page,
    )
    assert rows == ["2"]  # two replies by the same account, grouped by its keyed hash
    assert "acct-brigade0" not in page  # the platform's account id is never shown
    assert client.get("/staff/defenders/" + "0" * 32 + "/campaign").status_code == 404


def test_the_overview_shows_feedback_per_detector(
    client: TestClient, database: TestDatabase, session: Session
) -> None:
    seed_pile_on(database)
    _reviewer(client, session)
    page = client.get("/staff/detection").text
    assert "Reviewers&#39; verdicts per detector" in page or "Reviewers' verdicts" in page
    assert "Not judged yet" in page
