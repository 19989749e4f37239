"""Dump the raw database and prove that no plaintext of an encrypted field is in it.

Data goes in through the public API, as in production; the dump is the SQLite file's bytes (with
its WAL) or every PostgreSQL row rendered as text, as pg_dump would write it.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from hrdshield.accounts.models import User
from hrdshield.security.rbac import Role
from tests import factories
from tests.conftest import TestDatabase

SECRETS = {
    "display_name": "Qzxv Plaintext Defender",
    "handle": "@qzxv_plaintext_handle",
    "contact": "qzxv-contact@example.test",
    "phone_typed": "+44 7700 900987",
    "address": "77 Qzxv Plaintext Street",
    "national_id": "QZXV-1234-5678",
    "private_email": "qzxv-private@example.test",
    "summary": "Qzxv plaintext case summary",
    "narrative": "Qzxv plaintext narrative about threats received",
    "user_email": "qzxv-reviewer@example.test",
}
DERIVED = ["+447700900987", "447700900987", "7700900987", "qzxv plaintext street", "qzxv12345678"]


def _populate(client: TestClient, database: TestDatabase) -> str:
    with database.session_factory() as session, session.begin():
        lead = factories.user(session, Role.LEAD)
        factories.user(session, Role.REVIEWER, email=SECRETS["user_email"])
    factories.sign_in(client, lead)
    enrolled = client.post(
        "/api/v1/defenders",
        json={
            "display_name": SECRETS["display_name"],
            "handles": [SECRETS["handle"]],
            "country": "GB",
            "languages": ["en"],
            "groups": ["lgbti", "journalist"],
            "contact_channel": "email",
            "contact_address": SECRETS["contact"],
            "identifiers": [
                {"kind": "phone", "value": SECRETS["phone_typed"]},
                {"kind": "address", "value": SECRETS["address"]},
                {"kind": "national_id", "value": SECRETS["national_id"]},
                {"kind": "email", "value": SECRETS["private_email"]},
            ],
            "consents": ["processing"],
        },
    )
    assert enrolled.status_code == 201, enrolled.text
    defender_id: str = enrolled.json()["id"]
    opened = client.post(
        "/api/v1/cases",
        json={
            "category": "threat_of_violence",
            "defender_id": defender_id,
            "summary": SECRETS["summary"],
            "narrative": SECRETS["narrative"],
        },
    )
    assert opened.status_code == 201, opened.text
    return defender_id


def _sqlite_dump(database: TestDatabase) -> bytes:
    path = Path(make_url(database.url).database or "")
    parts = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    return b"".join(part.read_bytes() for part in parts if part.exists())


def _postgres_dump(database: TestDatabase) -> bytes:
    lines = []
    with database.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            rows = connection.execute(text(f'SELECT t::text FROM "{table}" t'))  # noqa: S608
            lines.extend(row[0] for row in rows)
    return "\n".join(lines).encode()


def _dump(database: TestDatabase) -> bytes:
    return _sqlite_dump(database) if database.backend == "sqlite" else _postgres_dump(database)


def test_no_plaintext_of_encrypted_fields_in_the_raw_database(
    client: TestClient, database: TestDatabase
) -> None:
    defender_id = _populate(client, database)
    # The API returns the values decrypted, so the data really is there.
    shown = client.get(f"/api/v1/defenders/{defender_id}").json()
    assert shown["display_name"] == SECRETS["display_name"]
    assert shown["identifier_count"] == 5  # four identifiers and the handle

    dump = _dump(database).lower()
    assert b"hse1." in dump  # the encrypted values are in the dump
    assert shown["pseudonym"].lower().encode() in dump  # and the dump shows plain columns
    for name, secret in [*SECRETS.items(), *((f"derived {d}", d) for d in DERIVED)]:
        for form in {secret, secret.lower(), secret.lstrip("@")}:
            assert form.lower().encode() not in dump, f"plaintext of {name} found in the database"


def test_totp_secrets_are_encrypted_at_rest(database: TestDatabase) -> None:
    with database.session_factory() as session, session.begin():
        reviewer = factories.user(session, Role.REVIEWER)
        secret = reviewer.totp_secret
        assert secret is not None
    with database.session_factory() as session:
        assert session.get(User, reviewer.id).totp_secret == secret  # type: ignore[union-attr]
    assert secret.encode() not in _dump(database)
