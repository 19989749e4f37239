"""Receiving evidence, opening it with a chain of custody, and deleting it under retention.

Every item keeps the SHA-256 of the bytes as they arrived; every time somebody opens, reveals,
downloads or exports it, a custody row and an audit entry are written in the same transaction,
so an access is never served without its trace. The file is sealed on disk and the name it was
sent with is encrypted in the database. Nothing here logs file contents or names.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.cases import service as cases
from hrdshield.cases.evidence import preview, storage
from hrdshield.cases.evidence.enums import CustodyAction
from hrdshield.cases.evidence.models import CustodyEvent, Evidence
from hrdshield.cases.evidence.sniff import sniff
from hrdshield.cases.models import Case
from hrdshield.db import new_id
from hrdshield.errors import (
    N_,
    DomainError,
    Forbidden,
    NotFound,
    RequestTooLarge,
    ValidationProblem,
)
from hrdshield.security import audit
from hrdshield.security.crypto import DecryptionError, current_keyring, decrypt_blob, encrypt_blob
from hrdshield.security.rbac import Principal

MAX_FILENAME_CHARACTERS = 255
REVEAL_WINDOW = timedelta(minutes=15)  # how long a reveal lets the same person see the image
# Characters that reorder or hide text: a name like "photo\u202egnp.exe" reads as "photoexe.png".
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Zl", "Zp"})
_STATE_CHANGES = frozenset({CustodyAction.RECEIVED, CustodyAction.DELETED})
_GONE = N_("this file was deleted under the retention policy; its record remains")


class EvidenceGone(DomainError):
    """The item's file was deleted (retention); its record and hash remain."""

    status = 410
    title = "Gone"


class EvidenceDamaged(DomainError):
    """The stored file is missing or does not match what was received; never bad input."""

    status = 500
    title = "Internal error"


def megabytes(size: int) -> str:
    """Return a size in mebibytes as people read it: 26214400 gives "25"."""
    return f"{size / (1024 * 1024):.3g}"


def check_filename(filename: str | None) -> str:
    """Return the file name as it will be kept (encrypted), or refuse a hostile or empty one."""
    name = unicodedata.normalize("NFC", filename or "").strip()
    if not name:
        raise ValidationProblem(N_("the file has no name"))
    if len(name) > MAX_FILENAME_CHARACTERS:
        raise ValidationProblem(
            N_("the file name is over %(most)s characters"), most=MAX_FILENAME_CHARACTERS
        )
    if "/" in name or "\\" in name or name in {".", ".."}:
        raise ValidationProblem(N_("the file name must not contain a folder path"))
    if any(
        character in _BIDI_CONTROLS or unicodedata.category(character) in _REFUSED_CATEGORIES
        for character in name
    ):
        raise ValidationProblem(
            N_("the file name contains control or text-direction characters; rename the file")
        )
    return name


def file_context(evidence_id: str) -> str:
    """Return the encryption context that binds a sealed file to its row."""
    return f"evidence:{evidence_id}"


def snapshot(evidence: Evidence) -> dict[str, object]:
    """Return the audited state of an item (its name is digested with the rest, never shown)."""
    return {
        "id": evidence.id,
        "case_id": evidence.case_id,
        "sha256": evidence.sha256,
        "size": evidence.size,
        "content_type": evidence.content_type.value,
        "filename": evidence.filename,
        "deleted_at": evidence.deleted_at.isoformat() if evidence.deleted_at else None,
    }


def _custody(
    session: Session,
    *,
    actor: Principal,
    evidence: Evidence,
    action: CustodyAction,
    detail: dict[str, Any] | None = None,
    before: dict[str, object] | None = None,
) -> CustodyEvent:
    """Add a custody row and the matching audit entry; `detail` must hold no personal data."""
    detail = detail or {}
    event = CustodyEvent(
        evidence_id=evidence.id,
        action=action,
        actor_id=actor.user_id,
        actor_role=actor.role.value if actor.role else actor.kind,
        at=clock.now(),
        detail=detail,
    )
    session.add(event)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"evidence.{action.value}",
        entity_type="evidence",
        entity_id=evidence.id,
        before=before,
        after=snapshot(evidence) if action in _STATE_CHANGES else None,
        detail={"case_id": evidence.case_id, "custody": event.id, **detail},
    )
    return event


def add_evidence(
    *,
    session: Session,
    actor: Principal,
    case_id: str,
    filename: str | None,
    data: bytes,
    declared_type: str | None,
    max_bytes: int,
    uploads_dir: Path,
) -> Evidence:
    """Check, hash, seal and store one file for a case the actor may see; record its receipt."""
    case = cases.get(session=session, actor=actor, case_id=case_id)
    return receive(
        session=session,
        actor=actor,
        case=case,
        upload=EvidenceFile(filename, data, declared_type),
        max_bytes=max_bytes,
        uploads_dir=uploads_dir,
    )


@dataclass(frozen=True)
class EvidenceFile:
    """A file as it arrived with a form or request, before any check; its bytes stay in memory."""

    filename: str | None
    data: bytes = field(repr=False)
    declared_type: str | None = None


def receive(
    *,
    session: Session,
    actor: Principal,
    case: Case,
    upload: EvidenceFile,
    max_bytes: int,
    uploads_dir: Path,
) -> Evidence:
    """Check, hash, seal and store one file for `case`, which the caller has just opened or got.

    The caller has decided that `actor` may add to the case (a reporter sending their own
    report's files, or `add_evidence` after its visibility check).
    """
    name, data, declared_type = check_filename(upload.filename), upload.data, upload.declared_type
    if not data:
        raise ValidationProblem(N_("the file is empty"))
    if len(data) > max_bytes:
        raise RequestTooLarge(
            N_("the file is larger than the %(limit)s-byte limit"), limit=f"{max_bytes:,}"
        )
    sniffed = sniff(data)
    evidence = Evidence(
        id=new_id(),
        case_id=case.id,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        content_type=sniffed.media_type,
        width=sniffed.width,
        height=sniffed.height,
        filename=name,
        storage_name=storage.new_name(),
        uploaded_by=actor.user_id,
        uploaded_by_role=actor.role.value if actor.role else actor.kind,
        uploaded_at=clock.now(),
    )
    blob = encrypt_blob(current_keyring(), data, file_context(evidence.id))
    storage.remove_on_rollback(session, uploads_dir, evidence.storage_name)
    storage.write(uploads_dir, evidence.storage_name, blob)
    session.add(evidence)
    session.flush()
    declared = (declared_type or "").split(";", 1)[0].strip().lower()
    _custody(
        session,
        actor=actor,
        evidence=evidence,
        action=CustodyAction.RECEIVED,
        detail={
            "sha256": evidence.sha256,
            "size": evidence.size,
            "content_type": evidence.content_type.value,
            "declared_type_matched": declared == evidence.content_type.value,
        },
    )
    return evidence


def list_evidence(*, session: Session, actor: Principal, case_id: str) -> list[Evidence]:
    """Return a visible case's evidence in the order it was received."""
    case = cases.get(session=session, actor=actor, case_id=case_id)
    return list(
        session.scalars(
            select(Evidence)
            .where(Evidence.case_id == case.id)
            .order_by(Evidence.uploaded_at, Evidence.id)
        )
    )


def get_evidence(*, session: Session, actor: Principal, case_id: str, evidence_id: str) -> Evidence:
    """Return one item of a case the actor may see, or NotFound."""
    case = cases.get(session=session, actor=actor, case_id=case_id)
    evidence = session.scalar(
        select(Evidence).where(Evidence.id == evidence_id, Evidence.case_id == case.id)
    )
    if evidence is None:
        raise NotFound(N_("evidence not found"))
    return evidence


def custody_log(
    *, session: Session, actor: Principal, case_id: str, evidence_id: str | None = None
) -> list[CustodyEvent]:
    """Return the chain of custody of one item, or of every item of a visible case, in order."""
    case = cases.get(session=session, actor=actor, case_id=case_id)
    query = (
        select(CustodyEvent)
        .join(Evidence, Evidence.id == CustodyEvent.evidence_id)
        .where(Evidence.case_id == case.id)
    )
    if evidence_id is not None:
        get_evidence(session=session, actor=actor, case_id=case.id, evidence_id=evidence_id)
        query = query.where(Evidence.id == evidence_id)
    return list(session.scalars(query.order_by(CustodyEvent.id)))


def read_verified(evidence: Evidence, uploads_dir: Path) -> bytes:
    """Return the item's original bytes, checked against the hash taken when it arrived."""
    if evidence.deleted_at is not None:
        raise EvidenceGone(_GONE)
    try:
        blob = storage.read(uploads_dir, evidence.storage_name)
        data = decrypt_blob(current_keyring(), blob, file_context(evidence.id))
    except (storage.StoredFileMissing, DecryptionError) as error:
        raise EvidenceDamaged(N_("the stored file is missing or damaged; report this")) from error
    if hashlib.sha256(data).hexdigest() != evidence.sha256:
        raise EvidenceDamaged(N_("the stored file no longer matches the hash taken at intake"))
    return data


def _download(session: Session, actor: Principal, evidence: Evidence, uploads_dir: Path) -> bytes:
    data = read_verified(evidence, uploads_dir)
    _custody(session, actor=actor, evidence=evidence, action=CustodyAction.DOWNLOADED)
    return data


def _view(session: Session, actor: Principal, evidence: Evidence, uploads_dir: Path) -> bytes:
    revealed = session.scalar(
        select(CustodyEvent.id).where(
            CustodyEvent.evidence_id == evidence.id,
            CustodyEvent.action == CustodyAction.REVEALED,
            CustodyEvent.actor_id == actor.user_id,
            CustodyEvent.at >= clock.now() - REVEAL_WINDOW,
        )
    )
    if revealed is None:
        raise Forbidden(N_("this image is hidden; choose to reveal it first"))
    data = read_verified(evidence, uploads_dir)
    _custody(session, actor=actor, evidence=evidence, action=CustodyAction.VIEWED)
    return data


def blurred_preview(
    *, session: Session, actor: Principal, case_id: str, evidence_id: str, uploads_dir: Path
) -> bytes:
    """Return a blurred preview of an image (made in memory), recording the view."""
    evidence = get_evidence(session=session, actor=actor, case_id=case_id, evidence_id=evidence_id)
    if not evidence.content_type.is_image:
        raise ValidationProblem(N_("only images have a preview; download other files instead"))
    shrunk = preview.blurred(read_verified(evidence, uploads_dir))
    _custody(
        session,
        actor=actor,
        evidence=evidence,
        action=CustodyAction.VIEWED,
        detail={"rendition": "blurred_preview"},
    )
    return shrunk


def download(
    *, session: Session, actor: Principal, case_id: str, evidence_id: str, uploads_dir: Path
) -> tuple[Evidence, bytes]:
    """Return an item's bytes to save as a file, recording the download."""
    evidence = get_evidence(session=session, actor=actor, case_id=case_id, evidence_id=evidence_id)
    return evidence, _download(session, actor, evidence, uploads_dir)


def open_file(
    *,
    session: Session,
    actor: Principal,
    case_id: str,
    evidence_id: str,
    uploads_dir: Path,
    inline: bool,
) -> tuple[Evidence, bytes, bool]:
    """Return an item's bytes and whether to show them in the page, recording the access.

    Only images are ever shown in the page, and only to the person who revealed them within
    the last few minutes; everything else is downloaded as an attachment.
    """
    evidence = get_evidence(session=session, actor=actor, case_id=case_id, evidence_id=evidence_id)
    if inline and evidence.content_type.is_image:
        return evidence, _view(session, actor, evidence, uploads_dir), True
    return evidence, _download(session, actor, evidence, uploads_dir), False


def reveal(*, session: Session, actor: Principal, case_id: str, evidence_id: str) -> Evidence:
    """Record that a reviewer chose to see a hidden image; it may then be viewed for a while."""
    evidence = get_evidence(session=session, actor=actor, case_id=case_id, evidence_id=evidence_id)
    if not evidence.content_type.is_image:
        raise ValidationProblem(N_("only images are hidden; download other files instead"))
    if evidence.deleted_at is not None:
        raise EvidenceGone(_GONE)
    _custody(session, actor=actor, evidence=evidence, action=CustodyAction.REVEALED)
    return evidence


def record_export(
    session: Session, *, actor: Principal, evidence: Evidence, package_id: str
) -> None:
    """Record that an item left the service inside export package `package_id`."""
    _custody(
        session,
        actor=actor,
        evidence=evidence,
        action=CustodyAction.EXPORTED,
        detail={"package": package_id},
    )


def delete_case_files(
    *,
    session: Session,
    case_id: str,
    uploads_dir: Path,
    actor: Principal | None = None,
) -> int:
    """Delete a case's evidence files (retention), keeping each record and hash; return how many.

    The files go once the caller commits; the rows go with the case row (ON DELETE CASCADE).
    """
    actor = actor or Principal.system("retention")
    items = session.scalars(
        select(Evidence).where(Evidence.case_id == case_id, Evidence.deleted_at.is_(None))
    ).all()
    for evidence in items:
        before = snapshot(evidence)
        evidence.deleted_at, evidence.filename = clock.now(), None
        _custody(
            session, actor=actor, evidence=evidence, action=CustodyAction.DELETED, before=before
        )
        storage.remove_after_commit(session, uploads_dir, evidence.storage_name)
    return len(items)
