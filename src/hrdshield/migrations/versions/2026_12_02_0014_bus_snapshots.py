"""Detector state snapshots of scale-out partitions.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bus_partition_snapshots",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "stream_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("taken_by", sa.String(length=64), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_bus_partition_snapshots")),
    )


def downgrade() -> None:
    op.drop_table("bus_partition_snapshots")
