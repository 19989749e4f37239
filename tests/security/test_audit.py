"""The audit log is append-only and any alteration, deletion or truncation is detected."""

from __future__ import annotations

import hashlib
import itertools
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hrdshield import cli
from hrdshield.security import audit
from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Principal, Role
from tests.conftest import TestDatabase

ACTOR = Principal("user-1", Role.REVIEWER)


def _write_entries(database: TestDatabase, count: int) -> None:
    for number in range(count):
        with database.session_factory() as session, session.begin():
            audit.record(
                session,
                actor=ACTOR,
                action="case.update",
                entity_type="case",
                entity_id=f"case-{number}",
                before={"status": "new"},
                after={"status": "triaged", "n": number},
            )


def _drop_protection(database: TestDatabase) -> None:
    """Play an attacker with full database rights, who can remove the triggers."""
    with database.engine.begin() as connection:
        if database.backend == "postgresql":
            connection.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
        else:
            connection.execute(text("DROP TRIGGER audit_log_no_update"))
            connection.execute(text("DROP TRIGGER audit_log_no_delete"))


def _verify(database: TestDatabase) -> audit.VerifyResult:
    with database.session_factory() as session:
        return audit.verify(session, database.keyring)


def test_intact_chain_verifies(database: TestDatabase) -> None:
    _write_entries(database, 5)
    result = _verify(database)
    assert result.ok
    assert result.checked == 5


def test_entries_hold_digests_not_state(database: TestDatabase) -> None:
    with database.session_factory() as session, session.begin():
        audit.record(
            session,
            actor=ACTOR,
            action="defender.update",
            entity_type="defender",
            entity_id="d1",
            before={"display_name": "Before Name"},
            after={"display_name": "After Name"},
        )
    with database.engine.connect() as connection:
        row = " ".join(
            str(value) for value in connection.execute(text("SELECT * FROM audit_log")).one()
        )
    assert "Before Name" not in row
    assert "After Name" not in row


def test_database_refuses_updates_and_deletes(database: TestDatabase) -> None:
    _write_entries(database, 1)
    for statement in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as connection:
            connection.execute(text(statement))
    assert _verify(database).ok


def test_altered_entry_is_reported_at_its_position(database: TestDatabase) -> None:
    _write_entries(database, 5)
    _drop_protection(database)
    with database.engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET actor_id = 'somebody-else' WHERE seq = 3"))
    result = _verify(database)
    assert not result.ok
    assert result.broken_at == 3
    assert result.checked == 2
    assert "altered" in result.reason


def test_rehashed_entry_is_still_caught_without_the_key(database: TestDatabase) -> None:
    """Rewriting a row and its own hash with plain SHA-256 does not fool the keyed chain."""
    _write_entries(database, 3)
    _drop_protection(database)
    with database.engine.begin() as connection:
        forged = hashlib.sha256(b"forged").hexdigest()
        connection.execute(
            text("UPDATE audit_log SET action = 'nothing', entry_hash = :h WHERE seq = 2"),
            {"h": forged},
        )
    assert _verify(database).broken_at == 2


def test_deleted_entry_is_reported(database: TestDatabase) -> None:
    _write_entries(database, 5)
    _drop_protection(database)
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    result = _verify(database)
    assert not result.ok
    assert result.broken_at == 2
    assert "missing" in result.reason


def test_deleting_the_newest_entries_is_reported(database: TestDatabase) -> None:
    _write_entries(database, 5)
    _drop_protection(database)
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq >= 4"))
    result = _verify(database)
    assert not result.ok
    assert result.broken_at == 4
    assert "deleted" in result.reason


def test_cli_verify_reports_the_first_broken_link(
    database: TestDatabase, settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    _write_entries(database, 4)
    environment = {
        "HRDSHIELD_DATABASE_URL": database.url,
        "HRDSHIELD_DATA_DIR": str(settings.data_dir),
        "HRDSHIELD_MASTER_KEY": settings.master_key.get_secret_value(),
    }
    runner = CliRunner()
    intact = runner.invoke(cli.main, ["audit", "verify"], env=environment)
    assert intact.exit_code == 0, intact.output
    assert "4 entries verified" in intact.output

    _drop_protection(database)
    with database.engine.begin() as connection:
        connection.execute(
            text("UPDATE audit_log SET detail = :d WHERE seq = 2"), {"d": '{"x": 1}'}
        )
    broken = runner.invoke(cli.main, ["audit", "verify"], env=environment)
    assert broken.exit_code == 1
    assert "BROKEN at entry 2" in broken.output


def test_appends_continue_the_chain_across_sessions(database: TestDatabase) -> None:
    _write_entries(database, 3)
    with database.session_factory() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert [entry.seq for entry in entries] == [1, 2, 3]
    assert entries[0].prev_hash == audit.GENESIS
    assert all(
        later.prev_hash == earlier.entry_hash for earlier, later in itertools.pairwise(entries)
    )


def _record(session: Session, entity_id: str) -> None:
    audit.record(
        session, actor=ACTOR, action="case.update", entity_type="case", entity_id=entity_id
    )


def _audited(database: TestDatabase) -> list[str | None]:
    with database.session_factory() as session:
        return list(session.scalars(select(AuditEntry.entity_id).order_by(AuditEntry.seq)))


def test_many_threads_appending_at_once_leave_a_gap_free_verifiable_chain(
    database: TestDatabase,
) -> None:
    """Concurrent writers, some with several entries, some rolled back: one intact chain."""
    threads, rounds = 8, 12
    start = threading.Barrier(threads)
    failures: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            start.wait(timeout=60)
            for round_number in range(rounds):
                with database.session_factory() as session, session.begin():
                    for entry in range(1 + round_number % 3):
                        _record(session, f"w{number}-r{round_number}-e{entry}")
                    if round_number % 4 == 3:
                        session.rollback()  # recorded, then abandoned: nothing is written
        except BaseException as error:  # noqa: BLE001  (reported by the main thread below)
            failures.append(error)

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not failures, failures
    assert not any(worker.is_alive() for worker in workers)

    expected = {
        f"w{number}-r{round_number}-e{entry}"
        for number in range(threads)
        for round_number in range(rounds)
        if round_number % 4 != 3
        for entry in range(1 + round_number % 3)
    }
    written = _audited(database)
    assert sorted(written) == sorted(expected)  # each committed entry once, no abandoned one
    result = _verify(database)
    assert result.ok, result
    assert result.checked == len(expected)
    with database.session_factory() as session:
        seqs = list(session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))
    assert seqs == list(range(1, len(expected) + 1))


def test_a_transaction_entries_are_contiguous_and_in_recording_order(
    database: TestDatabase,
) -> None:
    with database.session_factory() as session, session.begin():
        for number in range(3):
            _record(session, f"first-{number}")
    with database.session_factory() as session, session.begin():
        _record(session, "second")
    assert _audited(database) == ["first-0", "first-1", "first-2", "second"]


def test_entries_are_written_only_when_their_transaction_commits(database: TestDatabase) -> None:
    with database.session_factory() as session:
        with session.begin():
            _record(session, "rolled-back")
            session.rollback()
        with session.begin():
            _record(session, "kept")
    assert _audited(database) == ["kept"]
    assert _verify(database).ok


def test_a_rolled_back_savepoint_takes_its_entries_and_a_released_one_keeps_them(
    database: TestDatabase,
) -> None:
    with database.session_factory() as session, session.begin():
        _record(session, "outer")
        refused = session.begin_nested()
        _record(session, "in-refused-savepoint")
        refused.rollback()
        with session.begin_nested():
            _record(session, "in-released-savepoint")
            inner = session.begin_nested()
            _record(session, "in-refused-inner-savepoint")
            inner.rollback()
    assert _audited(database) == ["outer", "in-released-savepoint"]
    assert _verify(database).ok


def test_a_transaction_reading_the_log_sees_its_own_entries(database: TestDatabase) -> None:
    _write_entries(database, 1)
    with database.session_factory() as session, session.begin():
        _record(session, "read-back")
        assert session.scalars(select(AuditEntry.entity_id).order_by(AuditEntry.seq)).all() == [
            "case-0",
            "read-back",
        ]
        _record(session, "after-the-read")  # chained again, from the head the read wrote
    assert _audited(database) == ["case-0", "read-back", "after-the-read"]
    assert _verify(database).ok


def test_a_missing_head_row_continues_the_chain_and_verification_reports_it(
    database: TestDatabase,
) -> None:
    _write_entries(database, 2)
    with database.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_head"))
    assert _verify(database).reason == "chain head record is missing"
    _write_entries(database, 1)  # writing does not fail: the chain goes on from its last entry
    with database.session_factory() as session:
        seqs = list(session.scalars(select(AuditEntry.seq).order_by(AuditEntry.seq)))
    assert seqs == [1, 2, 3]
    assert _verify(database).ok
