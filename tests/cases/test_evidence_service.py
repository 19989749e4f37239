"""Evidence service: intake checks, sealing at rest, chain of custody, file lifetime, retention."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.cases import service as cases
from hrdshield.cases.enums import CaseCategory
from hrdshield.cases.evidence import service, storage
from hrdshield.cases.evidence.enums import CustodyAction, MediaType
from hrdshield.cases.evidence.models import CustodyEvent, Evidence
from hrdshield.cases.models import Case
from hrdshield.cases.schemas import CaseCreate
from hrdshield.config import Settings
from hrdshield.errors import DomainError, Forbidden, NotFound, ValidationProblem
from hrdshield.security import audit
from hrdshield.security.crypto import (
    DecryptionError,
    decrypt_blob,
    encrypt_blob,
    rotate_field_key,
)
from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Principal, Role
from tests import factories
from tests.cases.test_evidence_sniff import GIF_1X1, jpeg, pdf, png, png_bomb
from tests.conftest import TestDatabase

CANARY_TEXT = "Qxcanary threat text: we know where you sleep"
CANARY_NAME = "qxcanary-home-of-defender.txt"
LIMIT = 64 * 1024


def _reviewer(session: Session) -> Principal:
    return factories.principal(factories.user(session, Role.REVIEWER))


def _case(session: Session, actor: Principal) -> Case:
    return cases.create(
        session=session,
        actor=actor,
        case_in=CaseCreate(category=CaseCategory.HARASSMENT, summary="Pile-on after an article"),
    )


def _add(
    session: Session,
    settings: Settings,
    actor: Principal,
    case_id: str,
    data: bytes,
    filename: str | None = "screenshot.png",
    **overrides: Any,
) -> Evidence:
    values: dict[str, Any] = {
        "session": session,
        "actor": actor,
        "case_id": case_id,
        "filename": filename,
        "data": data,
        "declared_type": None,
        "max_bytes": LIMIT,
        "uploads_dir": settings.uploads_dir,
    }
    values.update(overrides)
    return service.add_evidence(**values)


def _stored_files(settings: Settings) -> list[Path]:
    folder = storage.folder(settings.uploads_dir)
    return sorted(folder.iterdir()) if folder.exists() else []


def _raw_database(database: TestDatabase) -> bytes:
    if database.backend == "sqlite":
        path = Path(make_url(database.url).database or "")
        parts = [path, Path(f"{path}-wal")]
        return b"".join(part.read_bytes() for part in parts if part.exists())
    lines = []
    with database.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            rows = connection.execute(text(f'SELECT t::text FROM "{table}" t'))  # noqa: S608
            lines.extend(row[0] for row in rows)
    return "\n".join(lines).encode()


def _actions(session: Session, evidence_id: str) -> list[CustodyAction]:
    return list(
        session.scalars(
            select(CustodyEvent.action)
            .where(CustodyEvent.evidence_id == evidence_id)
            .order_by(CustodyEvent.id)
        )
    )


# --- intake -------------------------------------------------------------------------------------


def test_intake_hashes_seals_and_records_receipt(
    session: Session, settings: Settings, database: TestDatabase
) -> None:
    actor = _reviewer(session)
    case = _case(session, actor)
    data = CANARY_TEXT.encode()

    evidence = _add(
        session, settings, actor, case.id, data, CANARY_NAME, declared_type="text/plain"
    )
    session.commit()

    assert evidence.sha256 == hashlib.sha256(data).hexdigest()
    assert (evidence.size, evidence.content_type) == (len(data), MediaType.TEXT)
    assert evidence.filename == CANARY_NAME
    assert evidence.storage_name != CANARY_NAME
    assert "qxcanary" not in evidence.storage_name
    [stored] = _stored_files(settings)
    assert stored.name == evidence.storage_name
    sealed = stored.read_bytes()
    assert b"qxcanary" not in sealed.lower()
    assert data not in sealed
    assert stored.stat().st_mode & 0o077 == 0  # only the service's user may read it
    raw = _raw_database(database).lower()
    assert evidence.sha256.encode() in raw  # the dump does show the plain columns
    assert b"qxcanary" not in raw
    assert [e.action for e in session.scalars(select(CustodyEvent))] == [CustodyAction.RECEIVED]
    receipt = session.scalar(select(AuditEntry).where(AuditEntry.action == "evidence.received"))
    assert receipt is not None
    assert receipt.entity_id == evidence.id
    assert "qxcanary" not in receipt.detail.lower()
    assert audit.verify(session, database.keyring).ok


def test_the_type_comes_from_the_bytes_not_the_name_or_declared_type(
    session: Session, settings: Settings
) -> None:
    actor = _reviewer(session)
    case = _case(session, actor)

    evidence = _add(
        session, settings, actor, case.id, png(), "statement.pdf", declared_type="application/pdf"
    )

    assert evidence.content_type is MediaType.PNG
    assert (evidence.width, evidence.height) == (4, 3)
    receipt = session.scalar(select(CustodyEvent).where(CustodyEvent.evidence_id == evidence.id))
    assert receipt is not None
    assert receipt.detail["declared_type_matched"] is False


@pytest.mark.parametrize(
    ("data", "filename", "status"),
    [
        (b"", "empty.txt", 422),
        (b"x" * (LIMIT + 1), "big.txt", 413),
        (b"MZ\x90\x00" + b"\x00" * 60, "tool.exe", 415),
        (png_bomb(), "bomb.png", 422),
        (pdf(b"<< /S /JavaScript /JS (x) >>"), "active.pdf", 422),
        ("reçu".encode("latin-1"), "latin1.txt", 422),
        (b"fine", "../../etc/passwd", 422),
        (b"fine", "C:\\Users\\hrd\\photo.png", 422),
        (b"fine", "..", 422),
        (b"fine", "name\x00.png", 422),
        (b"fine", "invoice\u202egnp.exe", 422),
        (b"fine", "line\nbreak.txt", 422),
        (b"fine", "x" * 256, 422),
        (b"fine", "", 422),
        (b"fine", None, 422),
    ],
    ids=[
        "empty",
        "too-big",
        "unsupported",
        "bomb",
        "active-pdf",
        "not-utf8",
        "traversal",
        "windows-path",
        "dot-dot",
        "nul",
        "rtl-override",
        "newline",
        "long-name",
        "blank-name",
        "no-name",
    ],
)
def test_refused_files_leave_nothing_behind(
    session: Session, settings: Settings, data: bytes, filename: str | None, status: int
) -> None:
    actor = _reviewer(session)
    case = _case(session, actor)

    with pytest.raises(DomainError) as refused:
        _add(session, settings, actor, case.id, data, filename)

    assert refused.value.status == status
    assert refused.value.detail
    session.commit()
    assert session.scalar(select(func.count(Evidence.id))) == 0
    assert _stored_files(settings) == []


def test_names_in_any_script_are_kept_as_sent(session: Session, settings: Settings) -> None:
    actor = _reviewer(session)
    case = _case(session, actor)
    name = "لقطة شاشة تهديد.png"  # Arabic, right to left, with no direction-override character

    assert _add(session, settings, actor, case.id, png(), name).filename == name
    persian = "\u062a\u0635\u0648\u06cc\u0631\u200c\u0647\u0627.png"  # Persian needs ZWNJ
    assert _add(session, settings, actor, case.id, png(), persian).filename == persian


def test_other_partners_cannot_see_or_add_evidence(session: Session, settings: Settings) -> None:
    owner = factories.principal(factories.user(session, Role.PARTNER))
    case = _case(session, owner)
    evidence = _add(session, settings, owner, case.id, png())
    stranger = factories.principal(factories.user(session, Role.PARTNER))

    for attempt in (
        lambda: _add(session, settings, stranger, case.id, png()),
        lambda: service.list_evidence(session=session, actor=stranger, case_id=case.id),
        lambda: service.download(
            session=session,
            actor=stranger,
            case_id=case.id,
            evidence_id=evidence.id,
            uploads_dir=settings.uploads_dir,
        ),
        lambda: service.reveal(
            session=session, actor=stranger, case_id=case.id, evidence_id=evidence.id
        ),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert len(_stored_files(settings)) == 1
    assert _actions(session, evidence.id) == [CustodyAction.RECEIVED]


def test_an_item_is_only_found_through_its_own_case(session: Session, settings: Settings) -> None:
    actor = _reviewer(session)
    first, second = _case(session, actor), _case(session, actor)
    evidence = _add(session, settings, actor, first.id, png())

    with pytest.raises(NotFound):
        service.get_evidence(
            session=session, actor=actor, case_id=second.id, evidence_id=evidence.id
        )


# --- access and custody -------------------------------------------------------------------------


def test_every_access_leaves_a_custody_row_and_an_audit_entry(
    session: Session, settings: Settings, database: TestDatabase
) -> None:
    actor = _reviewer(session)
    case = _case(session, actor)
    image = _add(session, settings, actor, case.id, png(), "photo.png")
    ids = {"session": session, "actor": actor, "case_id": case.id, "evidence_id": image.id}

    with pytest.raises(Forbidden):  # hidden until revealed
        service.open_file(**ids, uploads_dir=settings.uploads_dir, inline=True)
    service.reveal(**ids)
    _, shown, inline = service.open_file(**ids, uploads_dir=settings.uploads_dir, inline=True)
    _, saved = service.download(**ids, uploads_dir=settings.uploads_dir)
    session.commit()

    assert inline
    assert shown == saved == png()
    assert _actions(session, image.id) == [
        CustodyAction.RECEIVED,
        CustodyAction.REVEALED,
        CustodyAction.VIEWED,
        CustodyAction.DOWNLOADED,
    ]
    audited = session.scalars(
        select(AuditEntry.action).where(AuditEntry.entity_id == image.id).order_by(AuditEntry.seq)
    ).all()
    assert audited == [
        "evidence.received",
        "evidence.revealed",
        "evidence.viewed",
        "evidence.downloaded",
    ]
    rows = session.scalars(select(CustodyEvent).where(CustodyEvent.evidence_id == image.id)).all()
    assert {(row.actor_id, row.actor_role) for row in rows} == {(actor.user_id, "reviewer")}
    assert audit.verify(session, database.keyring).ok


def test_a_reveal_lets_only_its_author_see_the_image_and_only_for_a_while(
    session: Session, settings: Settings
) -> None:
    actor, colleague = _reviewer(session), _reviewer(session)
    case = _case(session, actor)
    image = _add(session, settings, actor, case.id, GIF_1X1, "frame.gif")

    with clock.frozen(datetime(2026, 11, 23, 12, 0, tzinfo=UTC)):
        service.reveal(session=session, actor=actor, case_id=case.id, evidence_id=image.id)
        for who in (colleague,):
            with pytest.raises(Forbidden):
                service.open_file(
                    session=session,
                    actor=who,
                    case_id=case.id,
                    evidence_id=image.id,
                    uploads_dir=settings.uploads_dir,
                    inline=True,
                )
        clock.advance(minutes=service.REVEAL_WINDOW.total_seconds() / 60 + 1)
        with pytest.raises(Forbidden):
            service.open_file(
                session=session,
                actor=actor,
                case_id=case.id,
                evidence_id=image.id,
                uploads_dir=settings.uploads_dir,
                inline=True,
            )


def test_only_images_are_hidden_and_other_files_are_always_downloads(
    session: Session, settings: Settings
) -> None:
    actor = _reviewer(session)
    case = _case(session, actor)
    document = _add(session, settings, actor, case.id, pdf(), "letter.pdf")
    ids = {"session": session, "actor": actor, "case_id": case.id, "evidence_id": document.id}

    with pytest.raises(ValidationProblem):
        service.reveal(**ids)
    _, data, inline = service.open_file(**ids, uploads_dir=settings.uploads_dir, inline=True)

    assert not inline
    assert data == pdf()
    assert _actions(session, document.id)[-1] is CustodyAction.DOWNLOADED


def test_a_tampered_file_is_never_served(session: Session, settings: Settings) -> None:
    actor = _reviewer(session)
    case = _case(session, actor)
    first = _add(session, settings, actor, case.id, jpeg(), "a.jpg")
    second = _add(session, settings, actor, case.id, png(), "b.png")
    session.commit()
    first_path = storage.folder(settings.uploads_dir) / first.storage_name
    second_path = storage.folder(settings.uploads_dir) / second.storage_name
    ids = {"session": session, "actor": actor, "case_id": case.id}

    # Swapping sealed files between rows is caught: each file is bound to its own row.
    first_blob, second_blob = first_path.read_bytes(), second_path.read_bytes()
    first_path.write_bytes(second_blob)
    with pytest.raises(service.EvidenceDamaged) as damaged:
        service.download(**ids, evidence_id=first.id, uploads_dir=settings.uploads_dir)
    assert damaged.value.status == 500
    # A flipped bit is caught by the authenticated encryption.
    first_path.write_bytes(first_blob[:-1] + bytes([first_blob[-1] ^ 1]))
    with pytest.raises(service.EvidenceDamaged):
        service.download(**ids, evidence_id=first.id, uploads_dir=settings.uploads_dir)
    # A hash changed in the database no longer matches the file.
    first_path.write_bytes(first_blob)
    first.sha256 = "0" * 64
    with pytest.raises(service.EvidenceDamaged, match="hash"):
        service.download(**ids, evidence_id=first.id, uploads_dir=settings.uploads_dir)
    # A missing file is reported, not answered with something else.
    second_path.unlink()
    with pytest.raises(service.EvidenceDamaged, match="missing"):
        service.download(**ids, evidence_id=second.id, uploads_dir=settings.uploads_dir)


# --- file lifetime follows the transaction ------------------------------------------------------


def test_a_rolled_back_intake_removes_its_file(session: Session, settings: Settings) -> None:
    actor = _reviewer(session)
    case = _case(session, actor)
    session.commit()

    _add(session, settings, actor, case.id, png())
    assert len(_stored_files(settings)) == 1
    session.rollback()

    assert _stored_files(settings) == []
    assert session.scalar(select(func.count(Evidence.id))) == 0


def test_a_failed_transaction_after_intake_removes_the_file(
    session: Session, settings: Settings
) -> None:
    actor = _reviewer(session)
    case = _case(session, actor)
    session.commit()
    kept = _add(session, settings, actor, case.id, png())
    session.commit()

    _add(session, settings, actor, case.id, jpeg())
    session.add(Evidence(**{**_columns(kept), "id": "f" * 32}))  # same storage name: must fail
    with pytest.raises(Exception, match=r"(?i)unique|duplicate"):
        session.flush()
    session.rollback()

    assert [path.name for path in _stored_files(settings)] == [kept.storage_name]


def _columns(evidence: Evidence) -> dict[str, Any]:
    return {column.key: getattr(evidence, column.key) for column in inspect(Evidence).columns}


def test_savepoints_decide_the_fate_of_files_they_wrote(
    session: Session, settings: Settings
) -> None:
    actor = _reviewer(session)
    case = _case(session, actor)
    session.commit()

    def fail_after_intake() -> None:
        with session.begin_nested():
            _add(session, settings, actor, case.id, png())
            raise ValidationProblem("a later step failed")

    with pytest.raises(ValidationProblem):
        fail_after_intake()
    assert _stored_files(settings) == []

    with session.begin_nested():
        released = _add(session, settings, actor, case.id, png())
    with pytest.raises(ValidationProblem), session.begin_nested():
        raise ValidationProblem("an unrelated savepoint failed")
    session.commit()
    assert [path.name for path in _stored_files(settings)] == [released.storage_name]

    with session.begin_nested():
        _add(session, settings, actor, case.id, jpeg())
    session.rollback()  # the savepoint was released, but the transaction around it failed
    assert [path.name for path in _stored_files(settings)] == [released.storage_name]


def test_sweep_removes_only_old_files_no_live_row_refers_to(
    session: Session, settings: Settings
) -> None:
    actor = _reviewer(session)
    case = _case(session, actor)
    live = _add(session, settings, actor, case.id, png())
    retired_case = _case(session, actor)
    retired = _add(session, settings, actor, retired_case.id, jpeg())
    session.commit()
    uploads = settings.uploads_dir
    orphan, young_orphan = storage.new_name(), storage.new_name()
    storage.write(uploads, orphan, b"sealed bytes of a crashed intake")
    storage.write(uploads, young_orphan, b"sealed bytes of an intake still in flight")
    partial = storage.folder(uploads) / ".partial-0123456789abcdef"
    partial.write_bytes(b"half a file")
    foreign = storage.folder(uploads) / "README"
    foreign.write_text("not ours")
    retired.deleted_at = clock.now()  # deleted under retention, but the file is still there
    session.commit()
    hour_ago = time.time() - 3700
    for name in (orphan, live.storage_name, retired.storage_name, partial.name, foreign.name):
        os.utime(storage.folder(uploads) / name, (hour_ago, hour_ago))

    removed = storage.sweep_orphans(session, uploads)

    assert removed == 3
    assert {path.name for path in _stored_files(settings)} == {
        live.storage_name,
        young_orphan,
        foreign.name,
    }
    assert storage.sweep_orphans(session, uploads, older_than=timedelta(0)) == 1
    assert storage.sweep_orphans(session, settings.data_dir / "nowhere") == 0


def test_storage_names_cannot_point_outside_the_folder(settings: Settings) -> None:
    for name in ("../keys/master.key", "/etc/passwd", "a" * 32 + ".sealed/../../x"):
        with pytest.raises(ValueError, match="storage name"):
            storage.read(settings.uploads_dir, name)


# --- retention ----------------------------------------------------------------------------------


def test_deleting_case_files_removes_them_after_commit_and_keeps_the_record(
    session: Session, settings: Settings
) -> None:
    actor = _reviewer(session)
    case = _case(session, actor)
    kept_case = _case(session, actor)
    first = _add(session, settings, actor, case.id, png(), "first.png")
    _add(session, settings, actor, case.id, pdf(), "second.pdf")
    other = _add(session, settings, actor, kept_case.id, jpeg())
    session.commit()

    assert (
        service.delete_case_files(
            session=session, case_id=case.id, uploads_dir=settings.uploads_dir
        )
        == 2
    )
    assert len(_stored_files(settings)) == 3  # nothing goes before the deletion commits
    session.rollback()
    assert len(_stored_files(settings)) == 3  # and nothing goes if it does not
    assert first.deleted_at is None

    service.delete_case_files(session=session, case_id=case.id, uploads_dir=settings.uploads_dir)
    session.commit()

    assert [path.name for path in _stored_files(settings)] == [other.storage_name]
    session.refresh(first)
    assert first.deleted_at is not None
    assert first.filename is None
    assert first.sha256 == hashlib.sha256(png()).hexdigest()
    assert _actions(session, first.id)[-1] is CustodyAction.DELETED
    with pytest.raises(service.EvidenceGone) as gone:
        service.download(
            session=session,
            actor=actor,
            case_id=case.id,
            evidence_id=first.id,
            uploads_dir=settings.uploads_dir,
        )
    assert gone.value.status == 410
    assert "evidence.deleted" in session.scalars(select(AuditEntry.action)).all()


def test_deleting_the_case_row_cascades_to_evidence_and_custody(
    session: Session, settings: Settings
) -> None:
    actor = _reviewer(session)
    case = _case(session, actor)
    evidence = _add(session, settings, actor, case.id, png())
    service.reveal(session=session, actor=actor, case_id=case.id, evidence_id=evidence.id)
    session.commit()

    service.delete_case_files(session=session, case_id=case.id, uploads_dir=settings.uploads_dir)
    session.execute(delete(Case).where(Case.id == case.id))
    session.commit()

    session.expunge_all()
    assert session.scalar(select(func.count(Evidence.id))) == 0
    assert session.scalar(select(func.count(CustodyEvent.id))) == 0
    assert _stored_files(settings) == []


# --- sealed files -------------------------------------------------------------------------------


def test_sealed_files_name_their_key_and_open_after_rotation(database: TestDatabase) -> None:
    keyring = database.keyring
    blob = encrypt_blob(keyring, b"evidence bytes", "evidence:abc")
    old_key = blob[5 : 5 + blob[4]].decode()

    assert blob.startswith(b"HSB1")
    assert old_key in keyring._keys
    with pytest.raises(DecryptionError):
        decrypt_blob(keyring, blob, "evidence:other")
    with pytest.raises(DecryptionError):
        decrypt_blob(keyring, b"not sealed", "evidence:abc")
    rotate_field_key(keyring, settle_seconds=0)
    fresh = encrypt_blob(keyring, b"evidence bytes", "evidence:abc")

    assert fresh[5 : 5 + fresh[4]].decode() != old_key
    assert decrypt_blob(keyring, blob, "evidence:abc") == b"evidence bytes"
    assert decrypt_blob(keyring, fresh, "evidence:abc") == b"evidence bytes"


def test_missing_case_is_not_found(session: Session, settings: Settings) -> None:
    with pytest.raises(NotFound):
        _add(session, settings, _reviewer(session), "0" * 32, png())
    assert _stored_files(settings) == []
