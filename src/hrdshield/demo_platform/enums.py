"""Fixed vocabularies of the demo platform, stored by value."""

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


class Audience(enum.Enum):
    """Who may reply to an account or send it direct messages."""

    EVERYONE = "everyone"
    FOLLOWERS = "followers"


class ReportReason(enum.Enum):
    """Why a user reported an account or a post to the platform."""

    SPAM = "spam"
    HARASSMENT = "harassment"
    HATE = "hate"
    VIOLENCE = "violence"
    IMPERSONATION = "impersonation"
    MISINFORMATION = "misinformation"
    OTHER = "other"


class EventOutcome(enum.Enum):
    """Whether the platform carried an event out or refused it (e.g. replies limited)."""

    APPLIED = "applied"
    REJECTED = "rejected"


class AttackKind(enum.Enum):
    """A scripted attack on a demo defender, one per threat the detectors must cover."""

    PILE_ON = "pile_on"
    DOXXING = "doxxing"
    IMPERSONATION = "impersonation"
    MASS_REPORTING = "mass_reporting"
    SUSPICIOUS_LOGIN = "suspicious_login"
    PHISHING = "phishing"
    SMEAR = "smear"
    TRAFFIC_DROP = "traffic_drop"
