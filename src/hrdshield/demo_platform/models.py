"""Tables of the simulated demo platform, all prefixed ``demo_``; synthetic content only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hrdshield import clock
from hrdshield.db import Base, UTCDateTime, new_id, value_enum
from hrdshield.demo_platform.enums import Audience, EventOutcome, EventType, ReportReason


class DemoAccount(Base):
    """A demo platform account with the settings a protective action can change."""

    __tablename__ = "demo_accounts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    bio: Mapped[str] = mapped_column(String(300), default="")
    country: Mapped[str] = mapped_column(String(2), index=True)
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    is_private: Mapped[bool] = mapped_column(default=False)
    followers_hidden: Mapped[bool] = mapped_column(default=False)
    replies_from: Mapped[Audience] = mapped_column(value_enum(Audience), default=Audience.EVERYONE)
    dms_from: Mapped[Audience] = mapped_column(value_enum(Audience), default=Audience.EVERYONE)
    discoverable: Mapped[bool] = mapped_column(default=True)
    two_factor_required: Mapped[bool] = mapped_column(default=False)
    deactivated: Mapped[bool] = mapped_column(default=False)
    sessions_revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set by protective actions: mentions from accounts younger than this many days are muted;
    # replies and mentions from new or unconnected accounts are filtered until `shield_until`;
    # automated takedowns wait for a human; location and contact details are hidden.
    mute_younger_than_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    shield_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    takedowns_held: Mapped[bool] = mapped_column(default=False)
    location_hidden: Mapped[bool] = mapped_column(default=False)
    contact_hidden: Mapped[bool] = mapped_column(default=False)


class DemoFollow(Base):
    """One account following another; replies and messages limited to followers check this."""

    __tablename__ = "demo_follows"

    follower_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("demo_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    followee_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("demo_accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class DemoPost(Base):
    """A public post or reply."""

    __tablename__ = "demo_posts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    author_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("demo_accounts.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(8))
    in_reply_to: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("demo_posts.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    removed: Mapped[bool] = mapped_column(default=False)


class DemoMention(Base):
    """An account named in a post."""

    __tablename__ = "demo_mentions"

    post_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("demo_posts.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("demo_accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class DemoDirectMessage(Base):
    """A private message from one account to another."""

    __tablename__ = "demo_direct_messages"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    sender_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("demo_accounts.id", ondelete="CASCADE"), index=True
    )
    recipient_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("demo_accounts.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    lang: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class DemoReport(Base):
    """A user's report of an account (and optionally one of its posts) to the platform."""

    __tablename__ = "demo_reports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    reporter_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("demo_accounts.id", ondelete="CASCADE"), index=True
    )
    target_account_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("demo_accounts.id", ondelete="CASCADE"), index=True
    )
    target_post_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("demo_posts.id", ondelete="SET NULL"), nullable=True
    )
    reason: Mapped[ReportReason] = mapped_column(value_enum(ReportReason))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class DemoLogin(Base):
    """A sign-in attempt, with where it came from."""

    __tablename__ = "demo_logins"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("demo_accounts.id", ondelete="CASCADE"), index=True
    )
    country: Mapped[str] = mapped_column(String(2))
    network: Mapped[str] = mapped_column(String(16))
    success: Mapped[bool] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class DemoEvent(Base):
    """Every event the platform saw, in arrival order: the feed, and proof that none is lost."""

    __tablename__ = "demo_events"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[EventType] = mapped_column(value_enum(EventType), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    outcome: Mapped[EventOutcome] = mapped_column(value_enum(EventOutcome))
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
