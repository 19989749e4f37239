"""Fixed vocabularies of the notify domain, stored by value."""

from __future__ import annotations

import enum

from hrdshield.defenders.enums import ContactChannel


class NotificationChannel(enum.Enum):
    """How a notification travels; the values are those of the defenders' `ContactChannel`."""

    EMAIL = ContactChannel.EMAIL.value
    WEBHOOK = ContactChannel.WEBHOOK.value
    IN_APP = ContactChannel.IN_APP.value

    @classmethod
    def for_contact(cls, contact: ContactChannel) -> NotificationChannel | None:
        """Return the channel for a defender's contact preference; None when they chose none."""
        if contact is ContactChannel.NONE:
            return None
        return cls(contact.value)


class NotificationStatus(enum.Enum):
    """Where a notification is in delivery: waiting (or retrying), delivered, or given up."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class TemplateKey(enum.Enum):
    """Which message a notification carries; texts live in `notify.templates`."""

    RECEIPT = "receipt"  # the report was received; here is its reference
    TRIAGED = "triaged"  # the report was reviewed and is being handled
    QUESTION = "question"  # the reviewer needs more information
    OUTCOME = "outcome"  # a decision was taken; how to appeal
    PROACTIVE_ALERT = "proactive_alert"  # detection found an attack the defender may not see
    RETENTION_WARNING = "retention_warning"  # the report's data will be deleted on a date
    ESCALATION_LEAD = "escalation_lead"  # to the on-call lead: a case missed its response target
    ESCALATION_HEAD = "escalation_head"  # to the head of response: still unanswered at 1.5 times
    ACCOUNT_EXISTS = "account_exists"  # to an address's owner: somebody tried to register it
    PROTECTION_ON = "protection_on"  # someone else turned a protective measure on for them
    PROTECTION_FAILED = "protection_failed"  # the platform could not carry a measure out
