"""Roles, permissions and the one place where access is decided.

Routes declare the permission they need with ``Depends(require(Permission.X))``; nothing else in
the code base compares roles. Object-level rules (a partner sees only its own organisation's
defenders) live in the services, which receive the principal.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.Enum):
    """What a user is to HRD Shield; each role gets the least it needs."""

    HRD = "hrd"
    PARTNER = "partner"
    REVIEWER = "reviewer"
    LEAD = "lead"
    AUDITOR = "auditor"
    ADMIN = "admin"
    PLATFORM = "platform"  # a platform's systems sending events; never a person

    @property
    def is_staff(self) -> bool:
        """Return whether this role must use two-factor authentication."""
        return self not in (Role.HRD, Role.PLATFORM)


USER_ROLES = tuple(role for role in Role if role is not Role.PLATFORM)
"""The roles a person (a user account) can hold; platforms are registered, not users."""


class Permission(enum.Enum):
    """An action a route performs; roles are granted permissions, never routes."""

    PORTAL = "portal"  # an HRD's or partner's own pages
    STAFF_HOME = "staff.home"  # the staff dashboard
    DEFENDER_ENROL = "defender.enrol"  # enrol a defender (self, on behalf, or by staff)
    DEFENDER_READ = "defender.read"  # read defenders' profiles (scoped in the service)
    DEFENDER_UPDATE = "defender.update"  # change a defender's profile, risk or consent
    DEFENDER_DIRECTORY = "defender.directory"  # staff pages listing and verifying defenders
    ENROL_ON_BEHALF = "defender.enrol_on_behalf"  # a partner's pages to enrol a defender
    PLATFORM_FEED = "platform.feed"  # the (demo) platform's event feed
    CASE_CREATE = "case.create"  # open a case
    REPORT_ON_BEHALF = "case.report_on_behalf"  # a partner's portal form to report for a defender
    CASE_READ = "case.read"  # read cases (scoped in the service)
    CASE_WORK = "case.work"  # triage, assign, note, change status, merge
    ONCALL_MANAGE = "oncall.manage"  # the on-call roster the escalation ladder alerts
    ORGANISATION_MANAGE = "organisation.manage"
    USER_MANAGE = "user.manage"
    AUDIT_READ = "audit.read"
    EVENTS_INGEST = "events.ingest"  # a platform sends its events
    PLATFORM_MANAGE = "platform.manage"  # register platforms and their tokens
    ALERT_READ = "alert.read"  # read detection alerts, their evidence and campaign views
    ALERT_WORK = "alert.work"  # mark alerts true or false positive
    INDICATOR_READ = "indicator.read"  # spyware and phishing indicator feeds and their sources
    INDICATOR_IMPORT = "indicator.import"  # import a STIX bundle of indicators
    PROTECTION_SELF = "protection.self"  # a defender's panic button and own protective actions
    PROTECTION_ACT = "protection.act"  # request, approve and revert actions for a defender
    GUIDE_PROGRESS = "guide.progress"  # save one's own checklist progress in the safety guides


_ALL_STAFF = {Role.REVIEWER, Role.LEAD, Role.ADMIN}  # staff who work with defenders

GRANTS: dict[Permission, frozenset[Role]] = {
    Permission.PORTAL: frozenset({Role.HRD, Role.PARTNER}),
    Permission.STAFF_HOME: frozenset({Role.REVIEWER, Role.LEAD, Role.AUDITOR, Role.ADMIN}),
    Permission.DEFENDER_ENROL: frozenset({Role.HRD, Role.PARTNER, *_ALL_STAFF}),
    Permission.DEFENDER_READ: frozenset({Role.HRD, Role.PARTNER, *_ALL_STAFF}),
    Permission.DEFENDER_UPDATE: frozenset({Role.HRD, Role.PARTNER, *_ALL_STAFF}),
    Permission.DEFENDER_DIRECTORY: frozenset(_ALL_STAFF),
    Permission.ENROL_ON_BEHALF: frozenset({Role.PARTNER}),
    Permission.PLATFORM_FEED: frozenset(_ALL_STAFF),
    Permission.CASE_CREATE: frozenset({Role.HRD, Role.PARTNER, Role.REVIEWER, Role.LEAD}),
    Permission.REPORT_ON_BEHALF: frozenset({Role.PARTNER}),
    Permission.CASE_READ: frozenset({Role.HRD, Role.PARTNER, Role.REVIEWER, Role.LEAD}),
    Permission.CASE_WORK: frozenset({Role.REVIEWER, Role.LEAD}),
    Permission.ONCALL_MANAGE: frozenset({Role.LEAD, Role.ADMIN}),
    Permission.ORGANISATION_MANAGE: frozenset({Role.ADMIN}),
    Permission.USER_MANAGE: frozenset({Role.ADMIN}),
    Permission.AUDIT_READ: frozenset({Role.AUDITOR, Role.LEAD, Role.ADMIN}),
    Permission.EVENTS_INGEST: frozenset({Role.PLATFORM}),
    Permission.PLATFORM_MANAGE: frozenset({Role.ADMIN}),
    Permission.ALERT_READ: frozenset({Role.REVIEWER, Role.LEAD, Role.ADMIN}),
    Permission.ALERT_WORK: frozenset({Role.REVIEWER, Role.LEAD}),
    Permission.INDICATOR_READ: frozenset({Role.REVIEWER, Role.LEAD, Role.ADMIN, Role.AUDITOR}),
    Permission.INDICATOR_IMPORT: frozenset({Role.LEAD, Role.ADMIN}),
    Permission.PROTECTION_SELF: frozenset({Role.HRD}),
    Permission.PROTECTION_ACT: frozenset({Role.PARTNER, Role.REVIEWER, Role.LEAD}),
    Permission.GUIDE_PROGRESS: frozenset({Role.HRD}),
}


def allowed(role: Role, permission: Permission) -> bool:
    """Return whether `role` holds `permission`."""
    return role in GRANTS[permission]


# What a partner organisation's API token may be given: its systems report and read, nothing more.
TOKEN_SCOPES = frozenset(
    {
        Permission.CASE_CREATE,
        Permission.CASE_READ,
        Permission.DEFENDER_ENROL,
        Permission.DEFENDER_READ,
        Permission.DEFENDER_UPDATE,
    }
)


def principal_allows(principal: Principal, permission: Permission) -> bool:
    """Return whether `principal` may use `permission`: granted to its role, within its scopes."""
    if principal.role is None or not allowed(principal.role, permission):
        return False
    return principal.scopes is None or permission in principal.scopes


@dataclass(frozen=True)
class Principal:
    """Who is acting: a signed-in user, or the system/a rule when there is no person."""

    user_id: str | None
    role: Role | None
    organisation_id: str | None = None
    defender_id: str | None = None
    kind: str = "user"
    scopes: frozenset[Permission] | None = None  # an API token's narrower grant, if any
    platform: str | None = None  # the platform a platform token speaks for

    @classmethod
    def system(cls, name: str = "system") -> Principal:
        """Return the principal recorded for changes made by the service itself or a rule."""
        return cls(user_id=name, role=None, kind="system")
