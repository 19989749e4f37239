"""Fixed vocabularies of the demo platform, stored by value (event types are the schema's)."""

from __future__ import annotations

import enum

from hrdshield.detection.enums import EventType, ReportReason

__all__ = ["AttackKind", "Audience", "EventOutcome", "EventType", "ReportReason"]


class Audience(enum.Enum):
    """Who may reply to an account or send it direct messages."""

    EVERYONE = "everyone"
    FOLLOWERS = "followers"


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
