"""The Mastodon adapter: protective actions through Mastodon's documented REST API.

Two kinds of token, both from settings and never logged. The defender's own settings (private
account, hidden lists, not discoverable, notification filtering) change only with a token the
defender granted (`write:accounts`, `read:accounts`, `read:notifications`,
`write:notifications`), one per account; the adapter checks that the token belongs to the
account it is asked to change. Moderation-side measures (deactivation, reports routed to a
human) need a moderator's token (`admin:read:accounts`, `admin:write:accounts`,
`admin:read:reports`, `admin:write:reports`).

What Mastodon cannot do is said, never pretended: parts of an action with no equivalent are
listed in the result's `not_done` (the defender sees them with the action), and a step with no
equivalent at all (signing a user's sessions out, resetting a password) fails visibly. A revert
puts back the values read before the action; a redelivered command reuses the values read on its
first attempt, so a retry after a lost answer does not mistake the new values for the old.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import SecretStr

from hrdshield import outbound
from hrdshield.protection.adapters.base import AdapterCommand, AdapterError, AdapterResult
from hrdshield.protection.adapters.http import Answer, request
from hrdshield.protection.enums import ActionKind, CommandOperation

# The defender's settings this adapter changes, by the names of Mastodon's form parameters.
CREDENTIALS = ("locked", "hide_collections", "discoverable", "indexable", "source[privacy]")
POLICY = ("for_not_followers", "for_new_accounts", "for_private_mentions")
ADMIN = ("disabled", "open_reports", "report_assignments")

LOCKDOWN: dict[str, Any] = {"locked": True, "hide_collections": True, "source[privacy]": "private"}
ENHANCED_PRIVACY: dict[str, Any] = {"discoverable": False, "indexable": False}
SHIELD: dict[str, Any] = {
    "for_not_followers": "filter",
    "for_new_accounts": "filter",
    "for_private_mentions": "filter",
}
NOT_DONE: dict[ActionKind, tuple[str, ...]] = {
    # no API limits who may reply or write; the shield filters their notifications instead
    ActionKind.LOCKDOWN: (
        "limit_replies",
        "limit_direct_messages",
        "mute_young_accounts",
        "sign_out_sessions",
        "require_two_factor",
    ),
    ActionKind.ENHANCED_PRIVACY: ("hide_location", "hide_contact"),  # no such settings
    ActionKind.SHIELD: ("hide_replies",),  # notifications are filtered; threads still show them
    ActionKind.HOLD_TAKEDOWNS: ("hold_later_reports",),  # reports filed later are not assigned
    ActionKind.DISABLE_ACCOUNT: ("deactivate_without_strike",),  # Mastodon records a warning
}
REPORT_PAGES = 50  # of 100 reports each
TOO_MANY = "reports_beyond_5000"  # neither held nor, after a deactivation, reopened on revert
MAX_ANSWER_BYTES = 8 * 1024 * 1024  # a page of reports embeds accounts and statuses
REMEMBERED = 1000  # commands whose first reading of the settings is kept for their retries


class MastodonAdapter:
    """Carry protective actions out on one Mastodon server."""

    name = "mastodon"

    def __init__(
        self,
        *,
        url: str,
        admin_token: SecretStr | None,
        user_tokens: Mapping[str, SecretStr],
        local_domain: str | None = None,
        timeout_seconds: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        outbound.check_webhook_url(url, what="the Mastodon address")
        self.url = url.rstrip("/")
        # the domain in the server's own handles (Mastodon's LOCAL_DOMAIN), often the API's host
        self.host = (local_domain or httpx.URL(self.url).host).lower()
        self.timeout_seconds = timeout_seconds
        self._admin = admin_token
        self._users = {
            normal_acct(handle, self.host): token for handle, token in user_tokens.items()
        }
        self._transport = transport
        self._before: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MastodonAdapter(host={self.host!r}, accounts={len(self._users)})"

    def execute(self, command: AdapterCommand) -> AdapterResult:
        """Carry the command out through the Mastodon API."""
        operation = command.operation
        if operation is CommandOperation.SIGN_OUT_SESSIONS:
            raise AdapterError(
                "not possible on Mastodon: no API signs a user's sessions out; the defender "
                "or an administrator must do it in Mastodon's web interface",
                retryable=False,
            )
        if operation is CommandOperation.RESET_CREDENTIALS:
            raise AdapterError(
                "not possible on Mastodon: no API resets a user's password or second factor; "
                "an administrator must do it in Mastodon's web interface",
                retryable=False,
            )
        kind = (
            ActionKind.LOCKDOWN if operation is CommandOperation.RESTORE_LOCKDOWN else command.kind
        )
        if operation is CommandOperation.APPLY and kind is ActionKind.ACCOUNT_RECOVERY:
            raise AdapterError("account recovery runs as separate steps", retryable=False)
        with outbound.client(
            timeout_seconds=self.timeout_seconds, transport=self._transport
        ) as client:
            api = _Api(client, self.url)
            if operation is CommandOperation.REVERT:
                return self._revert(api, command)
            return self._apply(api, command, kind)

    # --- apply -----------------------------------------------------------------------------

    def _apply(self, api: _Api, command: AdapterCommand, kind: ActionKind) -> AdapterResult:
        acct = normal_acct(command.account_handle, self.host)
        if kind in (ActionKind.LOCKDOWN, ActionKind.ENHANCED_PRIVACY):
            wanted = LOCKDOWN if kind is ActionKind.LOCKDOWN else ENHANCED_PRIVACY
            token = self._user_token(acct)
            me = _check_owner(api, token, acct)
            before = self._first_reading(command, _credentials(me))
            after = _credentials(
                api.call("PATCH", "/api/v1/accounts/update_credentials", token, data=_form(wanted))
            )
        elif kind is ActionKind.SHIELD:
            token = self._user_token(acct)
            _check_owner(api, token, acct)
            before = self._first_reading(command, _policy(api, token))
            after = _policy(api, token, change=SHIELD)
            wanted = SHIELD
        elif kind is ActionKind.HOLD_TAKEDOWNS:
            return self._hold(api, command, acct)
        else:
            return self._disable(api, command, acct)
        before = {key: before.get(key) for key in wanted}
        unapplied = tuple(f"set_{key}" for key, value in wanted.items() if after.get(key) != value)
        return AdapterResult(
            settings_before=before,
            settings_after={key: after.get(key) for key in wanted},
            not_done=NOT_DONE[kind] + unapplied,
        )

    def _hold(self, api: _Api, command: AdapterCommand, acct: str) -> AdapterResult:
        """Assign the open reports against the account to the moderator; resolve none."""
        token = self._admin_token()
        account_id = _lookup(api, token, acct)
        reports, complete = _open_reports(api, token, account_id)
        unassigned = [report["id"] for report in reports if not report.get("assigned_account")]
        before = self._first_reading(command, {"report_assignments": dict.fromkeys(unassigned)})
        assigned: dict[str, Any] = {}
        for report_id in before["report_assignments"]:
            report = api.call(
                "POST", f"/api/v1/admin/reports/{_id(report_id)}/assign_to_self", token
            )
            assigned[report_id] = (report.get("assigned_account") or {}).get("id")
        return AdapterResult(
            settings_before=before,
            settings_after={"report_assignments": assigned},
            not_done=NOT_DONE[ActionKind.HOLD_TAKEDOWNS] + (() if complete else (TOO_MANY,)),
        )

    def _disable(self, api: _Api, command: AdapterCommand, acct: str) -> AdapterResult:
        """Disable the account's login; remember the open reports Mastodon will resolve."""
        token = self._admin_token()
        account_id = _lookup(api, token, acct)
        path = f"/api/v1/admin/accounts/{_id(account_id)}"
        disabled = bool(api.call("GET", path, token).get("disabled"))
        reports, complete = ([], True) if disabled else _open_reports(api, token, account_id)
        before = self._first_reading(
            command, {"disabled": disabled, "open_reports": [report["id"] for report in reports]}
        )
        if not disabled:
            # Mastodon resolves every open report against the account with this action, and
            # records a moderation warning; no e-mail goes out, the defender hears from us.
            api.call(
                "POST",
                f"{path}/action",
                token,
                data={
                    "type": "disable",
                    "send_email_notification": "false",
                    "text": "Temporary protective deactivation (HRD Shield)",
                },
            )
        after = {"disabled": bool(api.call("GET", path, token).get("disabled")), "open_reports": []}
        return AdapterResult(
            settings_before=before,
            settings_after=after,
            not_done=NOT_DONE[ActionKind.DISABLE_ACCOUNT] + (() if complete else (TOO_MANY,)),
        )

    # --- revert ----------------------------------------------------------------------------

    def _revert(self, api: _Api, command: AdapterCommand) -> AdapterResult:
        saved = command.settings_before
        if saved is None:
            raise AdapterError(
                "nothing to restore: the settings before are unknown", retryable=False
            )
        unknown = sorted(set(saved) - set(CREDENTIALS + POLICY + ADMIN))
        if unknown:
            raise AdapterError(
                f"cannot restore settings Mastodon does not have: {', '.join(unknown)}",
                retryable=False,
            )
        acct = normal_acct(command.account_handle, self.host)
        restored: dict[str, Any] = {}
        credentials = {key: saved[key] for key in CREDENTIALS if key in saved}
        policy = {key: saved[key] for key in POLICY if key in saved}
        if credentials or policy:
            token = self._user_token(acct)
            _check_owner(api, token, acct)
            if credentials:
                answer = api.call(
                    "PATCH", "/api/v1/accounts/update_credentials", token, data=_form(credentials)
                )
                restored.update({key: _credentials(answer).get(key) for key in credentials})
            if policy:
                restored.update(_policy(api, token, change=policy))
        if any(key in saved for key in ADMIN):
            restored.update(self._revert_moderation(api, acct, saved))
        return AdapterResult(settings_after=restored)

    def _revert_moderation(self, api: _Api, acct: str, saved: dict[str, Any]) -> dict[str, Any]:
        token = self._admin_token()
        restored: dict[str, Any] = {}
        if saved.get("disabled") is False:
            account_id = _lookup(api, token, acct)
            api.call("POST", f"/api/v1/admin/accounts/{_id(account_id)}/enable", token)
            restored["disabled"] = False
        for report_id in saved.get("open_reports") or []:
            api.call(
                "POST", f"/api/v1/admin/reports/{_id(report_id)}/reopen", token, missing_ok=True
            )
        restored["open_reports"] = list(saved.get("open_reports") or [])
        assignments = saved.get("report_assignments") or {}
        if assignments:
            me = str(api.call("GET", "/api/v1/accounts/verify_credentials", token)["id"])
            for report_id, previous in assignments.items():
                if previous is None:
                    _unassign_if_ours(api, token, str(report_id), me)
            restored["report_assignments"] = assignments
        return restored

    # --- tokens and memory -----------------------------------------------------------------

    def _user_token(self, acct: str) -> str:
        token = self._users.get(acct)
        if token is None:
            raise AdapterError(
                "no Mastodon token granted for this account: its own settings change only with "
                "a token its owner granted (HRDSHIELD_MASTODON_USER_TOKENS)",
                retryable=False,
            )
        return token.get_secret_value()

    def _admin_token(self) -> str:
        if self._admin is None:
            raise AdapterError(
                "no Mastodon moderator token configured (HRDSHIELD_MASTODON_ADMIN_TOKEN)",
                retryable=False,
            )
        return self._admin.get_secret_value()

    def _first_reading(self, command: AdapterCommand, current: dict[str, Any]) -> dict[str, Any]:
        """Return the settings read on the command's first attempt (this one, if it is)."""
        with self._lock:
            first = self._before.setdefault(command.idempotency_key, current)
            self._before.move_to_end(command.idempotency_key)
            while len(self._before) > REMEMBERED:
                self._before.popitem(last=False)
            return first


def normal_acct(handle: str, host: str) -> str:
    """Return a handle as Mastodon's `acct`: no leading @, lower case, no own-server domain."""
    acct = handle.strip().lstrip("@").lower()
    return acct.removesuffix(f"@{host}")


class _Api:
    """Calls to one Mastodon server; statuses become AdapterErrors with short reasons."""

    def __init__(self, client: httpx.Client, base: str) -> None:
        self.client, self.base = client, base

    def call(
        self,
        method: str,
        path: str,
        token: str,
        *,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        missing: str = "Mastodon has no such record (HTTP 404)",
        missing_ok: bool = False,
    ) -> dict[str, Any]:
        """Call the API; return the decoded JSON object of a 2xx answer."""
        answer = self._request(method, path, token, params=params, data=data)
        if 200 <= answer.status < 300:
            decoded = answer.json() if answer.body else {}
            if not isinstance(decoded, dict):
                raise AdapterError(
                    "Mastodon answered something other than a JSON object", retryable=True
                )
            return decoded
        if answer.status == 404 and missing_ok:
            return {}
        raise _failure(answer, missing)

    def _request(self, method: str, path: str, token: str, **kwargs: Any) -> Answer:
        answer = request(
            self.client,
            method,
            self.base + path,
            max_bytes=MAX_ANSWER_BYTES,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            **kwargs,
        )
        if answer.truncated:  # never read a cut list as a short one
            raise AdapterError(
                "Mastodon's answer is larger than this adapter reads", retryable=False
            )
        return answer

    def pages(
        self, path: str, token: str, params: dict[str, str]
    ) -> tuple[list[dict[str, Any]], bool]:
        """Return a paginated list's items (max_id paging) and whether that was all of them."""
        items: list[dict[str, Any]] = []
        query = dict(params)
        for _ in range(REPORT_PAGES):
            answer = self._request("GET", path, token, params=query)
            if not 200 <= answer.status < 300:
                raise _failure(answer, "Mastodon has no such list (HTTP 404)")
            page = answer.json()
            if not isinstance(page, list) or not page:
                return items, True
            items.extend(item for item in page if isinstance(item, dict))
            if 'rel="next"' not in answer.headers.get("link", ""):
                return items, True
            query["max_id"] = str(page[-1].get("id"))
        return items, False


def _failure(answer: Answer, missing: str) -> AdapterError:
    status = answer.status
    if status == 401:
        return AdapterError(
            "Mastodon refused the token (HTTP 401): invalid or revoked", retryable=False
        )
    if status == 403:
        return AdapterError(
            "Mastodon does not allow this token to do that (HTTP 403): check its scopes and role, "
            "or whether the account is disabled",
            retryable=False,
        )
    if status == 404:
        return AdapterError(missing, retryable=False)
    if status == 422:
        return AdapterError("Mastodon refused the request as invalid (HTTP 422)", retryable=False)
    if status == 429:
        return AdapterError(
            "Mastodon rate limit reached (HTTP 429)",
            retryable=True,
            retry_after=answer.wait_asked(),
        )
    if outbound.status_retryable(status):
        return AdapterError(
            f"Mastodon HTTP {status}", retryable=True, retry_after=answer.wait_asked()
        )
    return AdapterError(f"Mastodon HTTP {status}", retryable=False)


def _id(value: Any) -> str:
    """Return a Mastodon id fit for a path (digits and letters only), or refuse it."""
    text = str(value)
    if not text.isalnum():
        raise AdapterError("Mastodon returned an id this adapter cannot use", retryable=False)
    return text


def _lookup(api: _Api, token: str, acct: str) -> str:
    account = api.call(
        "GET",
        "/api/v1/accounts/lookup",
        token,
        params={"acct": acct},
        missing="Mastodon has no account with this handle (HTTP 404)",
    )
    return _id(account.get("id"))


def _check_owner(api: _Api, token: str, acct: str) -> dict[str, Any]:
    """Return the token's own account, refusing a token that belongs to another account."""
    me = api.call("GET", "/api/v1/accounts/verify_credentials", token)
    if str(me.get("id")) != _lookup(api, token, acct):
        raise AdapterError(
            "the token granted for this account belongs to another account", retryable=False
        )
    return me


def _credentials(account: dict[str, Any]) -> dict[str, Any]:
    """Read the settings this adapter changes from a CredentialAccount."""
    source = account.get("source") or {}
    return {
        "locked": account.get("locked"),
        "hide_collections": source.get("hide_collections", account.get("hide_collections")),
        "discoverable": source.get("discoverable", account.get("discoverable")),
        "indexable": source.get("indexable", account.get("indexable")),
        "source[privacy]": source.get("privacy"),
    }


def _policy(api: _Api, token: str, *, change: dict[str, Any] | None = None) -> dict[str, Any]:
    """Read (or change, then read) the notification policy (Mastodon 4.3 and later)."""
    missing = "this Mastodon server has no notification policy (it needs Mastodon 4.3 or later)"
    path = "/api/v2/notifications/policy"
    if change is None:
        policy = api.call("GET", path, token, missing=missing)
    else:
        policy = api.call("PATCH", path, token, data=_form(change), missing=missing)
    return {key: policy.get(key) for key in POLICY}


def _form(values: Mapping[str, Any]) -> dict[str, str]:
    """Return form fields, booleans as true/false; a value the server never had is left out."""
    form = {}
    for key, value in values.items():
        if isinstance(value, bool):
            form[key] = "true" if value else "false"
        elif value is not None:
            form[key] = str(value)
    return form


def _open_reports(api: _Api, token: str, account_id: str) -> tuple[list[dict[str, Any]], bool]:
    """Return the unresolved reports against an account (Mastodon lists unresolved by default).

    The second value is False when there were more than the adapter reads (REPORT_PAGES).
    """
    reports, complete = api.pages(
        "/api/v1/admin/reports", token, {"target_account_id": account_id, "limit": "100"}
    )
    return [r for r in reports if not r.get("action_taken") and "id" in r], complete


def _unassign_if_ours(api: _Api, token: str, report_id: str, me: str) -> None:
    """Give a report back to the queue, unless it was resolved or someone else took it."""
    report = api.call("GET", f"/api/v1/admin/reports/{_id(report_id)}", token, missing_ok=True)
    assignee = (report.get("assigned_account") or {}).get("id")
    if report and not report.get("action_taken") and str(assignee) == me:
        api.call("POST", f"/api/v1/admin/reports/{_id(report_id)}/unassign", token)
