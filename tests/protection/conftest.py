"""Fixtures for protection: a defender with a demo account, principals, a fake adapter, a server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.defenders.enums import ConsentScope
from hrdshield.demo_platform import service as platform
from hrdshield.demo_platform.enums import EventType
from hrdshield.demo_platform.events import account_ref, make_event
from hrdshield.protection import tasks
from hrdshield.protection.adapters.base import AdapterCommand, AdapterError, AdapterResult
from hrdshield.protection.adapters.demo import DemoAdapter
from hrdshield.security.rbac import Principal, Role
from tests import factories
from tests.conftest import TestDatabase

HANDLE = "@demo_hrd_amara"


@dataclass
class World:
    """A partner organisation with two officers, a defender it enrolled, staff, the defender."""

    defender_id: str
    account_id: str
    hrd: Principal
    partner: Principal
    second_partner: Principal
    other_partner: Principal
    reviewer: Principal
    second_reviewer: Principal


def demo_account(session: Session, handle: str = HANDLE) -> str:
    """Create the defender's account on the demo platform; return its id."""
    account_id = "acct" + handle.strip("@")[:28]
    event = make_event(
        event_id=f"created-{account_id}",
        event_type=EventType.ACCOUNT_CREATED,
        occurred_at=clock.now(),
        actor=account_ref(account_id, handle),
        sections={
            "profile": {
                "display_name": "Amara (demo)",
                "bio": "",
                "country": "KE",
                "language": "en",
            }
        },
    )
    platform.apply(session=session, events=[event])
    return account_id


def build_world(database: TestDatabase, *, standing_consent: bool) -> World:
    """Enrol a defender through a partner, with or without standing consent to partner actions."""
    with database.session_factory() as session, session.begin():
        organisation = factories.organisation(session)
        officers = [
            factories.user(session, Role.PARTNER, organisation_id=organisation.id) for _ in range(2)
        ]
        outsider = factories.user(session, Role.PARTNER)
        consents = [ConsentScope.PROCESSING, ConsentScope.PROACTIVE_NOTIFICATION]
        if standing_consent:
            consents.append(ConsentScope.PARTNER_ACTIONS)
        partner = factories.principal(officers[0])
        defender = factories.defender(session, actor=partner, handles=[HANDLE], consents=consents)
        hrd_user = factories.user(session, Role.HRD)
        defender.user_id = hrd_user.id
        account_id = demo_account(session)
        reviewers = [factories.user(session, Role.REVIEWER) for _ in range(2)]
        world = World(
            defender_id=defender.id,
            account_id=account_id,
            hrd=Principal(hrd_user.id, Role.HRD, defender_id=defender.id),
            partner=partner,
            second_partner=factories.principal(officers[1]),
            other_partner=factories.principal(outsider),
            reviewer=factories.principal(reviewers[0]),
            second_reviewer=factories.principal(reviewers[1]),
        )
    # Enrolment held the defender's takedowns for review: let the platform carry that out first.
    adapters = {"demo": DemoAdapter(database.session_factory)}
    tasks.deliver_due(session_factory=database.session_factory, adapters=adapters)  # type: ignore[arg-type]
    return world


@pytest.fixture
def world(database: TestDatabase) -> World:
    return build_world(database, standing_consent=True)


@dataclass
class FlakyAdapter:
    """Fails the first `failures` calls (retryable unless told otherwise), then succeeds."""

    failures: int = 0
    retryable: bool = True
    name: str = "demo"
    calls: list[AdapterCommand] = field(default_factory=list)

    def execute(self, command: AdapterCommand) -> AdapterResult:
        self.calls.append(command)
        if len(self.calls) <= self.failures:
            raise AdapterError("the platform answered 503", retryable=self.retryable)
        return AdapterResult(
            settings_before={"is_private": False}, settings_after={"is_private": True}
        )


class _Server(ThreadingHTTPServer):
    state: Any


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler], state: Any) -> Iterator[str]:
    """Serve `handler` on 127.0.0.1 at a free port in a thread; yield the base URL.

    The handler finds `state` (what the test set up and what the server saw) at `self.server.state`.
    """
    server = _Server(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.state = state
    thread = threading.Thread(target=server.serve_forever, name="loopback-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
