"""Apply events to the demo platform's tables, and change account settings as a platform would.

`apply` is idempotent (an event id seen twice is applied once) and records every event it sees in
``demo_events``, so the feed is complete and nothing acknowledged is lost. The settings operations
are what the demo protective-action adapter calls; each reports the settings before and after.
Callers own the transaction: functions here add and flush, never commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.db import new_id
from hrdshield.demo_platform.enums import Audience, EventOutcome, EventType, ReportReason
from hrdshield.demo_platform.events import (
    Event,
    account_ref,
    format_time,
    make_event,
    parse_time,
    validate_event,
)
from hrdshield.demo_platform.models import (
    DemoAccount,
    DemoDirectMessage,
    DemoEvent,
    DemoFollow,
    DemoLogin,
    DemoMention,
    DemoPost,
    DemoReport,
)

ID_LENGTH = 32  # demo table ids are String(32); other platforms' ids may be longer
SHIELD_NEW_ACCOUNT_DAYS = 30  # a shield filters accounts younger than this, or not connected


class UnknownAccountError(LookupError):
    """No demo account has this id."""


class AccountSettings(TypedDict):
    """The settings of one account that protective actions can change, as JSON values."""

    is_private: bool
    followers_hidden: bool
    replies_from: str
    dms_from: str
    discoverable: bool
    two_factor_required: bool
    deactivated: bool
    sessions_revoked_at: str | None
    active_sessions: int
    mute_younger_than_days: int | None
    shield_until: str | None
    takedowns_held: bool
    location_hidden: bool
    contact_hidden: bool


class SettingsChange(TypedDict):
    """An account's settings before and after one operation."""

    account_id: str
    handle: str
    before: AccountSettings
    after: AccountSettings


@dataclass
class ApplyResult:
    """What `apply` did with each event id: applied, rejected (with the reason) or already seen."""

    applied: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    duplicates: list[str] = field(default_factory=list)


class _RejectedError(Exception):
    """The platform refuses an event; the message is the reason recorded with it."""


def apply(*, session: Session, events: Iterable[Event]) -> ApplyResult:
    """Apply `events` in order; validate all first, so a malformed batch changes nothing."""
    batch = [validate_event(event) for event in events]
    result = ApplyResult()
    for event in batch:
        event_id = event["id"]
        seen = session.scalar(select(DemoEvent.seq).where(DemoEvent.event_id == event_id))
        if seen is not None:
            result.duplicates.append(event_id)
            continue
        event_type = EventType(event["type"])
        reason: str | None = None
        try:
            _check_id_lengths(event)
            _HANDLERS[event_type](session, event)
        except _RejectedError as rejection:
            reason = str(rejection)
            result.rejected[event_id] = reason
        else:
            result.applied.append(event_id)
        _record(
            session,
            event,
            outcome=EventOutcome.REJECTED if reason else EventOutcome.APPLIED,
            reason=reason,
        )
    return result


def account_by_handle(*, session: Session, handle: str) -> DemoAccount | None:
    """Return the account with `handle` (with or without the leading ``@``), if any."""
    return session.scalar(select(DemoAccount).where(DemoAccount.handle == normal_handle(handle)))


def normal_handle(handle: str) -> str:
    """Return `handle` in the stored form, with one leading ``@``."""
    return "@" + handle.strip().lstrip("@")


def follow(*, session: Session, follower_id: str, followee_id: str) -> bool:
    """Make one account follow another; return False when it already did."""
    if follower_id == followee_id or follows(
        session=session, follower_id=follower_id, followee_id=followee_id
    ):
        return False
    session.add(DemoFollow(follower_id=follower_id, followee_id=followee_id))
    session.flush()
    return True


def follows(*, session: Session, follower_id: str, followee_id: str) -> bool:
    """Return whether `follower_id` follows `followee_id`."""
    return session.get(DemoFollow, (follower_id, followee_id)) is not None


def follower_ids(*, session: Session, account_id: str) -> list[str]:
    """Return the ids of the accounts following `account_id`, in a stable order."""
    query = (
        select(DemoFollow.follower_id)
        .where(DemoFollow.followee_id == account_id)
        .order_by(DemoFollow.follower_id)
    )
    return list(session.scalars(query))


def recent_events(*, session: Session, limit: int = 50) -> list[DemoEvent]:
    """Return the newest recorded events first, for the demo feed."""
    query = select(DemoEvent).order_by(DemoEvent.seq.desc()).limit(limit)
    return list(session.scalars(query))


def events_after(*, session: Session, after_seq: int = 0, limit: int = 500) -> list[DemoEvent]:
    """Return recorded events with a sequence number above `after_seq`, oldest first."""
    query = select(DemoEvent).where(DemoEvent.seq > after_seq).order_by(DemoEvent.seq).limit(limit)
    return list(session.scalars(query))


def account_settings(*, session: Session, account: DemoAccount) -> AccountSettings:
    """Return `account`'s current settings as JSON values."""
    logins = select(func.count()).where(
        DemoLogin.account_id == account.id, DemoLogin.success.is_(True)
    )
    if account.sessions_revoked_at is not None:
        logins = logins.where(DemoLogin.created_at > account.sessions_revoked_at)
    revoked, shield = account.sessions_revoked_at, account.shield_until
    return {
        "is_private": account.is_private,
        "followers_hidden": account.followers_hidden,
        "replies_from": account.replies_from.value,
        "dms_from": account.dms_from.value,
        "discoverable": account.discoverable,
        "two_factor_required": account.two_factor_required,
        "deactivated": account.deactivated,
        "sessions_revoked_at": format_time(revoked) if revoked is not None else None,
        "active_sessions": 0 if account.deactivated else session.scalar(logins) or 0,
        "mute_younger_than_days": account.mute_younger_than_days,
        "shield_until": format_time(shield) if shield is not None else None,
        "takedowns_held": account.takedowns_held,
        "location_hidden": account.location_hidden,
        "contact_hidden": account.contact_hidden,
    }


def set_private(*, session: Session, account_id: str, private: bool = True) -> SettingsChange:
    """Make the account's posts visible to approved followers only (or public again)."""
    return _change(session, account_id, lambda account: setattr(account, "is_private", private))


def hide_followers(*, session: Session, account_id: str, hidden: bool = True) -> SettingsChange:
    """Hide (or show) who follows the account, so its network cannot be mapped."""
    return _change(
        session, account_id, lambda account: setattr(account, "followers_hidden", hidden)
    )


def limit_replies(
    *, session: Session, account_id: str, audience: Audience = Audience.FOLLOWERS
) -> SettingsChange:
    """Choose who may reply to the account's posts."""
    return _change(session, account_id, lambda account: setattr(account, "replies_from", audience))


def limit_dms(
    *, session: Session, account_id: str, audience: Audience = Audience.FOLLOWERS
) -> SettingsChange:
    """Choose who may send the account direct messages."""
    return _change(session, account_id, lambda account: setattr(account, "dms_from", audience))


def set_discoverable(
    *, session: Session, account_id: str, discoverable: bool = False
) -> SettingsChange:
    """Take the account out of search and suggestions (or put it back)."""
    return _change(
        session, account_id, lambda account: setattr(account, "discoverable", discoverable)
    )


def sign_out_sessions(*, session: Session, account_id: str) -> SettingsChange:
    """End every signed-in session of the account, e.g. after a suspicious login."""
    now = clock.now()
    return _change(
        session, account_id, lambda account: setattr(account, "sessions_revoked_at", now)
    )


def require_two_factor(
    *, session: Session, account_id: str, required: bool = True
) -> SettingsChange:
    """Require (or stop requiring) a second factor at the account's next sign-in."""
    return _change(
        session, account_id, lambda account: setattr(account, "two_factor_required", required)
    )


def mute_young_accounts(
    *, session: Session, account_id: str, days: int | None = 7
) -> SettingsChange:
    """Mute mentions and replies from accounts younger than `days` (None: stop muting)."""
    return _change(
        session, account_id, lambda account: setattr(account, "mute_younger_than_days", days)
    )


def shield(*, session: Session, account_id: str, until: datetime | None) -> SettingsChange:
    """Filter replies and mentions from new or unconnected accounts until `until` (None: off)."""
    return _change(session, account_id, lambda account: setattr(account, "shield_until", until))


def hold_takedowns(*, session: Session, account_id: str, held: bool = True) -> SettingsChange:
    """Route automated takedowns of the account's posts to human review (or stop doing so)."""
    return _change(session, account_id, lambda account: setattr(account, "takedowns_held", held))


def hide_details(*, session: Session, account_id: str, hidden: bool = True) -> SettingsChange:
    """Hide (or show) the account's location and contact details."""

    def mutate(account: DemoAccount) -> None:
        account.location_hidden = account.contact_hidden = hidden

    return _change(session, account_id, mutate)


def restore(*, session: Session, account_id: str, settings: dict[str, Any]) -> SettingsChange:
    """Put back settings returned by `account_settings` (what a reverted action undoes)."""
    writable = {
        "is_private", "followers_hidden", "discoverable", "two_factor_required", "deactivated",
        "mute_younger_than_days", "takedowns_held", "location_hidden", "contact_hidden",
    }  # fmt: skip

    def mutate(account: DemoAccount) -> None:
        for name in writable & settings.keys():
            setattr(account, name, settings[name])
        for name in ("replies_from", "dms_from"):
            if name in settings:
                setattr(account, name, Audience(settings[name]))
        if "shield_until" in settings:
            until = settings["shield_until"]
            account.shield_until = parse_time(until) if until else None

    return _change(session, account_id, mutate)


def deactivate(*, session: Session, account_id: str) -> SettingsChange:
    """Take the account offline temporarily; nothing is deleted."""
    return _change(session, account_id, lambda account: setattr(account, "deactivated", True))


def reactivate(*, session: Session, account_id: str) -> SettingsChange:
    """Bring a deactivated account back."""
    return _change(session, account_id, lambda account: setattr(account, "deactivated", False))


def _change(
    session: Session, account_id: str, mutate: Callable[[DemoAccount], None]
) -> SettingsChange:
    account = session.get(DemoAccount, account_id)
    if account is None:
        raise UnknownAccountError(f"no demo account with id {account_id!r}")
    before = account_settings(session=session, account=account)
    mutate(account)
    session.flush()
    after = account_settings(session=session, account=account)
    if after != before:
        event = make_event(
            event_id=new_id(),
            event_type=EventType.PROFILE_CHANGED,
            occurred_at=clock.now(),
            actor=account_ref(account.id, account.handle),
            sections={"settings": {"before": dict(before), "after": dict(after)}},
        )
        _record(session, event, outcome=EventOutcome.APPLIED, reason=None)
    return {"account_id": account.id, "handle": account.handle, "before": before, "after": after}


def _record(session: Session, event: Event, *, outcome: EventOutcome, reason: str | None) -> None:
    session.add(
        DemoEvent(
            event_id=event["id"],
            type=EventType(event["type"]),
            occurred_at=parse_time(event["occurred_at"]),
            outcome=outcome,
            reason=reason,
            payload=event,
        )
    )
    session.flush()


def _check_id_lengths(event: Event) -> None:
    ids = [ref["account_id"] for ref in [event.get("actor"), *event["targets"]] if ref]
    for section in ("content", "report"):
        ids += [
            value
            for key, value in (event.get(section) or {}).items()
            if key in {"post_id", "in_reply_to"} and value is not None
        ]
    if any(len(value) > ID_LENGTH for value in ids):
        raise _RejectedError(f"the demo platform's ids have at most {ID_LENGTH} characters")


def _account(session: Session, ref: dict[str, Any], role: str) -> DemoAccount:
    account = session.get(DemoAccount, ref["account_id"])
    if account is None:
        raise _RejectedError(f"unknown {role} account")
    return account


def _active_actor(session: Session, event: Event) -> DemoAccount:
    actor = _account(session, event["actor"], "actor")
    if actor.deactivated:
        raise _RejectedError("the actor's account is deactivated")
    return actor


def _apply_account_created(session: Session, event: Event) -> None:
    actor, profile = event["actor"], event["profile"]
    handle = normal_handle(actor["handle"])
    if session.get(DemoAccount, actor["account_id"]) is not None:
        raise _RejectedError("an account with this id already exists")
    if account_by_handle(session=session, handle=handle) is not None:
        raise _RejectedError("the handle is taken")
    session.add(
        DemoAccount(
            id=actor["account_id"],
            handle=handle,
            display_name=profile["display_name"],
            bio=profile.get("bio", ""),
            country=profile["country"],
            language=profile["language"],
            created_at=parse_time(event["occurred_at"]),
        )
    )
    session.flush()


def _apply_profile_changed(session: Session, event: Event) -> None:
    account = _account(session, event["actor"], "actor")
    profile = event.get("profile") or {}
    # Settings change only through the operations above; events may change the public profile.
    if "display_name" in profile:
        account.display_name = profile["display_name"]
    if "bio" in profile:
        account.bio = profile["bio"]
    session.flush()


def _filtered_by(owner: DemoAccount, author: DemoAccount, session: Session, at: datetime) -> str:
    """Return why the owner's protections filter `author` out, or "" when they do not."""
    if owner.id == author.id:
        return ""
    age_days = (at - author.created_at).total_seconds() / 86_400
    connected = follows(session=session, follower_id=owner.id, followee_id=author.id) or follows(
        session=session, follower_id=author.id, followee_id=owner.id
    )
    if owner.mute_younger_than_days is not None and age_days < owner.mute_younger_than_days:
        return "muted: the account is younger than the recipient allows"
    shielded = owner.shield_until is not None and at < owner.shield_until
    if shielded and (age_days < SHIELD_NEW_ACCOUNT_DAYS or not connected):
        return "filtered by a temporary shield"
    return ""


def _check_reply_allowed(
    session: Session, author: DemoAccount, parent_id: str, at: datetime
) -> None:
    parent = session.get(DemoPost, parent_id)
    if parent is None:
        raise _RejectedError("unknown post replied to")
    if parent.removed:
        raise _RejectedError("the post replied to was removed")
    owner = _account(session, {"account_id": parent.author_id}, "replied-to")
    if (
        owner.id != author.id
        and owner.replies_from is Audience.FOLLOWERS
        and not follows(session=session, follower_id=author.id, followee_id=owner.id)
    ):
        raise _RejectedError("replies are limited to followers")
    filtered = _filtered_by(owner, author, session, at)
    if filtered:
        raise _RejectedError(filtered)


def _apply_post(session: Session, event: Event) -> None:
    author = _active_actor(session, event)
    content = event["content"]
    if session.get(DemoPost, content["post_id"]) is not None:
        raise _RejectedError("a post with this id already exists")
    if content.get("in_reply_to") is not None:
        _check_reply_allowed(
            session, author, content["in_reply_to"], parse_time(event["occurred_at"])
        )
    at = parse_time(event["occurred_at"])
    mentioned = {
        account.id
        for account in (_account(session, t, "mentioned") for t in event["targets"])
        if not _filtered_by(account, author, session, at)  # a filtered mention reaches nobody
    }
    session.add(
        DemoPost(
            id=content["post_id"],
            author_id=author.id,
            text=content["text"],
            lang=content["lang"],
            in_reply_to=content.get("in_reply_to"),
            created_at=parse_time(event["occurred_at"]),
        )
    )
    session.flush()  # the post row must exist before its mentions point at it
    session.add_all(
        DemoMention(post_id=content["post_id"], account_id=account_id)
        for account_id in sorted(mentioned)
    )
    session.flush()


def _apply_direct_message(session: Session, event: Event) -> None:
    sender = _active_actor(session, event)
    recipient = _account(session, event["targets"][0], "recipient")
    if recipient.deactivated:
        raise _RejectedError("the recipient's account is deactivated")
    if recipient.dms_from is Audience.FOLLOWERS and not follows(
        session=session, follower_id=sender.id, followee_id=recipient.id
    ):
        raise _RejectedError("direct messages are limited to followers")
    filtered = _filtered_by(recipient, sender, session, parse_time(event["occurred_at"]))
    if filtered:
        raise _RejectedError(filtered)
    content = event["content"]
    session.add(
        DemoDirectMessage(
            sender_id=sender.id,
            recipient_id=recipient.id,
            text=content["text"],
            lang=content["lang"],
            created_at=parse_time(event["occurred_at"]),
        )
    )
    session.flush()


def _apply_report(session: Session, event: Event) -> None:
    reporter = _account(session, event["actor"], "reporter")
    target = _account(session, event["targets"][0], "reported")
    post_id = event["report"].get("post_id")
    if post_id is not None and session.get(DemoPost, post_id) is None:
        raise _RejectedError("unknown reported post")
    session.add(
        DemoReport(
            reporter_id=reporter.id,
            target_account_id=target.id,
            target_post_id=post_id,
            reason=ReportReason(event["report"]["reason"]),
            created_at=parse_time(event["occurred_at"]),
        )
    )
    session.flush()


def _apply_login(session: Session, event: Event) -> None:
    account = _account(session, event["actor"], "actor")
    login = event["login"]
    session.add(
        DemoLogin(
            account_id=account.id,
            country=login["country"],
            network=login["network"],
            success=login["success"],
            created_at=parse_time(event["occurred_at"]),
        )
    )
    session.flush()


def _apply_content_removed(session: Session, event: Event) -> None:
    post = session.get(DemoPost, event["content"]["post_id"])
    if post is None:
        raise _RejectedError("unknown post removed")
    author = session.get(DemoAccount, post.author_id)
    if author is not None and author.takedowns_held:
        raise _RejectedError("held for human review: the author is a protected defender")
    post.removed = True
    session.flush()


def _record_only(session: Session, event: Event) -> None:
    """Traffic counts change no table; the event record is all there is."""


_HANDLERS: dict[EventType, Callable[[Session, Event], None]] = {
    EventType.ACCOUNT_CREATED: _apply_account_created,
    EventType.PROFILE_CHANGED: _apply_profile_changed,
    EventType.POST: _apply_post,
    EventType.REPLY: _apply_post,
    EventType.MENTION: _apply_post,
    EventType.DIRECT_MESSAGE: _apply_direct_message,
    EventType.REPORT: _apply_report,
    EventType.LOGIN: _apply_login,
    EventType.CONTENT_REMOVED: _apply_content_removed,
    EventType.TRAFFIC_COUNT: _record_only,
}
