"""The tamper-evident audit log: who changed what, when, chained with keyed hashes.

Each entry's hash is an HMAC (audit data key) over the previous hash and the entry's fields, so
altering or deleting a row breaks the chain at that row, and somebody holding only the database
cannot rebuild the chain. ``audit_head`` carries the last link with its own MAC, so removing the
newest entries is detected too. Entries hold digests of state, never personal data.

Appending is serialised: each entry needs the hash before it. So that the serialised part stays
short, `record` only collects an entry; the transaction's entries are numbered, linked and
written together when it commits, under the head row's lock, which the commit then releases. An
entry is thus written in the same transaction as the change it records, or not at all.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, event, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from hrdshield import clock
from hrdshield.security.crypto import Keyring, Purpose, current_keyring
from hrdshield.security.models import AuditEntry, AuditHead
from hrdshield.security.rbac import Principal

log = logging.getLogger("hrdshield.security")
GENESIS = "0" * 64
HEAD_ID = 1  # the one row of `audit_head`
_PENDING = "hrdshield.audit.pending"  # Session.info key: entries recorded, not yet chained


def digest(state: dict[str, Any] | None, keyring: Keyring | None = None) -> str | None:
    """Return a keyed digest of an entity's state, proving what it was without revealing it."""
    if state is None:
        return None
    keyring = keyring or current_keyring()
    return keyring.keyed_hash(Purpose.AUDIT, "state\x1f" + _canonical(state))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


# What each link covers besides the previous hash; `seq` binds an entry to its position.
_LINKED_FIELDS = (
    "seq",
    "occurred_at",
    "actor_type",
    "actor_id",
    "actor_role",
    "action",
    "entity_type",
    "entity_id",
    "before_digest",
    "after_digest",
    "detail",
)


def _entry_fields(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in _LINKED_FIELDS}


def _link(keyring: Keyring, prev_hash: str, fields: dict[str, Any]) -> str:
    linked = {name: fields[name] for name in _LINKED_FIELDS}
    linked["occurred_at"] = linked["occurred_at"].isoformat()
    return keyring.keyed_hash(Purpose.AUDIT, f"link\x1f{prev_hash}\x1f{_canonical(linked)}")


def _head_mac(keyring: Keyring, seq: int, entry_hash: str) -> str:
    return keyring.keyed_hash(Purpose.AUDIT, f"head\x1f{seq}\x1f{entry_hash}")


@dataclass
class _Pending:
    """An entry recorded in `transaction`, waiting for that transaction's commit to be chained."""

    transaction: SessionTransaction
    fields: dict[str, Any]  # every linked field but `seq`, which is known only when chained


def record(
    session: Session,
    *,
    actor: Principal,
    action: str,
    entity_type: str,
    entity_id: str | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record one entry in the caller's transaction; `detail` must never hold personal data.

    The entry joins the chain when the transaction commits (or when the transaction itself reads
    the audit log), and is written only if the transaction commits: never without its change.
    """
    keyring = current_keyring()
    transaction = session.get_nested_transaction() or session.get_transaction() or session.begin()
    fields = {
        "occurred_at": clock.now(),
        "actor_type": actor.kind,
        "actor_id": actor.user_id,
        "actor_role": actor.role.value if actor.role else None,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "before_digest": digest(before, keyring),
        "after_digest": digest(after, keyring),
        "detail": _canonical(detail or {}),
    }
    session.info.setdefault(_PENDING, []).append(_Pending(transaction, fields))
    session.flush()  # as before chaining moved to commit: a refused change fails here, not later


def _chain_pending(session: Session) -> None:
    """Link the session's recorded entries onto the chain, holding the chain's lock until commit.

    The lock is the head row's (``SELECT ... FOR UPDATE`` on PostgreSQL, the database write lock
    on SQLite), taken as the last step of the transaction so that it is held for one head read,
    two writes and the commit, not for the whole request.
    """
    pending: list[_Pending] = session.info.pop(_PENDING, None) or []
    if not pending:
        return
    keyring = current_keyring()
    connection = session.connection()
    seq, prev_hash = _locked_head(connection, keyring)
    rows = []
    for item in pending:
        seq += 1
        row = {**item.fields, "seq": seq, "prev_hash": prev_hash}
        row["entry_hash"] = prev_hash = _link(keyring, prev_hash, row)
        rows.append(row)
    connection.execute(_INSERT_ENTRIES, rows)
    connection.execute(
        _MOVE_HEAD,
        {"new_seq": seq, "new_hash": prev_hash, "new_mac": _head_mac(keyring, seq, prev_hash)},
    )


# Built once: constructing a statement costs more CPU than sending it, under the lock too.
_LOCK_HEAD = (
    select(AuditHead.seq, AuditHead.entry_hash).where(AuditHead.id == HEAD_ID).with_for_update()
)
_INSERT_ENTRIES = insert(AuditEntry)
_MOVE_HEAD = (
    update(AuditHead)
    .where(AuditHead.id == HEAD_ID)
    .values(seq=bindparam("new_seq"), entry_hash=bindparam("new_hash"), mac=bindparam("new_mac"))
)


def _locked_head(connection: Connection, keyring: Keyring) -> tuple[int, str]:
    """Lock the chain's head row and return its last sequence number and hash."""
    head = connection.execute(_LOCK_HEAD).first()
    if head is None:
        _create_head(connection, keyring)
        head = connection.execute(_LOCK_HEAD).one()
    return int(head.seq), str(head.entry_hash)


def _create_head(connection: Connection, keyring: Keyring) -> None:
    # The first entry ever: two transactions may get here at once, so the row is inserted only
    # if absent (the second waits for the first, then finds its row). Without a head but with
    # entries (a head deleted by hand), the chain continues from its last entry, and verification
    # reports what was removed.
    last = connection.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, entry_hash = (int(last.seq), str(last.entry_hash)) if last is not None else (0, GENESIS)
    if last is not None:
        log.warning("audit chain head was missing; continuing from entry %d", seq)
    values = {"id": HEAD_ID, "seq": seq, "entry_hash": entry_hash}
    values["mac"] = _head_mac(keyring, seq, entry_hash)
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    connection.execute(dialect_insert(AuditHead).values(values).on_conflict_do_nothing())


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    pending: list[_Pending] | None = session.info.get(_PENDING)
    if not pending:
        return
    nested = session.get_nested_transaction()
    if nested is not None:  # a savepoint is released: its entries now belong to the enclosing one
        for item in pending:
            if item.transaction is nested:
                item.transaction = nested.parent or item.transaction
        return
    session.flush()  # every other change first, outside the chain's lock
    _chain_pending(session)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # A transaction or savepoint that ends without its commit chaining them takes its entries.
    pending: list[_Pending] | None = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [item for item in pending if item.transaction is not transaction]


_AUDIT_TABLES = frozenset({AuditEntry.__table__, AuditHead.__table__})


@event.listens_for(Session, "do_orm_execute")
def _chain_before_reading_the_log(state: ORMExecuteState) -> None:
    # A transaction that reads the audit log sees its own entries, as it would any other row.
    # Not inside a savepoint: rolling that back would take entries of the enclosing transaction.
    session = state.session
    if not session.info.get(_PENDING) or not state.is_select or session.in_nested_transaction():
        return
    read = {mapper.local_table for mapper in state.all_mappers}
    read.update(state.statement.get_final_froms())  # type: ignore[attr-defined]
    if read & _AUDIT_TABLES:
        session.flush()
        _chain_pending(session)


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a chain verification; `broken_at` is the first bad sequence number."""

    ok: bool
    checked: int
    broken_at: int | None = None
    reason: str = ""


def _entries(session: Session, batch: int = 1000) -> Iterator[AuditEntry]:
    last_seq = 0
    while True:
        rows = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.seq > last_seq)
            .order_by(AuditEntry.seq)
            .limit(batch)
        ).all()
        yield from rows
        if len(rows) < batch:
            return
        last_seq = rows[-1].seq
        session.expunge_all()


def verify(
    session: Session, keyring: Keyring, progress: Callable[[int], None] | None = None
) -> VerifyResult:
    """Walk the chain from the first entry; report the first link that does not hold."""
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    for entry in _entries(session):
        if entry.seq != expected_seq:
            return VerifyResult(False, checked, expected_seq, f"entry {expected_seq} is missing")
        if entry.prev_hash != prev_hash:
            return VerifyResult(False, checked, entry.seq, "previous-hash link does not match")
        if not hmac.compare_digest(
            _link(keyring, prev_hash, _entry_fields(entry)), entry.entry_hash
        ):
            return VerifyResult(False, checked, entry.seq, "entry was altered after it was written")
        prev_hash, expected_seq, checked = entry.entry_hash, entry.seq + 1, checked + 1
        if progress is not None:
            progress(1)
    head = session.get(AuditHead, HEAD_ID)
    if head is None:
        if checked:
            return VerifyResult(False, checked, expected_seq, "chain head record is missing")
        return VerifyResult(True, 0)
    if not hmac.compare_digest(_head_mac(keyring, head.seq, head.entry_hash), head.mac):
        return VerifyResult(False, checked, head.seq, "chain head record was altered")
    if head.seq != checked or head.entry_hash != prev_hash:
        return VerifyResult(
            False,
            checked,
            checked + 1,
            f"entries after {checked} were deleted (head is {head.seq})",
        )
    return VerifyResult(True, checked)
