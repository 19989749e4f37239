"""Test fixtures: a real database per test, on SQLite and, when configured, PostgreSQL.

The schema is migrated once per back end into a template (an SQLite file, a PostgreSQL template
database); each test gets its own copy, so tests commit for real, in real threads, and still
never see each other's data. Set HRDSHIELD_TEST_DATABASE_URL to add PostgreSQL.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher, Type
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from hrdshield import migrate
from hrdshield.app import create_app
from hrdshield.config import Settings, load_settings
from hrdshield.db import make_engine, make_session_factory
from hrdshield.security import passwords
from hrdshield.security.crypto import Keyring, install_keyring

POSTGRES_URL = os.environ.get("HRDSHIELD_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])
MASTER_KEY = secrets.token_bytes(32)


@dataclass
class TestDatabase:
    """One test's own database."""

    __test__ = False  # a fixture value, not a test class

    backend: str
    url: str
    engine: Engine
    session_factory: sessionmaker[Session]
    keyring: Keyring


class _SqliteTemplates:
    def __init__(self, root: Path) -> None:
        self.template = root / "template.sqlite3"
        engine = make_engine(f"sqlite:///{self.template}")
        migrate.upgrade(engine)
        engine.dispose()  # the last connection to close checkpoints the WAL into the file
        assert not Path(f"{self.template}-wal").exists()

    def create(self, tmp_path: Path) -> str:
        target = tmp_path / "hrdshield.sqlite3"
        shutil.copyfile(self.template, target)
        return f"sqlite:///{target}"

    def drop(self, url: str) -> None:
        """Nothing to do: the file goes with the test's temporary folder."""


class _PostgresTemplates:
    def __init__(self) -> None:
        base = make_url(POSTGRES_URL)
        self.base = base
        self.admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        self.template = f"hrdshield_tpl_{os.getpid()}"
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.template}"'))
            connection.execute(text(f'CREATE DATABASE "{self.template}"'))
        engine = make_engine(base.set(database=self.template).render_as_string(hide_password=False))
        migrate.upgrade(engine)
        engine.dispose()

    def create(self, tmp_path: Path) -> str:
        name = f"hrdshield_t_{secrets.token_hex(6)}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        return self.base.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        assert name is not None
        assert re.fullmatch(r"hrdshield_t_[0-9a-f]{12}", name)
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session", autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """Hash with argon2id at minimum cost: the suite creates hundreds of users."""
    original = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID)
    yield
    passwords._hasher = original


@pytest.fixture(scope="session")
def _templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    templates: dict[str, object] = {"sqlite": _SqliteTemplates(tmp_path_factory.mktemp("tpl"))}
    if POSTGRES_URL:
        templates["postgresql"] = _PostgresTemplates()
    yield templates
    if POSTGRES_URL:
        templates["postgresql"].close()  # type: ignore[attr-defined]


@pytest.fixture(params=BACKENDS)
def database(
    request: pytest.FixtureRequest, _templates: dict[str, object], tmp_path: Path
) -> Iterator[TestDatabase]:
    """Give the test its own migrated database, with a keyring installed."""
    templates = _templates[request.param]
    url = templates.create(tmp_path)  # type: ignore[attr-defined]
    engine = make_engine(url)
    factory = make_session_factory(engine)
    keyring = Keyring(master_key=MASTER_KEY, session_factory=factory)
    keyring.load()
    install_keyring(keyring)
    try:
        yield TestDatabase(request.param, url, engine, factory, keyring)
    finally:
        install_keyring(None)
        engine.dispose()
        templates.drop(url)  # type: ignore[attr-defined]


@pytest.fixture
def session(database: TestDatabase) -> Iterator[Session]:
    """Give a session in a transaction that the test may commit or leave to roll back."""
    with database.session_factory() as db_session:
        yield db_session
        db_session.rollback()


@pytest.fixture
def settings(tmp_path: Path, database: TestDatabase) -> Settings:
    """Return settings pointing at the test's database and a temporary data folder."""
    return load_settings(
        environ={},
        data_dir=str(tmp_path / "data"),
        database_url=database.url,
        master_key=base64.b64encode(MASTER_KEY).decode(),
        secret_key="test-secret-key-that-is-long-enough",
        cookie_secure=False,
        environment="test",
        background_tasks=False,  # tests run the ladder and the notifier themselves
    )


@pytest.fixture
def app(settings: Settings, database: TestDatabase):  # type: ignore[no-untyped-def]
    """Return the application wired to the test database."""
    return create_app(settings, engine=database.engine)


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    """Return a test client with the application started (lifespan run)."""
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client
