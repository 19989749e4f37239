"""Sealed evidence files on disk, whose lifetime follows the transaction of their database row.

A file is written to a temporary name, flushed to disk and renamed, so a crash never leaves a
half-written file under a name a row refers to. A file written for a row that is rolled back is
removed at once; a file whose row was deleted is removed only once that deletion commits. What a
crash leaves behind in between (a file with no row) is removed by ``sweep_orphans``. This module
only ever sees ciphertext and random names: never a plaintext byte, never a name a person chose.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event, select
from sqlalchemy.orm import Session, SessionTransaction

from hrdshield.cases.evidence.models import Evidence

FOLDER = "evidence"
SUFFIX = ".sealed"
_NAME = re.compile(r"[0-9a-f]{32}\.sealed")
_TEMP_PREFIX = ".partial-"
_PENDING_KEY = "hrdshield.evidence.files"
_BATCH = 500


class StoredFileMissing(Exception):
    """The file a row refers to is not in the uploads folder."""


def folder(uploads_dir: Path) -> Path:
    """Return the folder holding sealed evidence files."""
    return uploads_dir / FOLDER


def new_name() -> str:
    """Return a fresh random storage name (it reveals nothing about the file)."""
    return secrets.token_hex(16) + SUFFIX


def _path(uploads_dir: Path, name: str) -> Path:
    if not _NAME.fullmatch(name):
        raise ValueError("not an evidence storage name")
    return folder(uploads_dir) / name


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write(uploads_dir: Path, name: str, blob: bytes) -> None:
    """Store `blob` under `name` atomically: the name appears only once every byte is on disk."""
    directory = folder(uploads_dir)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    final = _path(uploads_dir, name)
    temporary = directory / f"{_TEMP_PREFIX}{secrets.token_hex(8)}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(blob)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(directory)


def read(uploads_dir: Path, name: str) -> bytes:
    """Return the sealed bytes stored under `name`."""
    try:
        return _path(uploads_dir, name).read_bytes()
    except FileNotFoundError as error:
        raise StoredFileMissing(name) from error


def delete(uploads_dir: Path, name: str) -> bool:
    """Remove the file stored under `name`; return whether there was one."""
    path = _path(uploads_dir, name)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    _fsync_directory(path.parent)
    return True


def exists(uploads_dir: Path, name: str) -> bool:
    """Return whether a file is stored under `name`."""
    return _path(uploads_dir, name).is_file()


@dataclass
class _Scheduled:
    uploads_dir: Path
    name: str
    transaction: SessionTransaction


@dataclass
class _Pending:
    written: list[_Scheduled] = field(default_factory=list)  # removed unless their row commits
    doomed: list[_Scheduled] = field(default_factory=list)  # removed once their deletion commits


def _within(scheduled: _Scheduled, ended: SessionTransaction) -> bool:
    transaction: SessionTransaction | None = scheduled.transaction
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released: its files now share the outer transaction's fate
    pending: _Pending = session.info[_PENDING_KEY]
    doomed, pending.written, pending.doomed = pending.doomed, [], []
    for scheduled in doomed:
        delete(scheduled.uploads_dir, scheduled.name)


def _after_soft_rollback(session: Session, ended: SessionTransaction) -> None:
    pending: _Pending = session.info[_PENDING_KEY]
    for scheduled in [item for item in pending.written if _within(item, ended)]:
        delete(scheduled.uploads_dir, scheduled.name)
        pending.written.remove(scheduled)
    pending.doomed = [item for item in pending.doomed if not _within(item, ended)]


def _pending(session: Session) -> _Pending:
    pending: _Pending | None = session.info.get(_PENDING_KEY)
    if pending is None:
        pending = session.info[_PENDING_KEY] = _Pending()
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_soft_rollback", _after_soft_rollback)
    return pending


def _innermost(session: Session) -> SessionTransaction:
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:
        raise RuntimeError("evidence files are stored inside a transaction")
    return transaction


def remove_on_rollback(session: Session, uploads_dir: Path, name: str) -> None:
    """Remove the file `name` if the transaction that stored its row is rolled back."""
    _pending(session).written.append(_Scheduled(uploads_dir, name, _innermost(session)))


def remove_after_commit(session: Session, uploads_dir: Path, name: str) -> None:
    """Remove the file `name` once the current transaction commits; keep it if it rolls back."""
    _pending(session).doomed.append(_Scheduled(uploads_dir, name, _innermost(session)))


def sweep_orphans(
    session: Session, uploads_dir: Path, *, older_than: timedelta = timedelta(hours=1)
) -> int:
    """Remove sealed files no live row refers to, and abandoned partial writes; return how many.

    Files younger than `older_than` are left alone: their row may not be committed yet.
    """
    directory = folder(uploads_dir)
    if not directory.is_dir():
        return 0
    cutoff = time.time() - older_than.total_seconds()
    removed, candidates = 0, []
    for path in directory.iterdir():
        try:
            if path.stat().st_mtime > cutoff:
                continue
        except FileNotFoundError:
            continue
        if path.name.startswith(_TEMP_PREFIX):
            path.unlink(missing_ok=True)
            removed += 1
        elif _NAME.fullmatch(path.name):
            candidates.append(path.name)
    for start in range(0, len(candidates), _BATCH):
        batch = candidates[start : start + _BATCH]
        live = set(
            session.scalars(
                select(Evidence.storage_name).where(
                    Evidence.storage_name.in_(batch), Evidence.deleted_at.is_(None)
                )
            )
        )
        for name in batch:
            if name not in live and delete(uploads_dir, name):
                removed += 1
    return removed
