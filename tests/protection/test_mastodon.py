"""The Mastodon adapter against a local contract server of Mastodon's documented REST API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from hrdshield import clock
from hrdshield.config import ConfigError, load_settings
from hrdshield.protection import service, tasks
from hrdshield.protection.adapters import adapters_from_settings
from hrdshield.protection.adapters import mastodon as mastodon_adapter
from hrdshield.protection.adapters.base import AdapterCommand, AdapterError, AdapterResult
from hrdshield.protection.adapters.mastodon import MastodonAdapter, normal_acct
from hrdshield.protection.enums import ActionKind, ActionState, CommandOperation, CommandStatus
from hrdshield.protection.models import ProtectiveAction
from tests.conftest import TestDatabase
from tests.protection.conftest import HANDLE, World, serving
from tests.protection.mastodon_server import (
    ADMIN_SCOPES,
    LOCAL_DOMAIN,
    USER_SCOPES,
    Account,
    Mastodon,
    MastodonHandler,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
USER_TOKEN = "user-token-of-the-defender"
ADMIN_TOKEN = "moderator-token"


@pytest.fixture
def mastodon() -> Mastodon:
    server = Mastodon()
    moderator = server.add_account("moderator_demo")
    server.moderators.add(moderator.id)
    server.tokens[ADMIN_TOKEN] = (moderator.id, ADMIN_SCOPES)
    defender = server.add_account(HANDLE.lstrip("@"), privacy="unlisted")
    server.tokens[USER_TOKEN] = (defender.id, USER_SCOPES)
    server.add_account("someone_else_demo")
    return server


@pytest.fixture
def base_url(mastodon: Mastodon) -> Iterator[str]:
    with serving(MastodonHandler, mastodon) as url:
        yield url


@pytest.fixture
def adapter(base_url: str) -> MastodonAdapter:
    return _adapter(base_url)


def _adapter(base_url: str, **overrides: Any) -> MastodonAdapter:
    values: dict[str, Any] = {
        "url": base_url,
        "admin_token": SecretStr(ADMIN_TOKEN),
        "user_tokens": {f"{HANDLE}@{LOCAL_DOMAIN}": SecretStr(USER_TOKEN)},
        "local_domain": LOCAL_DOMAIN,  # the handles' domain, not the API's 127.0.0.1
        "timeout_seconds": 2.0,
    }
    values.update(overrides)
    return MastodonAdapter(**values)


def _defender(mastodon: Mastodon) -> Account:
    return next(a for a in mastodon.accounts.values() if a.username == HANDLE.lstrip("@"))


def _command(kind: ActionKind, **overrides: Any) -> AdapterCommand:
    values: dict[str, Any] = {
        "command_id": "c1",
        "idempotency_key": f"a-{kind.value}:apply",
        "action_id": f"a-{kind.value}",
        "operation": CommandOperation.APPLY,
        "kind": kind,
        "account_handle": HANDLE,
    }
    values.update(overrides)
    return AdapterCommand(**values)


def _request(database: TestDatabase, actor: Any, world: World, kind: ActionKind) -> str:
    """Ask for an action through the service, to go out through the Mastodon adapter."""
    with database.session_factory() as session, session.begin():
        return service.request(
            session=session,
            actor=actor,
            defender_id=world.defender_id,
            kind=kind,
            platform="mastodon",
        ).id


def _deliver(database: TestDatabase, adapter: MastodonAdapter) -> tasks.DeliveryReport:
    return tasks.deliver_due(
        session_factory=database.session_factory, adapters={"mastodon": adapter}
    )


def _revert(adapter: MastodonAdapter, kind: ActionKind, applied: AdapterResult) -> AdapterResult:
    """Revert as the outbox does: with the settings the action changed."""
    before, after = applied.settings_before or {}, applied.settings_after or {}
    changed = {key: value for key, value in before.items() if after.get(key) != value}
    return adapter.execute(
        _command(
            kind, operation=CommandOperation.REVERT, idempotency_key="r", settings_before=changed
        )
    )


# --- the defender's own settings -----------------------------------------------------------------


def test_lockdown_makes_the_account_private_and_revert_puts_back_what_was_there(
    mastodon: Mastodon, adapter: MastodonAdapter
) -> None:
    defender = _defender(mastodon)
    defender.hide_collections = True  # already hidden: the lockdown must not undo this later
    applied = adapter.execute(_command(ActionKind.LOCKDOWN))
    assert (defender.locked, defender.hide_collections, defender.privacy) == (True, True, "private")
    assert applied.settings_before == {
        "locked": False,
        "hide_collections": True,
        "source[privacy]": "unlisted",
    }
    assert set(applied.not_done) == {
        "limit_replies",
        "limit_direct_messages",
        "mute_young_accounts",
        "sign_out_sessions",
        "require_two_factor",
    }
    assert ("PATCH", "/api/v1/accounts/update_credentials") in mastodon.requests
    _revert(adapter, ActionKind.LOCKDOWN, applied)
    assert (defender.locked, defender.hide_collections, defender.privacy) == (
        False,
        True,
        "unlisted",
    )
    assert mastodon.refused == []


def test_enhanced_privacy_leaves_the_directory_and_search_and_says_what_mastodon_lacks(
    mastodon: Mastodon, adapter: MastodonAdapter
) -> None:
    defender = _defender(mastodon)
    applied = adapter.execute(_command(ActionKind.ENHANCED_PRIVACY))
    assert (defender.discoverable, defender.indexable) == (False, False)
    assert applied.not_done == ("hide_location", "hide_contact")
    _revert(adapter, ActionKind.ENHANCED_PRIVACY, applied)
    assert (defender.discoverable, defender.indexable) == (True, True)


def test_a_shield_filters_notifications_from_strangers_and_new_accounts_until_reverted(
    mastodon: Mastodon, adapter: MastodonAdapter
) -> None:
    defender = _defender(mastodon)
    original = dict(defender.policy)
    applied = adapter.execute(_command(ActionKind.SHIELD, expires_at=NOW + timedelta(hours=48)))
    for key in ("for_not_followers", "for_new_accounts", "for_private_mentions"):
        assert defender.policy[key] == "filter"
    assert defender.policy["for_not_following"] == "accept"  # untouched
    assert applied.not_done == ("hide_replies",)
    _revert(adapter, ActionKind.SHIELD, applied)
    assert defender.policy == original


def test_a_server_without_notification_policies_fails_the_shield_plainly(
    mastodon: Mastodon, adapter: MastodonAdapter
) -> None:
    mastodon.policy_api = False
    with pytest.raises(AdapterError, match=r"Mastodon 4\.3 or later") as caught:
        adapter.execute(_command(ActionKind.SHIELD))
    assert not caught.value.retryable


def test_a_retry_after_a_lost_answer_keeps_the_settings_first_read(
    mastodon: Mastodon, base_url: str
) -> None:
    mastodon.hang_once, mastodon.hang_seconds = "/api/v1/accounts/update_credentials", 1.5
    adapter = _adapter(base_url, timeout_seconds=0.5)
    with pytest.raises(AdapterError, match="timeout"):
        adapter.execute(_command(ActionKind.LOCKDOWN))
    assert _defender(mastodon).locked  # applied on the server; the answer was lost
    applied = adapter.execute(_command(ActionKind.LOCKDOWN))  # the outbox's retry, same key
    assert applied.settings_before == {
        "locked": False,
        "hide_collections": False,
        "source[privacy]": "unlisted",
    }


# --- lookup and tokens ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handle", "acct"),
    [
        (HANDLE, HANDLE.lstrip("@")),
        (f"{HANDLE.upper()}@{LOCAL_DOMAIN}", f"{HANDLE.lstrip('@')}@{LOCAL_DOMAIN}"),
        (" @someone@remote.example.test ", "someone@remote.example.test"),
    ],
)
def test_handles_become_mastodon_accts(handle: str, acct: str) -> None:
    assert normal_acct(handle, "127.0.0.1") == acct


def test_the_account_is_looked_up_by_handle_and_a_stranger_is_not_found(
    mastodon: Mastodon, adapter: MastodonAdapter
) -> None:
    adapter.execute(_command(ActionKind.DISABLE_ACCOUNT, account_handle=f"{HANDLE}@{LOCAL_DOMAIN}"))
    assert ("GET", "/api/v1/accounts/lookup") in mastodon.requests
    assert _defender(mastodon).disabled
    with pytest.raises(AdapterError, match="no account with this handle") as caught:
        adapter.execute(_command(ActionKind.DISABLE_ACCOUNT, account_handle="@nobody_demo"))
    assert not caught.value.retryable


def test_a_token_granted_for_another_account_is_refused_before_any_change(
    mastodon: Mastodon, base_url: str
) -> None:
    other = next(a for a in mastodon.accounts.values() if a.username == "someone_else_demo")
    mastodon.tokens["other-token"] = (other.id, USER_SCOPES)
    adapter = _adapter(base_url, user_tokens={HANDLE: SecretStr("other-token")})
    with pytest.raises(AdapterError, match="belongs to another account"):
        adapter.execute(_command(ActionKind.LOCKDOWN))
    assert not other.locked
    assert not _defender(mastodon).locked
    assert ("PATCH", "/api/v1/accounts/update_credentials") not in mastodon.requests


def test_without_the_owners_token_the_own_settings_are_not_touched(
    mastodon: Mastodon, base_url: str
) -> None:
    adapter = _adapter(base_url, user_tokens={})
    with pytest.raises(AdapterError, match="token its owner granted") as caught:
        adapter.execute(_command(ActionKind.LOCKDOWN))
    assert not caught.value.retryable
    assert mastodon.requests == []


# --- moderation side -----------------------------------------------------------------------------


def test_holding_takedowns_assigns_open_reports_to_the_moderator_and_resolves_none(
    mastodon: Mastodon, adapter: MastodonAdapter
) -> None:
    defender = _defender(mastodon)
    moderator = next(iter(mastodon.moderators))
    colleague = mastodon.add_account("colleague_demo")
    open_reports = [mastodon.add_report(defender) for _ in range(205)]  # two pages
    taken = mastodon.add_report(defender, assigned_account_id=colleague.id)
    closed = mastodon.add_report(defender, action_taken=True)
    elsewhere = mastodon.add_report(colleague)

    applied = adapter.execute(_command(ActionKind.HOLD_TAKEDOWNS))
    assert all(report.assigned_account_id == moderator for report in open_reports)
    assert taken.assigned_account_id == colleague.id  # someone already has it
    assert closed.assigned_account_id is None
    assert elsewhere.assigned_account_id is None
    assert not any(report.action_taken for report in open_reports)  # a human decides
    assert applied.not_done == ("hold_later_reports",)
    assert len(applied.settings_before["report_assignments"]) == 205  # type: ignore[index]

    open_reports[0].assigned_account_id = colleague.id  # a colleague took one over meanwhile
    open_reports[1].action_taken = True  # and one was decided
    _revert(adapter, ActionKind.HOLD_TAKEDOWNS, applied)
    assert open_reports[0].assigned_account_id == colleague.id
    assert open_reports[1].assigned_account_id == moderator
    assert all(report.assigned_account_id is None for report in open_reports[2:])


def test_more_reports_than_the_adapter_reads_are_reported_not_hidden(
    mastodon: Mastodon, adapter: MastodonAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mastodon_adapter, "REPORT_PAGES", 2)  # 200 reports instead of 5,000
    reports = [mastodon.add_report(_defender(mastodon)) for _ in range(201)]
    applied = adapter.execute(_command(ActionKind.HOLD_TAKEDOWNS))
    assert applied.not_done == ("hold_later_reports", "reports_beyond_5000")
    assert sum(report.assigned_account_id is not None for report in reports) == 200


def test_an_answer_larger_than_the_adapter_reads_is_refused_not_read_in_part(
    mastodon: Mastodon, adapter: MastodonAdapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mastodon_adapter, "MAX_ANSWER_BYTES", 100)
    with pytest.raises(AdapterError, match="larger than this adapter reads"):
        adapter.execute(_command(ActionKind.LOCKDOWN))
    assert not _defender(mastodon).locked


def test_deactivation_disables_login_and_revert_enables_it_and_reopens_the_reports(
    mastodon: Mastodon, adapter: MastodonAdapter
) -> None:
    defender = _defender(mastodon)
    reports = [mastodon.add_report(defender) for _ in range(3)]
    applied = adapter.execute(_command(ActionKind.DISABLE_ACCOUNT))
    assert defender.disabled
    assert all(report.action_taken for report in reports)  # Mastodon resolves them with it
    [strike] = mastodon.strikes
    assert (strike["action"], strike["email"]) == ("disable", "false")
    assert applied.not_done == ("deactivate_without_strike",)
    assert adapter.execute(_command(ActionKind.DISABLE_ACCOUNT)).settings_before == {
        "disabled": False,
        "open_reports": [report.id for report in reversed(reports)],
    }  # a redelivery: no second strike, the first reading kept
    assert len(mastodon.strikes) == 1

    _revert(adapter, ActionKind.DISABLE_ACCOUNT, applied)
    assert not defender.disabled
    assert not any(report.action_taken for report in reports)


def test_a_remote_account_cannot_be_deactivated_here(
    mastodon: Mastodon, adapter: MastodonAdapter
) -> None:
    mastodon.add_account("visitor_demo", domain="remote.example.test")
    with pytest.raises(AdapterError, match="HTTP 422") as caught:
        adapter.execute(
            _command(ActionKind.DISABLE_ACCOUNT, account_handle="@visitor_demo@remote.example.test")
        )
    assert not caught.value.retryable


# --- what Mastodon cannot do ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "reason"),
    [
        (CommandOperation.SIGN_OUT_SESSIONS, "no API signs a user's sessions out"),
        (CommandOperation.RESET_CREDENTIALS, "no API resets a user's password"),
    ],
)
def test_recovery_steps_mastodon_has_no_api_for_fail_plainly(
    mastodon: Mastodon, adapter: MastodonAdapter, operation: CommandOperation, reason: str
) -> None:
    with pytest.raises(AdapterError, match=reason) as caught:
        adapter.execute(_command(ActionKind.ACCOUNT_RECOVERY, operation=operation))
    assert not caught.value.retryable
    assert mastodon.requests == []


def test_account_recovery_through_the_outbox_shows_what_failed_and_restores_lockdown(
    database: TestDatabase, world: World, mastodon: Mastodon, adapter: MastodonAdapter
) -> None:
    action_id = _request(database, world.reviewer, world, ActionKind.ACCOUNT_RECOVERY)
    report = _deliver(database, adapter)
    assert (report.dead, report.done) == (2, 1)
    with database.session_factory() as session:
        steps = service.commands_of(session=session, action_id=action_id)
        assert [step.status for step in steps] == [
            CommandStatus.DEAD,
            CommandStatus.DEAD,
            CommandStatus.DONE,
        ]
        assert "sessions out" in (steps[0].last_error or "")
    assert _defender(mastodon).locked


def test_an_applied_lockdown_shows_the_parts_mastodon_cannot_do(
    database: TestDatabase, world: World, mastodon: Mastodon, adapter: MastodonAdapter
) -> None:
    action_id = _request(database, world.hrd, world, ActionKind.LOCKDOWN)
    _deliver(database, adapter)
    with database.session_factory() as session:
        action = session.get(ProtectiveAction, action_id)
        assert action is not None
        assert action.state is ActionState.APPLIED
        assert (action.last_error or "").startswith("not possible on this platform: limit_replies")
        assert json.loads(action.settings_before or "") == {
            "locked": False,
            "hide_collections": False,
            "source[privacy]": "unlisted",
        }


# --- errors --------------------------------------------------------------------------------------


def test_a_revoked_token_is_401_and_not_retried(
    mastodon: Mastodon, adapter: MastodonAdapter
) -> None:
    del mastodon.tokens[USER_TOKEN]
    with pytest.raises(AdapterError, match="HTTP 401") as caught:
        adapter.execute(_command(ActionKind.LOCKDOWN))
    assert not caught.value.retryable


def test_a_token_without_the_scope_is_403_and_not_retried(
    mastodon: Mastodon, adapter: MastodonAdapter
) -> None:
    owner, _ = mastodon.tokens[USER_TOKEN]
    mastodon.tokens[USER_TOKEN] = (owner, frozenset({"read:accounts"}))
    with pytest.raises(AdapterError, match="HTTP 403") as caught:
        adapter.execute(_command(ActionKind.LOCKDOWN))
    assert not caught.value.retryable
    assert not _defender(mastodon).locked


def test_a_user_token_cannot_act_as_a_moderator(mastodon: Mastodon, base_url: str) -> None:
    adapter = _adapter(base_url, admin_token=SecretStr(USER_TOKEN))
    with pytest.raises(AdapterError, match="HTTP 403"):
        adapter.execute(_command(ActionKind.HOLD_TAKEDOWNS))


def test_the_rate_limit_is_retried_after_the_reset_mastodon_gives(
    database: TestDatabase, world: World, mastodon: Mastodon, adapter: MastodonAdapter
) -> None:
    mastodon.rate_limit_left = 0
    with clock.frozen(NOW):
        with pytest.raises(AdapterError, match="HTTP 429") as caught:
            adapter.execute(_command(ActionKind.LOCKDOWN))
        assert caught.value.retryable
        assert caught.value.retry_after == timedelta(minutes=5)
        action_id = _request(database, world.hrd, world, ActionKind.LOCKDOWN)
        assert _deliver(database, adapter).retrying == 1
    with database.session_factory() as session:
        [command] = service.commands_of(session=session, action_id=action_id)
        assert command.next_attempt_at == NOW + timedelta(minutes=5)
    mastodon.rate_limit_left = None
    with clock.frozen(NOW + timedelta(minutes=5)):
        assert _deliver(database, adapter).done == 1


def test_an_unavailable_server_is_retried(mastodon: Mastodon, adapter: MastodonAdapter) -> None:
    mastodon.unavailable = True
    with pytest.raises(AdapterError, match="HTTP 503") as caught:
        adapter.execute(_command(ActionKind.DISABLE_ACCOUNT))
    assert caught.value.retryable
    mastodon.unavailable = False
    adapter.execute(_command(ActionKind.DISABLE_ACCOUNT))
    assert _defender(mastodon).disabled


def test_a_revert_without_saved_settings_or_with_foreign_ones_is_refused(
    adapter: MastodonAdapter,
) -> None:
    revert = CommandOperation.REVERT
    with pytest.raises(AdapterError, match="settings before are unknown"):
        adapter.execute(_command(ActionKind.LOCKDOWN, operation=revert))
    with pytest.raises(AdapterError, match="does not have: is_private"):
        adapter.execute(
            _command(ActionKind.LOCKDOWN, operation=revert, settings_before={"is_private": False})
        )


# --- configuration -------------------------------------------------------------------------------


def test_settings_build_the_adapter_and_tokens_never_print() -> None:
    settings = load_settings(
        environ={
            "HRDSHIELD_PLATFORM_ADAPTER": "mastodon",
            "HRDSHIELD_MASTODON_URL": "https://social.example.test",
            "HRDSHIELD_MASTODON_ADMIN_TOKEN": ADMIN_TOKEN,
            "HRDSHIELD_MASTODON_USER_TOKENS": json.dumps({HANDLE: USER_TOKEN}),
        }
    )
    [adapter] = adapters_from_settings(settings, session_factory=None).values()  # type: ignore[arg-type]
    assert isinstance(adapter, MastodonAdapter)
    for text in (repr(settings), repr(adapter)):
        assert USER_TOKEN not in text
        assert ADMIN_TOKEN not in text


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({}, "HRDSHIELD_MASTODON_URL is required"),
        ({"HRDSHIELD_MASTODON_URL": "https://social.example.test"}, "MASTODON_ADMIN_TOKEN"),
        ({"HRDSHIELD_MASTODON_URL": "http://social.example.test"}, "must use https"),
        ({"HRDSHIELD_MASTODON_USER_TOKENS": "not json"}, "JSON object of handle to token"),
        ({"HRDSHIELD_MASTODON_USER_TOKENS": '{"@a": ""}'}, "both non-empty"),
    ],
)
def test_bad_mastodon_settings_stop_start_up(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings(environ={"HRDSHIELD_PLATFORM_ADAPTER": "mastodon", **environ})
    assert "not json" not in str(caught.value)  # a bad value is never echoed: it may be a token
