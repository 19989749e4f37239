"""Database engine, sessions and the declarative base shared by every domain.

SQLite (WAL, foreign keys on) is the embedded default and PostgreSQL the production database; code
here hides their differences so that domain models never branch on the dialect.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Enum, MetaData, create_engine, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base; every table's metadata lives here so Alembic sees all of them."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as UTC and always read them back aware, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; use hrdshield.clock.now()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def value_enum(enum_class: type[enum.Enum]) -> Enum:
    """Return a column type storing `enum_class` by value as a checked string on every back end."""
    return Enum(
        enum_class,
        values_callable=lambda members: [member.value for member in members],
        native_enum=False,
        length=32,
        validate_strings=True,
    )


def split_list(value: str) -> list[str]:
    """Return the items of a comma-separated list column (languages, regions, scopes)."""
    return [item for item in (part.strip() for part in value.split(",")) if item]


def new_id() -> str:
    """Return a random, non-sequential identifier (no count of records leaks through ids)."""
    return uuid.uuid4().hex


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the pragmas and pool settings each back end needs."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself (see _sqlite_begin_immediate) instead of pysqlite.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


READ_ONLY = "hrdshield_read_only"  # execution option: this connection never writes


def _sqlite_begin_immediate(connection: Any) -> None:
    # Writers take the lock up front, so two transactions never read the same audit-chain head
    # and then race to append; readers are not blocked under WAL. A connection marked read-only
    # must not queue behind a writer (it may be serving that very writer's request).
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory; callers own their transactions."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session, commit on success and roll back on any error."""
    with factory() as session, session.begin():
        yield session
