"""Field encryption, keyed hashes and key rotation."""

from __future__ import annotations

import base64
import threading

import pytest
from sqlalchemy import delete, select, text

from hrdshield.accounts.models import User
from hrdshield.security import crypto
from hrdshield.security.crypto import DecryptionError, Keyring, Purpose, parse_token
from hrdshield.security.models import DataKey
from hrdshield.security.rbac import Role
from tests import factories
from tests.conftest import TestDatabase


def test_round_trip_is_bound_to_its_context(database: TestDatabase) -> None:
    keyring = database.keyring
    sealed = keyring.encrypt("Calle Ejemplo 12", "defenders.contact_address")
    assert "Calle" not in sealed
    assert keyring.decrypt(sealed, "defenders.contact_address") == "Calle Ejemplo 12"
    with pytest.raises(DecryptionError):
        keyring.decrypt(sealed, "users.email")  # moved to another column: refused


def test_same_plaintext_encrypts_differently_each_time(database: TestDatabase) -> None:
    first = database.keyring.encrypt("same", "cases.summary")
    second = database.keyring.encrypt("same", "cases.summary")
    assert first != second


def test_tampered_ciphertext_is_refused(database: TestDatabase) -> None:
    sealed = database.keyring.encrypt("a secret narrative", "cases.narrative")
    key_id, payload = parse_token(sealed)
    raw = bytearray(base64.urlsafe_b64decode(payload))
    raw[-1] ^= 1
    forged = f"hse1.{key_id}.{base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with pytest.raises(DecryptionError):
        database.keyring.decrypt(forged, "cases.narrative")


@pytest.mark.parametrize("token", ["", "plain text", "hse1.only-two", "hse2.k1.abc"])
def test_malformed_tokens_are_refused(database: TestDatabase, token: str) -> None:
    with pytest.raises(DecryptionError):
        database.keyring.decrypt(token, "cases.summary")


def test_unknown_key_is_refused(database: TestDatabase) -> None:
    with pytest.raises(DecryptionError, match="unknown data key"):
        database.keyring.decrypt("hse1.kdeadbeef0000.AAAA", "cases.summary")


def test_wrong_master_key_cannot_open_data_keys(database: TestDatabase) -> None:
    other = Keyring(master_key=b"\x01" * 32, session_factory=database.session_factory)
    with pytest.raises(DecryptionError, match="master key"):
        other.load()


def test_keyed_hashes_are_stable_and_separated_by_kind(database: TestDatabase) -> None:
    keyring = database.keyring
    assert keyring.blind_index("phone", "+447700900456") == keyring.blind_index(
        "phone", "+447700900456"
    )
    assert keyring.blind_index("phone", "x") != keyring.blind_index("email", "x")
    assert keyring.keyed_hash(Purpose.AUDIT, "x") != keyring.keyed_hash(Purpose.BLIND_INDEX, "x")


def test_master_key_file_is_created_private(tmp_path) -> None:  # type: ignore[no-untyped-def]
    key = crypto.load_master_key(None, tmp_path / "keys")
    assert len(key) == 32
    assert (tmp_path / "keys" / "master.key").stat().st_mode & 0o777 == 0o600
    assert crypto.load_master_key(None, tmp_path / "keys") == key


@pytest.mark.parametrize("configured", ["not base64!", base64.b64encode(b"short").decode()])
def test_bad_configured_master_key_is_explained(configured: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="master key"):
        crypto.load_master_key(configured, tmp_path)


def test_rotation_reencrypts_every_value_and_retires_old_keys(database: TestDatabase) -> None:
    with database.session_factory() as session, session.begin():
        factories.defender(session)
        factories.user(session, Role.REVIEWER)
    old_field_key = database.keyring._active[Purpose.FIELD]

    progressed: list[int] = []
    counts = crypto.rotate_field_key(
        database.keyring, batch_size=2, settle_seconds=0, progress=progressed.append
    )

    assert sum(counts.values()) > 0
    assert sum(progressed) > 0
    new_field_key = database.keyring._active[Purpose.FIELD]
    assert new_field_key != old_field_key
    with database.session_factory() as session:
        for table, column, _ in crypto.encrypted_columns():
            tokens = session.execute(
                text(f"SELECT {column.name} FROM {table.name} WHERE {column.name} IS NOT NULL")  # noqa: S608
            ).scalars()
            for token in tokens:
                assert parse_token(token)[0] == new_field_key, f"{table.name}.{column.name}"
        states = dict(session.execute(select(DataKey.id, DataKey.state)).all())
        assert states[old_field_key] == "retired"
        assert states[new_field_key] == "active"
        # Values still decrypt after rotation through the ORM.
        users = session.scalars(select(User)).all()
        assert all("@" in user.email for user in users)


def test_rotation_does_not_overwrite_a_concurrent_edit(database: TestDatabase) -> None:
    """A row changed between read and write keeps the newer value (compare-and-swap)."""
    with database.session_factory() as session, session.begin():
        reviewer = factories.user(session, Role.REVIEWER, email="before@example.test")
        user_id = reviewer.id
    crypto.rotate_field_key(database.keyring, settle_seconds=0)
    with database.session_factory() as session, session.begin():
        edited = session.get(User, user_id)
        assert edited is not None
        edited.display_name = "Edited after rotation"
    crypto.rotate_field_key(database.keyring, settle_seconds=0)
    with database.session_factory() as session:
        edited = session.get(User, user_id)
        assert edited is not None
        assert edited.display_name == "Edited after rotation"


def test_refresh_inside_a_write_transaction_neither_waits_nor_writes(
    database: TestDatabase,
) -> None:
    """Regression: a key refresh during a request used to queue behind that request's own
    write lock on SQLite (HTTP 500 after the busy timeout) and take a second pooled connection."""
    other = Keyring(
        master_key=database.keyring.master_key, session_factory=database.session_factory
    )
    with database.session_factory() as session, session.begin():
        factories.user(session, Role.REVIEWER)  # this transaction now holds the write lock
        session.flush()
        rotated_elsewhere = crypto.create_data_key(session, other.master_key, Purpose.FIELD)
        database.keyring.refresh()  # must come back at once, reading committed keys only
        assert rotated_elsewhere.id not in database.keyring._keys
    database.keyring.refresh()
    assert rotated_elsewhere.id in database.keyring._keys


def test_processes_starting_at_once_create_one_key_per_purpose(database: TestDatabase) -> None:
    """Regression: two processes loading keys into a fresh database made two active keys."""
    with database.engine.begin() as connection:
        connection.execute(delete(DataKey))  # a database no process has started on yet
    starting = [
        Keyring(master_key=database.keyring.master_key, session_factory=database.session_factory)
        for _ in range(4)
    ]
    together = threading.Barrier(len(starting))
    failures: list[BaseException] = []

    def start(keyring: Keyring) -> None:
        try:
            together.wait(timeout=60)
            keyring.load()
        except BaseException as error:  # noqa: BLE001  (reported below)
            failures.append(error)

    threads = [threading.Thread(target=start, args=(keyring,)) for keyring in starting]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    with database.session_factory() as session:
        purposes = sorted(session.scalars(select(DataKey.purpose)))
    assert purposes == sorted([Purpose.AUDIT, Purpose.BLIND_INDEX, Purpose.FIELD])
    assert len({keyring.keyed_hash(Purpose.AUDIT, "same") for keyring in starting}) == 1


def test_values_sealed_by_another_process_after_rotation_open(database: TestDatabase) -> None:
    elsewhere = Keyring(
        master_key=database.keyring.master_key, session_factory=database.session_factory
    )
    elsewhere.load()
    crypto.rotate_field_key(elsewhere, settle_seconds=0)
    sealed = elsewhere.encrypt("written by the other process", "cases.summary")
    assert database.keyring.decrypt(sealed, "cases.summary") == "written by the other process"
