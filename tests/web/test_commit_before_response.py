"""A change is committed before its response leaves, so the page a redirect leads to sees it.

Regression test: with FastAPI's default dependency scope the session committed only after the
response was sent, and a fast client following the 303 could land before the commit.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
from sqlalchemy import event

from hrdshield.security.rbac import Role
from tests import factories
from tests.conftest import TestDatabase
from tests.web.browser import LiveSite, live_site_fixture  # noqa: F401  (fixture)


def test_redirect_target_sees_the_new_session_even_when_commits_are_slow(
    live_site: LiveSite, database: TestDatabase
) -> None:
    with live_site.session_factory() as session, session.begin():
        reviewer = factories.user(session, Role.REVIEWER)

    def slow_commit(_connection: Any) -> None:
        time.sleep(0.3)

    event.listen(database.engine, "commit", slow_commit)
    with httpx.Client(base_url=live_site.base_url, timeout=10) as browser:
        page = browser.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        answer = browser.post(
            "/login",
            data={
                "email": reviewer.email,
                "password": factories.PASSWORD,
                "csrf_token": token.group(1),
                "next": "/staff",
            },
        )
        assert answer.status_code == 303
        landed = browser.get(answer.headers["location"], follow_redirects=False)
        assert landed.status_code == 200, "the two-step page did not see the new session"
        assert 'name="code"' in landed.text
