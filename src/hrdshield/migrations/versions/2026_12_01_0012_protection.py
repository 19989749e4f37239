"""Protection: protective actions, the platform command outbox, and the demo accounts' new settings.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "protective_actions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("defender_id", sa.String(length=32), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "lockdown",
                "enhanced_privacy",
                "shield",
                "hold_takedowns",
                "disable_account",
                "account_recovery",
                name="actionkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "awaiting_approval",
                "requested",
                "applied",
                "failed",
                "reverting",
                "reverted",
                "refused",
                name="actionstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "initiator",
            sa.Enum(
                "defender",
                "partner_consent",
                "partner_approved",
                "staff",
                "detection_rule",
                "protected_status",
                name="initiator",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("requested_by", sa.String(length=32), nullable=True),
        sa.Column("organisation_id", sa.String(length=32), nullable=True),
        sa.Column("approved_by", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("case_id", sa.String(length=32), nullable=True),
        sa.Column("alert_id", sa.String(length=32), nullable=True),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("account_handle", sa.Text(), nullable=False),
        sa.Column("settings_before", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reverted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reverted_by", sa.String(length=32), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_protective_actions_case_id_cases"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["defender_id"],
            ["defenders.id"],
            name=op.f("fk_protective_actions_defender_id_defenders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_protective_actions_organisation_id_organisations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protective_actions")),
    )
    with op.batch_alter_table("protective_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_protective_actions_case_id"), ["case_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_protective_actions_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_protective_actions_defender_id"), ["defender_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_protective_actions_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            "ix_protective_actions_state_expires_at", ["state", "expires_at"], unique=False
        )

    op.create_table(
        "platform_commands",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("action_id", sa.String(length=32), nullable=False),
        sa.Column(
            "operation",
            sa.Enum(
                "apply",
                "revert",
                "sign_out_sessions",
                "reset_credentials",
                "restore_lockdown",
                name="commandoperation",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "done", "dead", name="commandstatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["protective_actions.id"],
            name=op.f("fk_platform_commands_action_id_protective_actions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_commands")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_platform_commands_idempotency_key")),
    )
    with op.batch_alter_table("platform_commands", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_platform_commands_action_id"), ["action_id"], unique=False
        )
        batch_op.create_index(
            "ix_platform_commands_status_next_attempt_at",
            ["status", "next_attempt_at"],
            unique=False,
        )

    with op.batch_alter_table("demo_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mute_younger_than_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("shield_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("takedowns_held", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("location_hidden", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("contact_hidden", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("demo_accounts", schema=None) as batch_op:
        batch_op.drop_column("contact_hidden")
        batch_op.drop_column("location_hidden")
        batch_op.drop_column("takedowns_held")
        batch_op.drop_column("shield_until")
        batch_op.drop_column("mute_younger_than_days")

    with op.batch_alter_table("platform_commands", schema=None) as batch_op:
        batch_op.drop_index("ix_platform_commands_status_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_platform_commands_action_id"))

    op.drop_table("platform_commands")
    with op.batch_alter_table("protective_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_protective_actions_state_expires_at")
        batch_op.drop_index(batch_op.f("ix_protective_actions_organisation_id"))
        batch_op.drop_index(batch_op.f("ix_protective_actions_defender_id"))
        batch_op.drop_index(batch_op.f("ix_protective_actions_created_at"))
        batch_op.drop_index(batch_op.f("ix_protective_actions_case_id"))

    op.drop_table("protective_actions")
