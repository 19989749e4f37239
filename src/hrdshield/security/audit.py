"""The tamper-evident audit log: who changed what, when, chained with keyed hashes.

Each entry's hash is an HMAC (audit data key) over the previous hash and the entry's fields, so
altering or deleting a row breaks the chain at that row, and somebody holding only the database
cannot rebuild the chain. ``audit_head`` carries the last link with its own MAC, so removing the
newest entries is detected too. Entries hold digests of state, never personal data.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.security.crypto import Keyring, Purpose, current_keyring
from hrdshield.security.models import AuditEntry, AuditHead
from hrdshield.security.rbac import Principal

GENESIS = "0" * 64
_ADVISORY_LOCK_ID = 0x48524453  # "HRDS": serialises appends on PostgreSQL


def digest(state: dict[str, Any] | None, keyring: Keyring | None = None) -> str | None:
    """Return a keyed digest of an entity's state, proving what it was without revealing it."""
    if state is None:
        return None
    keyring = keyring or current_keyring()
    return keyring.keyed_hash(Purpose.AUDIT, "state\x1f" + _canonical(state))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _entry_fields(entry: AuditEntry) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "occurred_at": entry.occurred_at.isoformat(),
        "actor_type": entry.actor_type,
        "actor_id": entry.actor_id,
        "actor_role": entry.actor_role,
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "before_digest": entry.before_digest,
        "after_digest": entry.after_digest,
        "detail": entry.detail,
    }


def _link(keyring: Keyring, prev_hash: str, entry: AuditEntry) -> str:
    return keyring.keyed_hash(
        Purpose.AUDIT, f"link\x1f{prev_hash}\x1f{_canonical(_entry_fields(entry))}"
    )


def _head_mac(keyring: Keyring, seq: int, entry_hash: str) -> str:
    return keyring.keyed_hash(Purpose.AUDIT, f"head\x1f{seq}\x1f{entry_hash}")


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
) -> AuditEntry:
    """Append one entry in the caller's transaction; `detail` must never hold personal data."""
    keyring = current_keyring()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _ADVISORY_LOCK_ID})
    head = session.get(AuditHead, 1, with_for_update=True)
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()
    prev_hash = last.entry_hash if last is not None else GENESIS
    entry = AuditEntry(
        seq=(last.seq + 1) if last is not None else 1,
        occurred_at=clock.now(),
        actor_type=actor.kind,
        actor_id=actor.user_id,
        actor_role=actor.role.value if actor.role else None,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before_digest=digest(before, keyring),
        after_digest=digest(after, keyring),
        detail=_canonical(detail or {}),
        prev_hash=prev_hash,
        entry_hash="",
    )
    entry.entry_hash = _link(keyring, prev_hash, entry)
    session.add(entry)
    if head is None:
        head = AuditHead(id=1, seq=0, entry_hash=GENESIS, mac="")
        session.add(head)
    head.seq, head.entry_hash = entry.seq, entry.entry_hash
    head.mac = _head_mac(keyring, entry.seq, entry.entry_hash)
    session.flush()
    return entry


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
        if not hmac.compare_digest(_link(keyring, prev_hash, entry), entry.entry_hash):
            return VerifyResult(False, checked, entry.seq, "entry was altered after it was written")
        prev_hash, expected_seq, checked = entry.entry_hash, entry.seq + 1, checked + 1
        if progress is not None:
            progress(1)
    head = session.get(AuditHead, 1)
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
