"""Detection: platforms, the event inbox, dead letters, incidents, alerts, evidence, leases.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 20:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "detection_dead_letters",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "api", "file", "demo", "bus", name="ingestchannel", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("platform", sa.String(length=32), nullable=True),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detection_dead_letters")),
    )
    with op.batch_alter_table("detection_dead_letters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_detection_dead_letters_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "detection_inbox",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column(
            "event_type",
            sa.Enum(
                "post",
                "reply",
                "mention",
                "direct_message",
                "report",
                "login",
                "account_created",
                "profile_changed",
                "content_removed",
                "traffic_count",
                name="eventtype",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "api", "file", "demo", "bus", name="ingestchannel", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_detection_inbox")),
        sa.UniqueConstraint(
            "platform", "event_id", name=op.f("uq_detection_inbox_platform_event_id")
        ),
    )
    with op.batch_alter_table("detection_inbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_detection_inbox_processed_at_seq", ["processed_at", "seq"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_detection_inbox_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "detection_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_detection_leases")),
    )
    op.create_table(
        "detection_platforms",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detection_platforms")),
        sa.UniqueConstraint("name", name=op.f("uq_detection_platforms_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_detection_platforms_token_hash")),
    )
    op.create_table(
        "detection_incidents",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("defender_id", sa.String(length=32), nullable=True),
        sa.Column("region", sa.String(length=2), nullable=True),
        sa.Column("case_id", sa.String(length=32), nullable=True),
        sa.Column(
            "severity",
            sa.Enum(
                "critical",
                "high",
                "medium",
                "low",
                name="alertseverity",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("alert_count", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_alert_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_detection_incidents_case_id_cases"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["defender_id"],
            ["defenders.id"],
            name=op.f("fk_detection_incidents_defender_id_defenders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detection_incidents")),
    )
    with op.batch_alter_table("detection_incidents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_detection_incidents_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_detection_incidents_defender_id"), ["defender_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_detection_incidents_last_alert_at"), ["last_alert_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_detection_incidents_region"), ["region"], unique=False)

    op.create_table(
        "detection_alerts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("dedup_key", sa.String(length=200), nullable=False),
        sa.Column(
            "detector",
            sa.Enum(
                "targeted_abuse",
                "doxxing",
                "pile_on",
                "smear_campaign",
                "impersonation",
                "mass_reporting",
                "account_takeover",
                "malicious_link",
                "shutdown",
                name="detectorkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("defender_id", sa.String(length=32), nullable=True),
        sa.Column("region", sa.String(length=2), nullable=True),
        sa.Column("incident_id", sa.String(length=32), nullable=True),
        sa.Column(
            "severity",
            sa.Enum(
                "critical",
                "high",
                "medium",
                "low",
                name="alertseverity",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("first_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "verdict",
            sa.Enum(
                "true_positive", "false_positive", name="alertverdict", native_enum=False, length=32
            ),
            nullable=True,
        ),
        sa.Column("verdict_by", sa.String(length=32), nullable=True),
        sa.Column("verdict_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["defender_id"],
            ["defenders.id"],
            name=op.f("fk_detection_alerts_defender_id_defenders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["detection_incidents.id"],
            name=op.f("fk_detection_alerts_incident_id_detection_incidents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detection_alerts")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_detection_alerts_dedup_key")),
    )
    with op.batch_alter_table("detection_alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_detection_alerts_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_detection_alerts_defender_id"), ["defender_id"], unique=False
        )
        batch_op.create_index(
            "ix_detection_alerts_detector_verdict", ["detector", "verdict"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_detection_alerts_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "detection_alert_events",
        sa.Column("alert_id", sa.String(length=32), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column(
            "event_type",
            sa.Enum(
                "post",
                "reply",
                "mention",
                "direct_message",
                "report",
                "login",
                "account_created",
                "profile_changed",
                "content_removed",
                "traffic_count",
                name="eventtype",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_digest", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["detection_alerts.id"],
            name=op.f("fk_detection_alert_events_alert_id_detection_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "alert_id", "platform", "event_id", name=op.f("pk_detection_alert_events")
        ),
    )
    with op.batch_alter_table("detection_alert_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_detection_alert_events_actor_digest"), ["actor_digest"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_detection_alert_events_occurred_at"), ["occurred_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("detection_alert_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_detection_alert_events_occurred_at"))
        batch_op.drop_index(batch_op.f("ix_detection_alert_events_actor_digest"))

    op.drop_table("detection_alert_events")
    with op.batch_alter_table("detection_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_detection_alerts_incident_id"))
        batch_op.drop_index("ix_detection_alerts_detector_verdict")
        batch_op.drop_index(batch_op.f("ix_detection_alerts_defender_id"))
        batch_op.drop_index(batch_op.f("ix_detection_alerts_created_at"))

    op.drop_table("detection_alerts")
    with op.batch_alter_table("detection_incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_detection_incidents_region"))
        batch_op.drop_index(batch_op.f("ix_detection_incidents_last_alert_at"))
        batch_op.drop_index(batch_op.f("ix_detection_incidents_defender_id"))
        batch_op.drop_index(batch_op.f("ix_detection_incidents_case_id"))

    op.drop_table("detection_incidents")
    op.drop_table("detection_platforms")
    op.drop_table("detection_leases")
    with op.batch_alter_table("detection_inbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_detection_inbox_received_at"))
        batch_op.drop_index("ix_detection_inbox_processed_at_seq")

    op.drop_table("detection_inbox")
    with op.batch_alter_table("detection_dead_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_detection_dead_letters_received_at"))

    op.drop_table("detection_dead_letters")
