"""Database engine, sessions and the declarative base shared by every domain.

SQLite (WAL, foreign keys on) is the embedded default and PostgreSQL the production database; code
here hides their differences so that domain models never branch on the dialect.
"""

from __future__ import annotations

import enum
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Enum, MetaData, create_engine, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DisconnectionError
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
        event.listen(engine, "begin", _sqlite_begin)
        event.listen(engine, "before_cursor_execute", _sqlite_lock_before_writing)
    else:
        engine = create_engine(url, **kwargs)
    _ping_when_idle(engine)
    return engine


IDLE_PING_SECONDS = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it sat unused for a while.

    Pinging on every checkout (``pool_pre_ping``) costs each request a round trip. Connections
    that a network or a server timeout drops are idle ones; one dropped while in use (a database
    restart) fails its statement, which makes the pool replace every connection made before.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["hrdshield_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("hrdshield_idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and checks out another (a fresh one if need be).
            raise DisconnectionError from error


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let us emit BEGIN ourselves (see _sqlite_begin) instead of pysqlite.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


READ_ONLY = "hrdshield_read_only"  # execution option: this connection never writes


# SQLite has one writer at a time. A transaction takes the write lock (BEGIN IMMEDIATE) just
# before its first write, or its first SELECT ... FOR UPDATE (which SQLite would otherwise run as
# a plain read), and keeps it until it ends. Before that, each read sees the latest committed
# data, as on PostgreSQL (READ COMMITTED). Taking the lock up front would hold it through the
# request's reads and Python work; upgrading a read transaction instead could fail under WAL
# when another writer committed since its first read. So the lock is never taken by a
# transaction that already read inside a snapshot, and "read, then lock, then decide" code
# (the audit chain head, notification claims, retention) stays serialised as it is on PostgreSQL.
_READS = ("SELECT", "PRAGMA", "EXPLAIN", "WITH", "VALUES")


def _sqlite_begin(connection: Any) -> None:
    # A connection marked read-only reads in one snapshot (plain BEGIN) and must not queue
    # behind a writer (it may be serving that very writer's request); others begin writing later.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")


def _sqlite_lock_before_writing(
    connection: Any,
    _cursor: Any,
    statement: str,
    _parameters: Any,
    context: Any,
    _executemany: bool,
) -> None:
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection.in_transaction or not connection.in_transaction():
        return  # the lock is held already, or this is a statement outside any transaction
    if _writes(statement, context):
        dbapi_connection.execute("BEGIN IMMEDIATE")


def serialise(session: Session, lock_id: int) -> None:
    """Hold a database-wide lock named `lock_id` until the session's transaction ends.

    For rare check-then-create steps (the first data keys) that two processes may run at once:
    an advisory lock on PostgreSQL, the write lock on SQLite.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({int(lock_id)})")
        return
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is not None and not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN IMMEDIATE")


def _writes(statement: str, context: Any) -> bool:
    """Tell whether `statement` writes, or reads to write (FOR UPDATE, dropped on SQLite)."""
    if context is not None and (
        context.isinsert or context.isupdate or context.isdelete or context.isddl
    ):
        return True
    compiled = getattr(context, "compiled", None)
    if getattr(getattr(compiled, "statement", None), "_for_update_arg", None) is not None:
        return True
    return not statement.lstrip().upper().startswith(_READS)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory; callers own their transactions."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Open a session, commit on success and roll back on any error."""
    with factory() as session, session.begin():
        yield session
