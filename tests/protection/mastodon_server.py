"""A local contract server for the part of Mastodon's REST API the adapter uses.

It implements the documented endpoints (docs.joinmastodon.org: accounts, notifications policy v2,
admin accounts, admin reports) over a small in-memory state, and checks what a client sends the
way Mastodon does or stricter: the method and path, a bearer token with the right scope (admin
endpoints need a moderator), form-encoded parameters with documented names and values (an
unknown parameter is refused, so a misspelt one cannot pass unnoticed). Where the documentation
describes a side effect, it happens here too: disabling an account resolves every open report
against it and records a warning (a "strike"); the report list shows unresolved reports unless
asked, 200 at most a page, newest first, with a Link header to the next page.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hrdshield import clock

LOCAL_DOMAIN = "social.example.test"
USER_SCOPES = frozenset(
    {"read:accounts", "write:accounts", "read:notifications", "write:notifications"}
)
ADMIN_SCOPES = frozenset(
    {
        "read:accounts",
        "admin:read:accounts",
        "admin:write:accounts",
        "admin:read:reports",
        "admin:write:reports",
    }
)
POLICY_VALUES = {"accept", "filter", "drop"}
POLICY_KEYS = (
    "for_not_following",
    "for_not_followers",
    "for_new_accounts",
    "for_private_mentions",
    "for_limited_accounts",
)


@dataclass
class Account:
    """One account on the server."""

    id: str
    username: str
    domain: str | None = None  # None: local
    locked: bool = False
    hide_collections: bool = False
    discoverable: bool | None = True
    indexable: bool = True
    privacy: str = "public"
    disabled: bool = False
    policy: dict[str, str] = field(
        default_factory=lambda: (
            dict.fromkeys(POLICY_KEYS, "accept") | {"for_limited_accounts": "filter"}
        )
    )

    @property
    def acct(self) -> str:
        """Return the account's `acct`: username, with the domain for a remote account."""
        return self.username if self.domain is None else f"{self.username}@{self.domain}"

    def entity(self) -> dict[str, Any]:
        """Return the Account entity."""
        return {
            "id": self.id,
            "username": self.username,
            "acct": self.acct,
            "display_name": "",
            "locked": self.locked,
            "bot": False,
            "discoverable": self.discoverable,
            "indexable": self.indexable,
            "hide_collections": self.hide_collections,
            "group": False,
            "created_at": "2026-01-01T00:00:00.000Z",
            "note": "",
            "fields": [],
            "emojis": [],
        }

    def credential_entity(self) -> dict[str, Any]:
        """Return the CredentialAccount entity (with `source`)."""
        return self.entity() | {
            "source": {
                "privacy": self.privacy,
                "sensitive": False,
                "language": "",
                "note": "",
                "fields": [],
                "follow_requests_count": 0,
                "hide_collections": self.hide_collections,
                "discoverable": self.discoverable,
                "indexable": self.indexable,
            }
        }

    def admin_entity(self) -> dict[str, Any]:
        """Return the Admin::Account entity."""
        return {
            "id": self.id,
            "username": self.username,
            "domain": self.domain,
            "created_at": "2026-01-01T00:00:00.000Z",
            "email": f"{self.username}@mail.example.test",
            "ip": None,
            "ips": [],
            "locale": "en",
            "invite_request": None,
            "role": {"id": "-99", "name": "", "permissions": "0"},
            "confirmed": True,
            "approved": True,
            "disabled": self.disabled,
            "silenced": False,
            "suspended": False,
            "account": self.entity(),
        }


@dataclass
class Report:
    """One report against an account."""

    id: str
    target_account_id: str
    action_taken: bool = False
    assigned_account_id: str | None = None


@dataclass
class Mastodon:
    """The server's state, and what it saw."""

    accounts: dict[str, Account] = field(default_factory=dict)
    tokens: dict[str, tuple[str, frozenset[str]]] = field(default_factory=dict)  # -> owner, scopes
    moderators: set[str] = field(default_factory=set)
    reports: dict[str, Report] = field(default_factory=dict)
    strikes: list[dict[str, str]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    refused: list[tuple[str, int, str]] = field(default_factory=list)  # (path, status, why)
    policy_api: bool = True  # False: a server older than 4.3
    rate_limit_left: int | None = None  # requests before 429
    unavailable: bool = False  # answer 503, as during maintenance
    hang_once: str | None = None  # a path: apply, then answer too late, once
    hang_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_account(self, username: str, **values: Any) -> Account:
        """Create an account with the next id."""
        account = Account(id=str(100 + len(self.accounts)), username=username, **values)
        self.accounts[account.id] = account
        return account

    def add_report(self, target: Account, **values: Any) -> Report:
        """File a report against `target` with the next id."""
        report = Report(id=str(1000 + len(self.reports)), target_account_id=target.id, **values)
        self.reports[report.id] = report
        return report

    def report_entity(self, report: Report) -> dict[str, Any]:
        """Return the Admin::Report entity."""
        assigned = self.accounts.get(report.assigned_account_id or "")
        return {
            "id": report.id,
            "action_taken": report.action_taken,
            "action_taken_at": "2026-12-01T12:00:00.000Z" if report.action_taken else None,
            "category": "other",
            "comment": "",
            "forwarded": False,
            "created_at": "2026-12-01T11:00:00.000Z",
            "updated_at": "2026-12-01T11:00:00.000Z",
            "account": None,
            "target_account": self.accounts[report.target_account_id].admin_entity(),
            "assigned_account": assigned.admin_entity() if assigned else None,
            "action_taken_by_account": None,
            "statuses": [],
            "rules": [],
        }


class Refusal(Exception):
    """An error answer: status and Mastodon's error body."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status, self.error = status, error


ROUTES: list[tuple[str, re.Pattern[str], str, str | None]] = []  # method, path, handler, scope


def route(method: str, pattern: str, scope: str | None) -> Any:
    """Register a handler method for `method` and a path pattern, needing `scope`."""

    def register(function: Any) -> Any:
        ROUTES.append((method, re.compile(f"^{pattern}$"), function.__name__, scope))
        return function

    return register


class MastodonHandler(BaseHTTPRequestHandler):
    """Serve the documented endpoints over the `Mastodon` state at `self.server.state`."""

    state: Mastodon
    owner: Account
    form: dict[str, str]
    query: dict[str, str]

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Keep test output quiet."""

    def _dispatch(self, method: str) -> None:
        self.state = self.server.state  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers: dict[str, str] = {}
        hang = False
        with self.state.lock:
            self.state.requests.append((method, parts.path))
            try:
                status, answer, headers = self._handle(method, parts.path, parts.query, body)
            except Refusal as refusal:
                self.state.refused.append((parts.path, refusal.status, refusal.error))
                status, answer = refusal.status, {"error": refusal.error}
                if refusal.status == 429:
                    reset = clock.now() + timedelta(minutes=5)
                    headers = {"X-RateLimit-Reset": reset.isoformat().replace("+00:00", "Z")}
            if self.state.hang_once == parts.path and status < 300:
                self.state.hang_once, hang = None, True
        if hang:
            time.sleep(self.state.hang_seconds)
        self._answer(status, answer, headers)

    def _handle(
        self, method: str, path: str, query: str, body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        if self.state.unavailable:
            raise Refusal(503, "Service unavailable")
        if self.state.rate_limit_left is not None:
            if self.state.rate_limit_left <= 0:
                raise Refusal(429, "Too many requests")
            self.state.rate_limit_left -= 1
        for route_method, pattern, name, scope in ROUTES:
            match = pattern.match(path)
            if match and route_method == method:
                self._authorise(scope)
                self.query = {key: values[-1] for key, values in parse_qs(query).items()}
                self.form = self._form(method, body)
                result = getattr(self, name)(*match.groups())
                return (200, result, {}) if not isinstance(result, tuple) else result
        raise Refusal(404, "Record not found")  # Mastodon's answer to an unknown route

    def _authorise(self, scope: str | None) -> None:
        header = self.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        if token not in self.state.tokens:
            raise Refusal(401, "The access token is invalid")
        owner_id, scopes = self.state.tokens[token]
        self.owner = self.state.accounts[owner_id]
        if scope is not None and scope not in scopes:
            raise Refusal(403, "This action is outside the authorized scopes")
        if scope and scope.startswith("admin:") and owner_id not in self.state.moderators:
            raise Refusal(403, "This action is not allowed")
        if self.owner.disabled and not (scope or "").startswith("admin:"):
            raise Refusal(403, "Your login is currently disabled")

    def _form(self, method: str, body: bytes) -> dict[str, str]:
        if method == "GET":
            return {}
        if body and self.headers.get("Content-Type") != "application/x-www-form-urlencoded":
            raise Refusal(422, "Parameters must be form data")
        pairs = parse_qs(body.decode(), keep_blank_values=True, strict_parsing=bool(body))
        return {key: values[-1] for key, values in pairs.items()}

    def _answer(self, status: int, answer: Any, headers: dict[str, str]) -> None:
        body = json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped waiting (the hanging case)

    def _params(self, allowed: set[str]) -> dict[str, str]:
        unknown = set(self.form) - allowed
        if unknown:
            raise Refusal(422, f"Unknown parameters: {', '.join(sorted(unknown))}")
        return self.form

    @staticmethod
    def _boolean(value: str) -> bool:
        if value not in {"true", "false"}:
            raise Refusal(422, "Validation failed: not a boolean")
        return value == "true"

    def _account(self, account_id: str) -> Account:
        account = self.state.accounts.get(account_id)
        if account is None:
            raise Refusal(404, "Record not found")
        return account

    def _report(self, report_id: str) -> Report:
        report = self.state.reports.get(report_id)
        if report is None:
            raise Refusal(404, "Record not found")
        return report

    # --- accounts ------------------------------------------------------------------------------

    @route("GET", "/api/v1/accounts/verify_credentials", "read:accounts")
    def verify_credentials(self) -> Any:
        return self.owner.credential_entity()

    @route("PATCH", "/api/v1/accounts/update_credentials", "write:accounts")
    def update_credentials(self) -> Any:
        form = self._params(
            {"locked", "hide_collections", "discoverable", "indexable", "source[privacy]"}
        )
        account = self.owner
        for name in ("locked", "hide_collections", "discoverable", "indexable"):
            if name in form:
                setattr(account, name, self._boolean(form[name]))
        if "source[privacy]" in form:
            if form["source[privacy]"] not in {"public", "unlisted", "private"}:
                raise Refusal(422, "Validation failed: privacy is not included in the list")
            account.privacy = form["source[privacy]"]
        return account.credential_entity()

    @route("GET", "/api/v1/accounts/lookup", None)
    def lookup(self) -> Any:
        acct = self.query.get("acct", "").removesuffix(f"@{LOCAL_DOMAIN}").lower()
        for account in self.state.accounts.values():
            if account.acct.lower() == acct:
                return account.entity()
        raise Refusal(404, "Record not found")

    # --- notifications policy (4.3) -----------------------------------------------------------

    @route("GET", "/api/v2/notifications/policy", "read:notifications")
    def get_policy(self) -> Any:
        return self._policy()

    @route("PATCH", "/api/v2/notifications/policy", "write:notifications")
    def update_policy(self) -> Any:
        form = self._params(set(POLICY_KEYS))
        if any(value not in POLICY_VALUES for value in form.values()):
            raise Refusal(422, "Validation failed: not one of accept, filter, drop")
        self._policy()
        self.owner.policy.update(form)
        return self._policy()

    def _policy(self) -> Any:
        if not self.state.policy_api:
            raise Refusal(404, "Record not found")
        summary = {"pending_requests_count": 0, "pending_notifications_count": 0}
        return self.owner.policy | {"summary": summary}

    # --- admin accounts -----------------------------------------------------------------------

    @route("GET", r"/api/v1/admin/accounts/(\w+)", "admin:read:accounts")
    def admin_account(self, account_id: str) -> Any:
        return self._account(account_id).admin_entity()

    @route("POST", r"/api/v1/admin/accounts/(\w+)/action", "admin:write:accounts")
    def account_action(self, account_id: str) -> Any:
        account = self._account(account_id)
        form = self._params(
            {"type", "report_id", "warning_preset_id", "text", "send_email_notification"}
        )
        kind = form.get("type")
        if kind not in {"none", "sensitive", "disable", "silence", "suspend"}:
            raise Refusal(422, "Record invalid")
        if kind == "disable":
            if account.domain is not None:  # only a local account has a login to disable
                raise Refusal(422, "Validation failed: type is not allowed for this account")
            account.disabled = True
        if "send_email_notification" in form:
            self._boolean(form["send_email_notification"])
        self.state.strikes.append(
            {"account_id": account.id, "action": kind, "text": form.get("text", "")}
            | {"email": form.get("send_email_notification", "")}
        )
        if kind != "none":  # "Also resolves any open reports against this account."
            for report in self.state.reports.values():
                if report.target_account_id == account.id:
                    report.action_taken = True
        return {}

    @route("POST", r"/api/v1/admin/accounts/(\w+)/enable", "admin:write:accounts")
    def enable(self, account_id: str) -> Any:
        account = self._account(account_id)
        account.disabled = False
        return account.admin_entity()

    # --- admin reports ------------------------------------------------------------------------

    @route("GET", "/api/v1/admin/reports", "admin:read:reports")
    def reports(self) -> Any:
        unknown = set(self.query) - {
            "resolved", "account_id", "target_account_id", "max_id", "since_id", "min_id", "limit"
        }  # fmt: skip
        if unknown:
            raise Refusal(422, "Unknown filter")
        resolved = self.query.get("resolved") == "true"
        limit = min(int(self.query.get("limit", "100")), 200)
        chosen = sorted(
            (
                report
                for report in self.state.reports.values()
                if report.action_taken == resolved
                and self.query.get("target_account_id") in (None, report.target_account_id)
                and int(report.id) < int(self.query.get("max_id", "999999999"))
            ),
            key=lambda report: -int(report.id),
        )
        page = chosen[:limit]
        headers = {}
        if len(chosen) > limit:
            target = self.query.get("target_account_id", "")
            headers["Link"] = (
                f"<http://{LOCAL_DOMAIN}/api/v1/admin/reports?target_account_id={target}"
                f'&limit={limit}&max_id={page[-1].id}>; rel="next"'
            )
        return 200, [self.state.report_entity(report) for report in page], headers

    @route("GET", r"/api/v1/admin/reports/(\w+)", "admin:read:reports")
    def report(self, report_id: str) -> Any:
        return self.state.report_entity(self._report(report_id))

    @route("POST", r"/api/v1/admin/reports/(\w+)/assign_to_self", "admin:write:reports")
    def assign_to_self(self, report_id: str) -> Any:
        report = self._report(report_id)
        report.assigned_account_id = self.owner.id
        return self.state.report_entity(report)

    @route("POST", r"/api/v1/admin/reports/(\w+)/unassign", "admin:write:reports")
    def unassign(self, report_id: str) -> Any:
        report = self._report(report_id)
        report.assigned_account_id = None
        return self.state.report_entity(report)

    @route("POST", r"/api/v1/admin/reports/(\w+)/reopen", "admin:write:reports")
    def reopen(self, report_id: str) -> Any:
        report = self._report(report_id)
        report.action_taken = False
        return self.state.report_entity(report)
