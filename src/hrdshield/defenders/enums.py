"""Fixed vocabularies of the defenders domain, stored by value."""

from __future__ import annotations

import enum


class DefenderGroup(enum.Enum):
    """Who the defender is, for a gender- and risk-aware view; special-category data, encrypted."""

    JOURNALIST = "journalist"
    LAWYER = "lawyer"
    TRADE_UNIONIST = "trade_unionist"
    ENVIRONMENTAL_LAND = "environmental_land"
    INDIGENOUS = "indigenous"
    WOMEN_HRD = "women_hrd"
    LGBTI = "lgbti"
    YOUTH = "youth"
    OTHER = "other"


class RiskLevel(enum.Enum):
    """How exposed the defender is judged to be; raises triage severity and detector sensitivity."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class DefenderStatus(enum.Enum):
    """Whether the defender is protected now; self-registrations wait for verification."""

    PENDING = "pending"
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class EnrolmentRoute(enum.Enum):
    """How the defender came to be enrolled."""

    SELF = "self"
    PARTNER = "partner"
    STAFF = "staff"


class ContactChannel(enum.Enum):
    """How the defender wants to be reached; `none` means never contact proactively."""

    EMAIL = "email"
    WEBHOOK = "webhook"
    IN_APP = "in_app"
    NONE = "none"


class ConsentScope(enum.Enum):
    """What the defender agreed to; each can be withdrawn on its own."""

    PROCESSING = "processing"  # enrolment and processing of their data
    PROACTIVE_NOTIFICATION = "proactive_notification"  # being told of attacks they may not see
    PARTNER_ACTIONS = "partner_actions"  # standing consent for partner protective actions
    THREAT_SHARING = "threat_sharing"  # sharing de-identified indicators with peers
    AUTO_SHIELD = "auto_shield"  # a temporary shield turns on by itself during a pile-on


class IdentifierKind(enum.Enum):
    """Kinds of protected identifier matched by the doxxing and impersonation detectors."""

    PHONE = "phone"
    EMAIL = "email"
    ADDRESS = "address"
    NATIONAL_ID = "national_id"
    HANDLE = "handle"
