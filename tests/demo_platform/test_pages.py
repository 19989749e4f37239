"""The staff page that shows the demo platform's feed."""

from __future__ import annotations

import random

from fastapi.testclient import TestClient

from hrdshield import clock
from hrdshield.demo_platform import service
from hrdshield.demo_platform.enums import AttackKind
from hrdshield.demo_platform.generator import next_batch, scripted_attack, seed_platform
from hrdshield.security.rbac import Role
from tests import factories
from tests.conftest import TestDatabase


def test_feed_shows_newest_events_with_their_text(
    client: TestClient, database: TestDatabase
) -> None:
    rng = random.Random(3)
    with database.session_factory() as session, session.begin():
        world = seed_platform(session=session, rng=rng)
        service.apply(session=session, events=next_batch(world, rng, clock.now()))
        attack = scripted_attack(AttackKind.PILE_ON, world, clock.now(), rng=rng)
        service.apply(session=session, events=attack)
        reviewer = factories.user(session, Role.REVIEWER)
        hrd = factories.user(session, Role.HRD)
    factories.sign_in(client, reviewer)
    page = client.get("/staff/platform")
    assert page.status_code == 200
    texts = [event["content"]["text"] for event in attack if event.get("content")]
    assert texts
    assert any(text[:40].replace("'", "&#39;") in page.text for text in texts)
    assert "@demo_hrd_" in page.text
    assert "<meter" in page.text

    other = TestClient(client.app)
    factories.sign_in(other, hrd)
    assert other.get("/staff/platform").status_code == 403
