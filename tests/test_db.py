"""Engines: SQLite's write lock, and pooled connections checked when they sat idle.

SQLite's write lock is taken at a transaction's first write or FOR UPDATE read, not at BEGIN.
Another connection with no busy timeout shows who holds it: its write fails at once with
"database is locked" while somebody holds the lock, and succeeds otherwise.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.engine import Engine

from hrdshield import db
from hrdshield.db import make_engine, make_session_factory
from tests.conftest import TestDatabase

metadata = MetaData()
notes = Table(
    "notes", metadata, Column("id", Integer, primary_key=True), Column("body", String(50))
)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """Give a fresh SQLite database with one table and one row."""
    created = make_engine(f"sqlite:///{tmp_path / 'lock.sqlite3'}")
    metadata.create_all(created)
    with created.begin() as connection:
        connection.execute(insert(notes).values(id=1, body="first"))
    yield created
    created.dispose()


def _other_writer_gets_through(engine: Engine) -> bool:
    """Try one write from another connection without waiting; tell whether it went through."""
    raw = engine.raw_connection()
    sqlite = raw.driver_connection
    assert isinstance(sqlite, sqlite3.Connection)
    sqlite.execute("PRAGMA busy_timeout=0")
    try:
        sqlite.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        refused = str(error)
    else:
        sqlite.execute("INSERT INTO notes (body) VALUES ('from the other writer')")
        sqlite.execute("COMMIT")
        refused = ""
    finally:
        sqlite.execute("PRAGMA busy_timeout=10000")
        raw.close()
    assert refused in {"", "database is locked"}
    return not refused


def test_reads_do_not_take_the_write_lock(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        assert session.scalar(select(notes.c.body).where(notes.c.id == 1)) == "first"
        assert _other_writer_gets_through(engine)
        # The next read sees what the other writer committed, as on PostgreSQL.
        assert len(session.execute(select(notes)).all()) == 2


def test_the_first_write_takes_the_lock_until_the_end(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with factory() as session:
        with session.begin():
            session.execute(update(notes).where(notes.c.id == 1).values(body="changed"))
            assert not _other_writer_gets_through(engine)
        assert _other_writer_gets_through(engine)  # committed: released
        with session.begin():
            session.execute(insert(notes).values(body="rolled back"))
            assert not _other_writer_gets_through(engine)
            session.rollback()
        assert _other_writer_gets_through(engine)
    with engine.connect() as connection:
        bodies = set(connection.scalars(select(notes.c.body)))
    assert "changed" in bodies
    assert "rolled back" not in bodies


def test_a_read_for_update_takes_the_lock_before_it_reads(engine: Engine) -> None:
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        session.execute(select(notes).where(notes.c.id == 1).with_for_update()).one()
        assert not _other_writer_gets_through(engine)


def test_a_savepoint_is_a_write(engine: Engine) -> None:
    """A savepoint would otherwise open a read transaction that could not become a writer."""
    factory = make_session_factory(engine)
    with factory() as session, session.begin():
        session.execute(select(notes)).all()
        with session.begin_nested():
            session.execute(select(notes)).all()  # the savepoint is opened with this read
            assert not _other_writer_gets_through(engine)
        assert not _other_writer_gets_through(engine)


def test_pooled_connections_are_pinged_only_after_sitting_idle(
    database: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    pings: list[object] = []
    ping = database.engine.dialect.do_ping
    monkeypatch.setattr(
        database.engine.dialect, "do_ping", lambda raw: pings.append(raw) or ping(raw)
    )
    for _ in range(3):
        with database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    assert pings == []  # used a moment ago: no round trip spent on a ping

    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)  # every connection now counts as idle
    with database.engine.connect() as connection:
        dead = connection.connection.dbapi_connection
    assert dead is not None
    dead.close()  # dropped while idle in the pool, as a network or server timeout would
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
        assert connection.connection.dbapi_connection is not dead
    assert pings
