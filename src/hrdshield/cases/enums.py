"""Fixed vocabularies of the cases domain, stored by value."""

from __future__ import annotations

import enum


class CaseCategory(enum.Enum):
    """What happened, in the reporter's words."""

    THREAT_OF_VIOLENCE = "threat_of_violence"
    HARASSMENT = "harassment"
    SMEAR_DISINFORMATION = "smear_disinformation"
    DOXXING = "doxxing"
    IMPERSONATION = "impersonation"
    ACCOUNT_COMPROMISE = "account_compromise"
    TAKEDOWN = "takedown"
    PHISHING_SPYWARE = "phishing_spyware"
    OTHER = "other"


class Severity(enum.Enum):
    """How urgent a case is; drives the SLA."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class CaseStatus(enum.Enum):
    """Where a case is in its lifecycle."""

    NEW = "new"
    TRIAGED = "triaged"
    IN_PROGRESS = "in_progress"
    MITIGATED = "mitigated"
    CLOSED = "closed"
    DUPLICATE = "duplicate"


class CaseSource(enum.Enum):
    """Which channel opened the case."""

    HRD = "hrd"
    PARTNER = "partner"
    STAFF = "staff"
    DETECTION = "detection"
    ANONYMOUS = "anonymous"


class CaseEventKind(enum.Enum):
    """What happened on a case's timeline."""

    CREATED = "created"
    TRIAGED = "triaged"
    STATUS_CHANGED = "status_changed"
    SEVERITY_CHANGED = "severity_changed"
    ASSIGNED = "assigned"
    ESCALATED = "escalated"
    SLA_BREACHED = "sla_breached"
    NOTE = "note"
    LINKED = "linked"
    MERGED = "merged"
    ALERT = "alert"  # detection added an alert to the case's incident
    PROTECTION = "protection"  # a protective action on the defender's account changed state


class ReporterRelation(enum.Enum):
    """Who sent a report: the defender attacked, or somebody reporting for them."""

    SELF = "self"
    ON_BEHALF = "on_behalf"


class ReporterContact(enum.Enum):
    """How the sender of a report agreed to hear back."""

    NONE = "none"
    EMAIL = "email"
    STATUS_PAGE = "status_page"


class MessageDirection(enum.Enum):
    """Which way a message between the response team and a reporter went."""

    TO_REPORTER = "to_reporter"
    FROM_REPORTER = "from_reporter"


class OnCallDuty(enum.Enum):
    """Who the escalation ladder alerts: the on-call lead first, then the head of response."""

    LEAD = "lead"
    HEAD_OF_RESPONSE = "head_of_response"
