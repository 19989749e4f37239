"""Demo platform fixtures: a migrated database per test, on SQLite and (when set up) PostgreSQL."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from hrdshield.db import make_session_factory
from hrdshield.demo_platform.generator import seed_platform
from hrdshield.demo_platform.world import DemoWorld
from tests.conftest import TestDatabase

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def demo_engine(database: TestDatabase) -> Engine:
    """Return the engine of the test's own migrated database (SQLite, and PostgreSQL when set)."""
    return database.engine


@pytest.fixture
def demo_factory(demo_engine: Engine) -> sessionmaker[Session]:
    """Return a session factory on the test database."""
    return make_session_factory(demo_engine)


@pytest.fixture
def demo_session(demo_factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session whose work is rolled back at the end of the test."""
    with demo_factory() as session:
        yield session
        session.rollback()


@pytest.fixture
def world(demo_session: Session) -> DemoWorld:
    """Return a seeded demo world (seed 7) in the test session."""
    return seed_platform(session=demo_session, rng=random.Random(7))
