"""Fixed vocabularies of protection, stored by value."""

from __future__ import annotations

import enum


class ActionKind(enum.Enum):
    """What a protective action does to the defender's platform account."""

    LOCKDOWN = "lockdown"  # private, lists hidden, replies/DMs from followers, sessions out, 2FA
    ENHANCED_PRIVACY = "enhanced_privacy"  # location and contact hidden, not discoverable
    SHIELD = "shield"  # temporary: filter replies and mentions from new or unconnected accounts
    HOLD_TAKEDOWNS = "hold_takedowns"  # reports against the defender go to human review
    DISABLE_ACCOUNT = "disable_account"  # temporary deactivation, reversible
    ACCOUNT_RECOVERY = "account_recovery"  # after a takeover: sessions out, credentials, lockdown

    @property
    def account_level(self) -> bool:
        """Return whether the action takes the account itself offline (needs a second person)."""
        return self is ActionKind.DISABLE_ACCOUNT


class ActionState(enum.Enum):
    """Where an action is; the defender sees this."""

    AWAITING_APPROVAL = "awaiting_approval"  # a second partner officer or reviewer must agree
    REQUESTED = "requested"  # waiting for the platform to carry it out
    APPLIED = "applied"
    FAILED = "failed"  # the platform could not carry it out after every retry
    REVERTING = "reverting"  # waiting for the platform to undo it
    REVERTED = "reverted"
    REFUSED = "refused"  # the second person said no, or the request was withdrawn

    @property
    def active(self) -> bool:
        """Return whether the action is in force or on its way."""
        return self in (ActionState.REQUESTED, ActionState.APPLIED, ActionState.AWAITING_APPROVAL)


class Initiator(enum.Enum):
    """On whose authority an action was taken."""

    DEFENDER = "defender"  # the panic button and the defender's own choices
    PARTNER_CONSENT = "partner_consent"  # a trusted partner, under the defender's standing consent
    PARTNER_APPROVED = "partner_approved"  # a partner, approved by a second partner officer
    STAFF = "staff"  # a reviewer or lead (account-level measures need a second one)
    DETECTION_RULE = "detection_rule"  # a detection rule the defender opted in to
    PROTECTED_STATUS = "protected_status"  # standing protection while the defender is enrolled


class CommandOperation(enum.Enum):
    """What the adapter is asked to do for an action."""

    APPLY = "apply"
    REVERT = "revert"
    SIGN_OUT_SESSIONS = "sign_out_sessions"  # account-recovery steps, in this order
    RESET_CREDENTIALS = "reset_credentials"
    RESTORE_LOCKDOWN = "restore_lockdown"


class CommandStatus(enum.Enum):
    """Where a platform command is in delivery."""

    PENDING = "pending"  # waiting (or retrying)
    DONE = "done"
    DEAD = "dead"  # gave up after the last attempt; surfaced to the defender and the case
