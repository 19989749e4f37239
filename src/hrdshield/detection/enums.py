"""Fixed vocabularies of detection, stored by value.

The event vocabulary (`EventType`, `ReportReason`) is the platform-neutral schema's: platforms
write these values, so renaming one is a new schema version, not a refactoring.
"""

from __future__ import annotations

import enum


class EventType(enum.Enum):
    """What happened on the platform; one value per platform-neutral event type."""

    POST = "post"
    REPLY = "reply"
    MENTION = "mention"
    DIRECT_MESSAGE = "direct_message"
    REPORT = "report"
    LOGIN = "login"
    ACCOUNT_CREATED = "account_created"
    PROFILE_CHANGED = "profile_changed"
    CONTENT_REMOVED = "content_removed"
    TRAFFIC_COUNT = "traffic_count"


class ReportReason(enum.Enum):
    """Why a user reported an account or a post to the platform."""

    SPAM = "spam"
    HARASSMENT = "harassment"
    HATE = "hate"
    VIOLENCE = "violence"
    IMPERSONATION = "impersonation"
    MISINFORMATION = "misinformation"
    OTHER = "other"


class DetectorKind(enum.Enum):
    """Which detector raised an alert; one per attack the pipeline looks for."""

    TARGETED_ABUSE = "targeted_abuse"
    DOXXING = "doxxing"
    PILE_ON = "pile_on"
    SMEAR_CAMPAIGN = "smear_campaign"
    IMPERSONATION = "impersonation"
    MASS_REPORTING = "mass_reporting"
    ACCOUNT_TAKEOVER = "account_takeover"
    MALICIOUS_LINK = "malicious_link"
    SHUTDOWN = "shutdown"


class AlertSeverity(enum.Enum):
    """How urgent an alert is; the same scale as case severity, so incidents carry it over."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class AlertVerdict(enum.Enum):
    """A reviewer's judgement of an alert, kept per detector to measure it."""

    TRUE_POSITIVE = "true_positive"
    FALSE_POSITIVE = "false_positive"


class IngestChannel(enum.Enum):
    """How a batch of events arrived."""

    API = "api"
    FILE = "file"
    DEMO = "demo"
    BUS = "bus"
