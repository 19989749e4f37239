"""Alembic environment: runs migrations on the connection or URL handed in by hrdshield.migrate."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import DateTime, engine_from_config, pool
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

import hrdshield.models  # noqa: F401  (registers every table on Base.metadata)
from hrdshield.db import Base

config = context.config
target_metadata = Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write project column types as their plain storage types: migrations must not import app code."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        if isinstance(obj.impl, DateTime):
            return "sa.DateTime(timezone=True)"
        return f"sa.{type(obj.impl).__name__}()"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=_render_item,
        render_as_batch=True,  # SQLite needs table rebuilds for most ALTERs
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as fresh:
        _run(fresh)
