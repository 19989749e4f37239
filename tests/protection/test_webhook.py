"""The signed-webhook adapter against a real receiver on loopback that verifies every request.

The receiver is what a platform would run: it checks signature and timestamp with `verify`,
applies each idempotency key once (a repeat is answered 409 with the first answer), keeps the
accounts' settings, and can be told to fail, hang past the client's timeout and recover.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from hrdshield import clock, outbound
from hrdshield.app import create_app
from hrdshield.cases import service as cases
from hrdshield.cases.enums import CaseCategory, CaseEventKind
from hrdshield.cases.models import CaseEvent
from hrdshield.cases.schemas import CaseCreate
from hrdshield.config import ConfigError, Settings, load_settings
from hrdshield.notify.enums import TemplateKey
from hrdshield.notify.models import Notification
from hrdshield.protection import service, tasks
from hrdshield.protection.adapters import adapters_from_settings
from hrdshield.protection.adapters.base import AdapterCommand, AdapterError
from hrdshield.protection.adapters.webhook import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InvalidSignature,
    WebhookAdapter,
    document,
    signed_headers,
    verify,
)
from hrdshield.protection.enums import ActionKind, ActionState, CommandOperation, CommandStatus
from hrdshield.protection.models import PlatformCommand, ProtectiveAction
from tests.conftest import TestDatabase
from tests.protection.conftest import HANDLE, World, serving

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SECRET = "test-webhook-secret-0123456789abcdef"
TIMEOUT = 0.5  # the adapter's; a hanging receiver waits three times as long


@dataclass
class Platform:
    """The receiving platform: accounts, what it applied, and how it should answer."""

    script: list[str] = field(default_factory=list)  # per key, for its 1st, 2nd... request
    always: str | None = None  # answer every request this way ("503", "400", ...)
    retry_after: str | None = None
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    answers: dict[str, bytes] = field(default_factory=dict)  # idempotency key -> first answer
    effects: list[tuple[str, str]] = field(default_factory=list)  # (key, operation) applied
    received: list[str] = field(default_factory=list)  # keys of verified requests
    rejected: list[str] = field(default_factory=list)  # reasons of refused requests
    lock: threading.Lock = field(default_factory=threading.Lock)

    def apply(self, action: dict[str, Any]) -> bytes:
        """Carry one verified action out and return the answer (call under the lock)."""
        settings = self.accounts.setdefault(
            action["account_handle"],
            {"is_private": False, "followers_hidden": False, "discoverable": True},
        )
        before = dict(settings)
        if action["operation"] == "revert":
            settings.update(action["settings_to_restore"] or {})
        elif action["kind"] == "lockdown":
            settings.update(is_private=True, followers_hidden=True)
        elif action["kind"] == "enhanced_privacy":
            settings.update(discoverable=False)
        elif action["kind"] == "shield":
            settings["shield_until"] = action["expires_at"]
        self.effects.append((action["idempotency_key"], action["operation"]))
        answer = {"settings_before": before, "settings_after": dict(settings)}
        if action["kind"] == "lockdown":
            answer["not_done"] = ["require_two_factor"]
        return json.dumps(answer).encode()


class Receiver(BaseHTTPRequestHandler):
    """Verify, deduplicate, apply, answer: or fail the way the script says."""

    def do_POST(self) -> None:
        platform: Platform = self.server.state  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            action = verify(dict(self.headers), body, SECRET)
        except InvalidSignature as error:
            with platform.lock:
                platform.rejected.append(str(error))
            self._answer(401, b"")
            return
        key = action["idempotency_key"]
        with platform.lock:
            platform.received.append(key)
            nth = platform.received.count(key)
            mode = platform.always or (
                platform.script[nth - 1] if nth <= len(platform.script) else "ok"
            )
            if mode.isdigit():
                self._answer(int(mode), b"")
                return
            if key in platform.answers:  # done before: say so, with the first answer
                self._answer(409, platform.answers[key], echo=key)
                return
            platform.answers[key] = platform.apply(action)
            answer = platform.answers[key]
        if mode == "hang":  # applied, but the answer comes too late for the client
            time.sleep(TIMEOUT * 3)
        self._answer(200, answer)

    def _answer(self, status: int, body: bytes, echo: str | None = None) -> None:
        platform: Platform = self.server.state  # type: ignore[attr-defined]
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if echo:
                self.send_header(IDEMPOTENCY_HEADER, echo)
            if platform.retry_after and status in (429, 503):
                self.send_header("Retry-After", platform.retry_after)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting: exactly what the hanging mode is for

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Keep test output quiet."""


@pytest.fixture
def platform() -> Platform:
    return Platform()


@pytest.fixture
def endpoint(platform: Platform) -> Any:
    with serving(Receiver, platform) as base:
        yield f"{base}/hrdshield/actions"


def _adapter(endpoint: str) -> WebhookAdapter:
    return WebhookAdapter(url=endpoint, secret=SecretStr(SECRET), timeout_seconds=TIMEOUT)


def _deliver(database: TestDatabase, endpoint: str) -> tasks.DeliveryReport:
    return tasks.deliver_due(
        session_factory=database.session_factory, adapters={"webhook": _adapter(endpoint)}
    )


def _request(database: TestDatabase, world: World, kind: ActionKind, **kw: Any) -> str:
    with database.session_factory() as session, session.begin():
        return service.request(
            session=session,
            actor=world.hrd,
            defender_id=world.defender_id,
            kind=kind,
            platform="webhook",
            **kw,
        ).id


def _action(database: TestDatabase, action_id: str) -> ProtectiveAction:
    with database.session_factory() as session:
        action = session.get(ProtectiveAction, action_id)
        assert action is not None
        return action


def _commands(database: TestDatabase, action_id: str) -> list[PlatformCommand]:
    with database.session_factory() as session:
        return service.commands_of(session=session, action_id=action_id)


def _drain(database: TestDatabase, endpoint: str, *, rounds: int = 12) -> None:
    """Deliver, then let the frozen clock run past each backoff, until nothing is pending."""
    for _ in range(rounds):
        _deliver(database, endpoint)
        with database.session_factory() as session:
            pending = session.scalars(
                select(PlatformCommand).where(PlatformCommand.status == CommandStatus.PENDING)
            ).all()
        if not pending:
            return
        clock.advance(seconds=tasks.MAX_BACKOFF.total_seconds() * 1.5)
    pytest.fail("commands still pending after every round")


def _command(**overrides: Any) -> AdapterCommand:
    values: dict[str, Any] = {
        "command_id": "c1",
        "idempotency_key": "a1:apply",
        "action_id": "a1",
        "operation": CommandOperation.APPLY,
        "kind": ActionKind.LOCKDOWN,
        "account_handle": HANDLE,
    }
    values.update(overrides)
    return AdapterCommand(**values)


# --- the success path ----------------------------------------------------------------------------


def test_actions_arrive_signed_are_applied_and_reverted_with_the_settings_before(
    database: TestDatabase, world: World, platform: Platform, endpoint: str
) -> None:
    with clock.frozen(NOW):
        lockdown = _request(database, world, ActionKind.LOCKDOWN)
        privacy = _request(database, world, ActionKind.ENHANCED_PRIVACY)
        assert _deliver(database, endpoint).done == 2
        assert platform.accounts[HANDLE] == {
            "is_private": True,
            "followers_hidden": True,
            "discoverable": False,
        }
        applied = _action(database, lockdown)
        assert applied.state is ActionState.APPLIED
        assert json.loads(applied.settings_before or "") == {
            "is_private": False,
            "followers_hidden": False,
        }
        # what the platform could not do is shown with the action, not swallowed
        assert applied.last_error == "not possible on this platform: require_two_factor"
        assert _action(database, privacy).last_error is None

        with database.session_factory() as session, session.begin():
            service.revert(session=session, actor=world.hrd, action_id=lockdown)
        assert _deliver(database, endpoint).done == 1
    assert _action(database, lockdown).state is ActionState.REVERTED
    # the lockdown is undone; the other action's setting stays as it is
    assert platform.accounts[HANDLE] == {
        "is_private": False,
        "followers_hidden": False,
        "discoverable": False,
    }
    assert platform.rejected == []
    revert_key = _commands(database, lockdown)[-1].idempotency_key
    assert platform.effects[-1] == (revert_key, "revert")


def test_the_document_and_headers_follow_the_published_contract() -> None:
    command = _command(
        kind=ActionKind.SHIELD,
        expires_at=NOW + timedelta(hours=48),
        options={"mute_younger_than_days": 7},
    )
    body = document(command)
    assert body == document(command)  # the same bytes on every attempt
    assert json.loads(body) == {
        "schema": "hrdshield.action/1",
        "command_id": "c1",
        "idempotency_key": "a1:apply",
        "action_id": "a1",
        "operation": "apply",
        "kind": "shield",
        "account_handle": HANDLE,
        "expires_at": "2026-12-03T12:00:00.000000Z",
        "options": {"mute_younger_than_days": 7},
        "settings_to_restore": None,
    }
    headers = signed_headers(SECRET, body, idempotency_key="a1:apply", at=NOW)
    timestamp = int(NOW.timestamp())
    assert headers[TIMESTAMP_HEADER] == str(timestamp)
    assert headers[IDEMPOTENCY_HEADER] == "a1:apply"
    assert headers[SIGNATURE_HEADER] == f"v1={outbound.hmac_sha256(SECRET, timestamp, body)}"


def test_the_worked_example_in_the_docs_verifies() -> None:
    """The example a platform engineer implements against is checked by the code itself."""
    text = (Path(__file__).parents[2] / "docs" / "protection.md").read_text()
    example = text.split("**Worked example.**", 1)[1].split("```", 2)[1]
    fields = dict(line.split(": ", 1) for line in example.strip().splitlines())
    secret = re.search(r"the secret `([^`]+)`", text)
    assert secret is not None
    headers = {name: value for name, value in fields.items() if name != "body"}
    body = fields["body"].encode()
    at = datetime.fromtimestamp(int(fields[TIMESTAMP_HEADER]), UTC)
    assert verify(headers, body, secret.group(1), now=at)["kind"] == "shield"
    assert (
        signed_headers(secret.group(1), body, idempotency_key="k", at=at)[SIGNATURE_HEADER]
        == (fields[SIGNATURE_HEADER])
    )


# --- failing, hanging and recovering -------------------------------------------------------------


def test_a_receiver_that_fails_twice_then_hangs_then_recovers_loses_and_repeats_nothing(
    database: TestDatabase, world: World, platform: Platform, endpoint: str
) -> None:
    platform.script = ["503", "503", "hang"]  # for every action: fail, fail, apply too late
    with clock.frozen(NOW):
        ids = [
            _request(database, world, kind)
            for kind in (ActionKind.LOCKDOWN, ActionKind.ENHANCED_PRIVACY, ActionKind.SHIELD)
        ]
        first = _deliver(database, endpoint)
        assert (first.done, first.retrying, first.dead) == (0, 3, 0)
        assert _deliver(database, endpoint).retrying == 0  # backing off: nothing is due yet
        _drain(database, endpoint)

    keys = [
        command.idempotency_key for action_id in ids for command in _commands(database, action_id)
    ]
    assert len(set(keys)) == 3
    # every action reached the platform four times (503, 503, too late, again) ...
    assert Counter(platform.received) == dict.fromkeys(keys, 4)
    # ... and was applied exactly once: nothing lost, nothing doubled
    assert Counter(key for key, _ in platform.effects) == dict.fromkeys(keys, 1)
    assert platform.rejected == []
    for action_id in ids:
        action = _action(database, action_id)
        assert action.state is ActionState.APPLIED
        assert action.settings_before  # the answer given again under 409 carried the settings
        [command] = _commands(database, action_id)
        assert (command.status, command.attempts) == (CommandStatus.DONE, 4)
    assert platform.accounts[HANDLE]["is_private"] is True
    assert platform.accounts[HANDLE]["discoverable"] is False


def test_a_receiver_that_never_recovers_ends_dead_and_the_defender_and_case_are_told(
    database: TestDatabase, world: World, platform: Platform, endpoint: str
) -> None:
    platform.always = "503"
    with clock.frozen(NOW):
        with database.session_factory() as session, session.begin():
            case = cases.create(
                session=session,
                actor=world.reviewer,
                case_in=CaseCreate(
                    category=CaseCategory.HARASSMENT,
                    summary="pile-on",
                    defender_id=world.defender_id,
                ),
            )
            case_id = case.id
        action_id = _request(database, world, ActionKind.LOCKDOWN, case_id=case_id)
        _drain(database, endpoint, rounds=tasks.MAX_ATTEMPTS + 2)

    action = _action(database, action_id)
    assert (action.state, action.last_error) == (ActionState.FAILED, "HTTP 503")
    [command] = _commands(database, action_id)
    assert (command.status, command.attempts) == (CommandStatus.DEAD, tasks.MAX_ATTEMPTS)
    assert len(platform.received) == tasks.MAX_ATTEMPTS
    assert platform.effects == []
    with database.session_factory() as session:
        templates = session.scalars(select(Notification.template)).all()
        assert TemplateKey.PROTECTION_FAILED in templates
        states = [
            event.data["state"]
            for event in session.scalars(
                select(CaseEvent).where(
                    CaseEvent.case_id == case_id, CaseEvent.kind == CaseEventKind.PROTECTION
                )
            )
        ]
    assert states[-1] == "failed"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_a_refusal_is_not_retried(
    database: TestDatabase, world: World, platform: Platform, endpoint: str, status: int
) -> None:
    platform.always = str(status)
    with clock.frozen(NOW):
        action_id = _request(database, world, ActionKind.LOCKDOWN)
        assert _deliver(database, endpoint).dead == 1
    assert len(platform.received) == 1
    action = _action(database, action_id)
    assert (action.state, action.last_error) == (ActionState.FAILED, f"HTTP {status}")


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_a_passing_trouble_is_retried(platform: Platform, endpoint: str, status: int) -> None:
    platform.always = str(status)
    with clock.frozen(NOW), pytest.raises(AdapterError) as caught:
        _adapter(endpoint).execute(_command())
    assert (caught.value.code, caught.value.retryable) == (f"HTTP {status}", True)


def test_retry_after_is_honoured(
    database: TestDatabase, world: World, platform: Platform, endpoint: str
) -> None:
    platform.always, platform.retry_after = "429", "600"
    with clock.frozen(NOW):
        action_id = _request(database, world, ActionKind.LOCKDOWN)
        assert _deliver(database, endpoint).retrying == 1
    [command] = _commands(database, action_id)
    assert command.next_attempt_at == NOW + timedelta(seconds=600)  # not our 2 seconds


def test_a_hung_receiver_and_a_closed_port_are_retryable(platform: Platform, endpoint: str) -> None:
    platform.script = ["hang"]
    with clock.frozen(NOW), pytest.raises(AdapterError) as caught:
        _adapter(endpoint).execute(_command())
    assert (caught.value.code, caught.value.retryable) == ("timeout", True)
    with serving(Receiver, Platform()) as base:
        closed = base  # the server is gone when the block ends: its port refuses
    with clock.frozen(NOW), pytest.raises(AdapterError) as caught:
        _adapter(closed + "/x").execute(_command())
    assert (caught.value.code, caught.value.retryable) == ("connection refused", True)


def test_409_without_our_key_is_an_unfinished_request_to_retry(
    platform: Platform, endpoint: str
) -> None:
    platform.always = "409"  # answered without echoing the key: the first is still running
    with clock.frozen(NOW), pytest.raises(AdapterError) as caught:
        _adapter(endpoint).execute(_command())
    assert caught.value.retryable


# --- verification, for receivers -----------------------------------------------------------------


def _signed(at: datetime = NOW, key: str = "a1:apply") -> tuple[dict[str, str], bytes]:
    body = document(_command(idempotency_key=key))
    return signed_headers(SECRET, body, idempotency_key=key, at=at), body


def test_verify_accepts_a_fresh_request_and_returns_the_action() -> None:
    headers, body = _signed()
    lower = {name.lower(): value for name, value in headers.items()}  # header case is free
    assert verify(lower, body, SECRET, now=NOW + timedelta(seconds=299))["kind"] == "lockdown"


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda h, b: (h, b, NOW + timedelta(seconds=301)), "stale timestamp"),  # a late replay
        (lambda h, b: (h, b, NOW - timedelta(seconds=301)), "stale timestamp"),  # from the future
        (lambda h, b: (h, b.replace(b"lockdown", b"shield__"), NOW), "does not match"),
        (lambda h, b: ({**h, TIMESTAMP_HEADER: str(int(NOW.timestamp()) + 1)}, b, NOW), "match"),
        (lambda h, b: ({**h, SIGNATURE_HEADER: "v1=" + "0" * 64}, b, NOW), "does not match"),
        (lambda h, b: ({**h, SIGNATURE_HEADER: "v2=abc"}, b, NOW), "signature version"),
        (lambda h, b: ({**h, TIMESTAMP_HEADER: "soon"}, b, NOW), "timestamp"),
        (lambda h, b: ({**h, IDEMPOTENCY_HEADER: "other"}, b, NOW), "idempotency key"),
    ],
)
def test_verify_rejects_replayed_stale_and_forged_requests(tamper: Any, reason: str) -> None:
    headers, body = _signed()
    headers, body, now = tamper(headers, body)
    with pytest.raises(InvalidSignature, match=reason):
        verify(headers, body, SECRET, now=now)


def test_verify_rejects_the_wrong_secret_and_the_receiver_refuses_forgeries(
    platform: Platform, endpoint: str
) -> None:
    headers, body = _signed()
    with pytest.raises(InvalidSignature, match="does not match"):
        verify(headers, body, "another-secret-of-the-same-length!!", now=NOW)
    forger = WebhookAdapter(url=endpoint, secret=SecretStr("not-the-platform-secret-000000000"))
    with clock.frozen(NOW), pytest.raises(AdapterError) as caught:
        forger.execute(_command())
    assert (caught.value.code, caught.value.retryable) == ("HTTP 401", False)
    assert platform.rejected == ["signature does not match"]
    assert platform.effects == []


# --- configuration -------------------------------------------------------------------------------


def test_the_app_sends_actions_through_the_configured_adapter(
    database: TestDatabase, world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "_platform", service._platform)  # create_app sets it: restore
    configured = load_settings(
        environ={},
        **settings.model_dump()
        | {
            "platform_adapter": "webhook",
            "platform_webhook_url": "https://platform.example.test/hooks",
            "platform_webhook_secret": SECRET,
        },
    )
    app = create_app(configured, engine=database.engine)
    [(name, adapter)] = app.state.platform_adapters.items()
    assert (name, type(adapter)) == ("webhook", WebhookAdapter)
    with database.session_factory() as session, session.begin():
        action = service.request(
            session=session, actor=world.hrd, defender_id=world.defender_id, kind=ActionKind.SHIELD
        )
        assert action.platform == "webhook"


def test_the_secret_never_prints() -> None:
    adapter = WebhookAdapter(url="https://platform.example.test/hooks", secret=SecretStr(SECRET))
    assert SECRET not in repr(adapter)
    settings = load_settings(
        environ={},
        platform_adapter="webhook",
        platform_webhook_url="https://platform.example.test/hooks",
        platform_webhook_secret=SECRET,
    )
    assert SECRET not in repr(settings)
    [built] = adapters_from_settings(settings, session_factory=None).values()  # type: ignore[arg-type]
    assert isinstance(built, WebhookAdapter)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({}, "HRDSHIELD_PLATFORM_WEBHOOK_URL is required"),
        (
            {"platform_webhook_url": "https://p.example.test/h"},
            "PLATFORM_WEBHOOK_SECRET of at least",
        ),
        (
            {
                "platform_webhook_url": "https://p.example.test/h",
                "platform_webhook_secret": "short",
            },
            "PLATFORM_WEBHOOK_SECRET of at least",
        ),
        ({"platform_webhook_url": "http://p.example.test/h"}, "must use https"),
        ({"platform_webhook_timeout_seconds": "0"}, "PLATFORM_WEBHOOK_TIMEOUT_SECONDS"),
    ],
)
def test_bad_webhook_settings_stop_start_up(values: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(environ={}, platform_adapter="webhook", **values)
