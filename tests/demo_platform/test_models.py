"""Migration 0002 creates exactly the demo tables the models describe, and drops them again."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

import hrdshield.models  # noqa: F401  (registers every table on Base.metadata)
from hrdshield import migrate
from hrdshield.db import Base


def _demo_differences(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    return [difference for difference in differences if "demo_" in repr(difference)]


def test_migration_matches_the_models(demo_engine: Engine) -> None:
    assert _demo_differences(demo_engine) == []


def test_downgrade_drops_the_demo_tables_and_upgrade_restores_them(demo_engine: Engine) -> None:
    config = migrate.alembic_config(demo_engine)
    with demo_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    assert not [name for name in inspect(demo_engine).get_table_names() if name.startswith("demo_")]
    migrate.upgrade(demo_engine)
    demo_tables = {name for name in Base.metadata.tables if name.startswith("demo_")}
    assert demo_tables <= set(inspect(demo_engine).get_table_names())
    assert _demo_differences(demo_engine) == []
