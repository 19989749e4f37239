"""Anonymous reports: receipt codes, reporter contact and the messages between reporter and responder.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 16:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receipt_lookup", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("receipt_hash", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column(
                "reporter_relation",
                sa.Enum(
                    "self",
                    "on_behalf",
                    name="reporterrelation",
                    native_enum=False,
                    length=32,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column(
                "reporter_contact",
                sa.Enum(
                    "none",
                    "email",
                    "status_page",
                    name="reportercontact",
                    native_enum=False,
                    length=32,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("reporter_email", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("reported_links", sa.Text(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_cases_receipt_lookup"), ["receipt_lookup"], unique=False
        )

    op.create_table(
        "case_messages",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column(
            "direction",
            sa.Enum(
                "to_reporter",
                "from_reporter",
                name="messagedirection",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_messages_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_case_messages_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_messages")),
    )
    with op.batch_alter_table("case_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_messages_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_messages_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("case_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_messages_created_at"))
        batch_op.drop_index(batch_op.f("ix_case_messages_case_id"))

    op.drop_table("case_messages")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_receipt_lookup"))
        batch_op.drop_column("reported_links")
        batch_op.drop_column("reporter_email")
        batch_op.drop_column("reporter_contact")
        batch_op.drop_column("reporter_relation")
        batch_op.drop_column("receipt_hash")
        batch_op.drop_column("receipt_lookup")
