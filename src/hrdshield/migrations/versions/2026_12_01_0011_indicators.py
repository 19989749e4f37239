"""Indicator feeds: sources, STIX indicators and their canonical values.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-01 20:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "indicator_sources",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imports", sa.Integer(), nullable=False),
        sa.Column("last_import_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_bundle_id", sa.String(length=100), nullable=True),
        sa.Column("last_sha256", sa.String(length=64), nullable=True),
        sa.Column("last_report", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_sources")),
        sa.UniqueConstraint("name", name=op.f("uq_indicator_sources_name")),
    )
    op.create_table(
        "indicators",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("source_id", sa.String(length=32), nullable=False),
        sa.Column("stix_id", sa.String(length=300), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=True),
        sa.Column("pattern", sa.Text(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("indicator_types", sa.JSON(), nullable=False),
        sa.Column("malware", sa.JSON(), nullable=False),
        sa.Column("confidence", sa.Integer(), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("stix_created", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stix_modified", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["indicator_sources.id"],
            name=op.f("fk_indicators_source_id_indicator_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicators")),
        sa.UniqueConstraint("stix_id", name=op.f("uq_indicators_stix_id")),
    )
    with op.batch_alter_table("indicators", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_indicators_source_id"), ["source_id"], unique=False)

    op.create_table(
        "indicator_values",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("indicator_id", sa.String(length=32), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "domain-name",
                "url",
                "ipv4-addr",
                "ipv6-addr",
                "email-addr",
                "file:sha-256",
                "file:sha-1",
                "file:md5",
                name="indicatortype",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("value", sa.String(length=2048), nullable=False),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["indicators.id"],
            name=op.f("fk_indicator_values_indicator_id_indicators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_values")),
        sa.UniqueConstraint(
            "indicator_id",
            "type",
            "value",
            name=op.f("uq_indicator_values_indicator_id_type_value"),
        ),
    )
    with op.batch_alter_table("indicator_values", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_indicator_values_indicator_id"), ["indicator_id"], unique=False
        )
        batch_op.create_index("ix_indicator_values_type_value", ["type", "value"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("indicator_values", schema=None) as batch_op:
        batch_op.drop_index("ix_indicator_values_type_value")
        batch_op.drop_index(batch_op.f("ix_indicator_values_indicator_id"))

    op.drop_table("indicator_values")
    with op.batch_alter_table("indicators", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_indicators_source_id"))

    op.drop_table("indicators")
    op.drop_table("indicator_sources")
