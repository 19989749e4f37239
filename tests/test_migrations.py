"""Migrations run both ways on both back ends and agree with the models."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from hrdshield import migrate
from tests.conftest import TestDatabase


def test_models_and_migrations_agree(database: TestDatabase) -> None:
    assert migrate.differences(database.engine) == []
    assert migrate.is_current(database.engine)


def test_downgrade_to_nothing_and_back(database: TestDatabase) -> None:
    database.engine.dispose()
    config = migrate.alembic_config(database.engine)
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    tables = set(inspect(database.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    migrate.upgrade(database.engine)
    assert migrate.is_current(database.engine)
    assert migrate.differences(database.engine) == []
