"""Field-level encryption, keyed hashes and key rotation.

Envelope encryption: a master key (the key-encryption key, kept outside the database) wraps random
data keys stored in ``data_keys``. Every encrypted value names the data key that sealed it, so keys
can be rotated while the service runs: old keys keep decrypting until ``rotate_field_key`` has
re-encrypted every value. Keyed hashes (blind indexes) let detectors match identifiers that are
never stored in plaintext. Nothing here logs or returns key material.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text, select, type_coerce, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from hrdshield import clock
from hrdshield.db import READ_ONLY, Base, serialise
from hrdshield.security.models import DataKey

log = logging.getLogger("hrdshield.security")
TOKEN_PREFIX = "hse1"  # noqa: S105  (a format marker, not a secret)
KEY_BYTES = 32
NONCE_BYTES = 12
ACTIVE_KEY_TTL_SECONDS = 30.0
_KEY_CREATION_LOCK = 0x48524B59  # "HRKY"


class Purpose:
    """What a data key is for; each purpose has its own key so one leak does not expose all."""

    FIELD = "field"
    BLIND_INDEX = "blind_index"
    AUDIT = "audit"


class DecryptionError(Exception):
    """A value could not be decrypted: wrong key, tampered ciphertext or wrong column."""


def load_master_key(configured: str | None, keys_dir: Path) -> bytes:
    """Return the master key from settings, or from (or newly into) ``keys_dir/master.key``."""
    if configured:
        return _decode_key(configured, "HRDSHIELD_MASTER_KEY")
    path = keys_dir / "master.key"
    if not path.exists():
        keys_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode())
    return _decode_key(path.read_text().strip(), str(path))


def load_or_create_secret(configured: str | None, keys_dir: Path, name: str) -> bytes:
    """Return a configured secret, or a random one persisted in ``keys_dir/name`` (mode 0600)."""
    if configured:
        return configured.encode()
    path = keys_dir / name
    if not path.exists():
        keys_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


def _decode_key(text: str, where: str) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError(f"{where}: master key must be base64") from error
    if len(key) != KEY_BYTES:
        raise ValueError(f"{where}: master key must decode to {KEY_BYTES} bytes")
    return key


def _wrap(master_key: bytes, key_id: str, data_key: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(master_key).encrypt(nonce, data_key, key_id.encode())


def _unwrap(master_key: bytes, key_id: str, wrapped: bytes) -> bytes:
    try:
        return AESGCM(master_key).decrypt(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], key_id.encode()
        )
    except InvalidTag as error:
        raise DecryptionError(f"data key {key_id} does not open with this master key") from error


def create_data_key(session: Session, master_key: bytes, purpose: str) -> DataKey:
    """Add a new active data key for `purpose`, wrapped under the master key."""
    key_id = f"k{secrets.token_hex(6)}"
    row = DataKey(
        id=key_id,
        purpose=purpose,
        state="active",
        wrapped=_wrap(master_key, key_id, secrets.token_bytes(KEY_BYTES)),
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    return row


@dataclass
class Keyring:
    """Unwrapped data keys held in memory for one process."""

    master_key: bytes
    session_factory: sessionmaker[Session]
    _keys: dict[str, bytes] = field(default_factory=dict, repr=False)
    _active: dict[str, str] = field(default_factory=dict)
    _loaded_at: float = 0.0

    def __repr__(self) -> str:
        return f"Keyring(keys={len(self._keys)})"

    def load(self) -> None:
        """Read every data key, creating the first key of each purpose when none exists.

        For start-up and commands; a running service refreshes with `refresh`, which never writes.
        """
        with self.session_factory() as session, session.begin():
            serialise(session, _KEY_CREATION_LOCK)  # two processes starting at once make one key
            rows = list(session.scalars(select(DataKey).order_by(DataKey.created_at)))
            for purpose in (Purpose.FIELD, Purpose.BLIND_INDEX, Purpose.AUDIT):
                if not any(row.purpose == purpose for row in rows):
                    rows.append(create_data_key(session, self.master_key, purpose))
        self._install(rows)

    def refresh(self) -> None:
        """Re-read the data keys on a read-only connection (picks up a rotation elsewhere).

        Safe to call while the calling thread holds a write transaction on another connection:
        it neither waits for the write lock nor creates keys.
        """
        engine = self.session_factory.kw["bind"]
        with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
            rows = list(connection.execute(select(DataKey).order_by(DataKey.created_at)))
        self._install(rows)

    def refresh_if_stale(self) -> None:
        """Refresh when the cached keys are older than the cache lifetime."""
        if time.monotonic() - self._loaded_at > ACTIVE_KEY_TTL_SECONDS:
            self.refresh()

    def _install(self, rows: list[Any]) -> None:
        keys, active = {}, {}
        for row in rows:
            keys[row.id] = _unwrap(self.master_key, row.id, row.wrapped)
            if row.state == "active":
                active[row.purpose] = row.id  # newest active wins: rows are ordered by age
        self._keys, self._active, self._loaded_at = keys, active, time.monotonic()

    def _key_for(self, purpose: str) -> tuple[str, bytes]:
        if not self._keys:
            self.load()
        # A running service refreshes from a background thread (run_key_refresher), never here:
        # a refresh inside a request would need a second connection while the request holds one.
        key_id = self._active[purpose]
        return key_id, self._keys[key_id]

    def encrypt(self, plaintext: str, context: str) -> str:
        """Seal `plaintext`, binding it to `context` (table.column) so it cannot be moved."""
        key_id, key = self._key_for(Purpose.FIELD)
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{TOKEN_PREFIX}.{key_id}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, context: str) -> str:
        """Open a value sealed by `encrypt` with the same context."""
        key_id, payload = parse_token(token)
        if key_id not in self._keys:
            self.refresh()  # sealed under a key made by another process since our last look
        key = self._keys.get(key_id)
        if key is None:
            raise DecryptionError(f"unknown data key {key_id}")
        raw = base64.urlsafe_b64decode(payload)
        try:
            return (
                AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()).decode()
            )
        except InvalidTag as error:
            raise DecryptionError(
                f"value does not open under key {key_id} for {context}"
            ) from error

    def keyed_hash(self, purpose: str, message: str) -> str:
        """Return HMAC-SHA256 of `message` under the active key of `purpose` (hex)."""
        _, key = self._key_for(purpose)
        return hmac.digest(key, message.encode(), "sha256").hex()  # one C call, same digest

    def blind_index(self, kind: str, canonical: str) -> str:
        """Return the keyed hash under which an identifier of `kind` is stored and matched."""
        return self.keyed_hash(Purpose.BLIND_INDEX, f"{kind}\x1f{canonical}")


def parse_token(token: str) -> tuple[str, str]:
    """Split an encrypted value into its key id and payload."""
    parts = token.split(".", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        raise DecryptionError("not an encrypted value")
    return parts[1], parts[2]


_current: Keyring | None = None


def install_keyring(keyring: Keyring | None) -> None:
    """Make `keyring` the one encrypted columns use in this process."""
    global _current  # noqa: PLW0603  (column types cannot receive it any other way)
    _current = keyring


def current_keyring() -> Keyring:
    """Return the installed keyring or fail loudly: never store plaintext by accident."""
    if _current is None:
        raise RuntimeError("no keyring installed; call install_keyring() at start-up")
    return _current


class EncryptedText(TypeDecorator[str]):
    """A text column stored AES-256-GCM encrypted, bound to its `context` name."""

    impl = Text
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return current_keyring().encrypt(value, self.context)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return current_keyring().decrypt(value, self.context)


def encrypted_columns() -> list[tuple[Any, Any, EncryptedText]]:
    """List (table, column, type) for every encrypted column of every model."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, EncryptedText):
                found.append((table, column, column.type))
    return found


def rotate_field_key(
    keyring: Keyring,
    *,
    batch_size: int = 500,
    settle_seconds: float = ACTIVE_KEY_TTL_SECONDS + 5,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Activate a new field key, re-encrypt every value under it, then retire the old keys.

    Runs in short batches so the service keeps serving; each row is rewritten only if it still
    holds the ciphertext that was read, so a concurrent edit is never overwritten. After waiting
    `settle_seconds` (longer than other processes keep their active key cached) a second sweep
    catches values they wrote under the old key in the meantime.
    """
    with keyring.session_factory() as session, session.begin():
        new_key = create_data_key(session, keyring.master_key, Purpose.FIELD)
        old = session.scalars(
            select(DataKey).where(
                DataKey.purpose == Purpose.FIELD,
                DataKey.id != new_key.id,
                DataKey.state == "active",
            )
        ).all()
        for row in old:
            row.state, row.retired_at = "retiring", clock.now()
    keyring.load()
    counts: dict[str, int] = {}
    for sweep in range(2):
        if sweep:
            time.sleep(settle_seconds)
        for table, column, column_type in encrypted_columns():
            name = f"{table.name}.{column.name}"
            counts[name] = counts.get(name, 0) + _reencrypt_column(
                keyring,
                table=table,
                column=column,
                column_type=column_type,
                new_key_id=new_key.id,
                batch_size=batch_size,
                progress=progress,
            )
    with keyring.session_factory() as session, session.begin():
        session.execute(
            update(DataKey)
            .where(DataKey.purpose == Purpose.FIELD, DataKey.state == "retiring")
            .values(state="retired")
        )
    return counts


def _reencrypt_column(
    keyring: Keyring,
    *,
    table: Any,
    column: Any,
    column_type: EncryptedText,
    new_key_id: str,
    batch_size: int,
    progress: Callable[[int], None] | None,
) -> int:
    primary_key = next(iter(table.primary_key.columns))
    raw = type_coerce(column, Text)
    rewritten, last_key = 0, None
    while True:
        query = select(primary_key, raw).where(column.isnot(None)).order_by(primary_key)
        if last_key is not None:
            query = query.where(primary_key > last_key)
        with keyring.session_factory() as session, session.begin():
            rows = session.execute(query.limit(batch_size)).all()
            for key_value, token in rows:
                if parse_token(token)[0] == new_key_id:
                    continue
                fresh = keyring.encrypt(
                    keyring.decrypt(token, column_type.context), column_type.context
                )
                session.execute(
                    update(table)
                    .where(primary_key == key_value, raw == token)
                    .values({column.name: type_coerce(fresh, Text)})
                )
                rewritten += 1
        if progress is not None:
            progress(len(rows))
        if len(rows) < batch_size:
            return rewritten
        last_key = rows[-1][0]


BLOB_MAGIC = b"HSB1"  # sealed-file format marker, followed by the key id's length and the key id


def encrypt_blob(keyring: Keyring, data: bytes, context: str) -> bytes:
    """Seal file contents under the active field key; the header names the key that sealed it."""
    key_id, key = keyring._key_for(Purpose.FIELD)
    header = BLOB_MAGIC + bytes([len(key_id)]) + key_id.encode("ascii")
    nonce = secrets.token_bytes(NONCE_BYTES)
    return header + nonce + AESGCM(key).encrypt(nonce, data, header + context.encode())


def decrypt_blob(keyring: Keyring, blob: bytes, context: str) -> bytes:
    """Open file contents sealed by `encrypt_blob` with the same context."""
    start = len(BLOB_MAGIC) + 1
    if len(blob) < start or not blob.startswith(BLOB_MAGIC):
        raise DecryptionError("not a sealed file")
    end = start + blob[start - 1]
    key_id = blob[start:end].decode("ascii", "replace")
    if key_id not in keyring._keys:
        keyring.refresh()
    key = keyring._keys.get(key_id)
    if key is None:
        raise DecryptionError(f"unknown data key {key_id}")
    nonce, sealed = blob[end : end + NONCE_BYTES], blob[end + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, sealed, blob[:end] + context.encode())
    except (InvalidTag, ValueError) as error:
        raise DecryptionError(f"file does not open under key {key_id} for {context}") from error


def run_key_refresher(keyring: Keyring, *, stop_event: threading.Event) -> None:
    """Keep a running service's keys current, so a rotation elsewhere is picked up within 30 s."""
    while not stop_event.wait(ACTIVE_KEY_TTL_SECONDS / 3):
        try:
            keyring.refresh_if_stale()
        except Exception as error:  # noqa: BLE001  (keep refreshing; the cause is logged)
            log.warning("key refresh failed: %s", type(error).__name__)
