"""One-time report form tokens and the on-call roster.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 20:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_submissions",
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_report_submissions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_digest", name=op.f("pk_report_submissions")),
    )
    with op.batch_alter_table("report_submissions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_report_submissions_case_id"), ["case_id"], unique=False
        )
    op.create_table(
        "oncall_shifts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column(
            "duty",
            sa.Enum("lead", "head_of_response", name="oncallduty", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_oncall_shifts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oncall_shifts")),
    )
    with op.batch_alter_table("oncall_shifts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_oncall_shifts_duty_starts_at", ["duty", "starts_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_oncall_shifts_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("oncall_shifts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oncall_shifts_user_id"))
        batch_op.drop_index("ix_oncall_shifts_duty_starts_at")
    op.drop_table("oncall_shifts")
    with op.batch_alter_table("report_submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_submissions_case_id"))
    op.drop_table("report_submissions")
