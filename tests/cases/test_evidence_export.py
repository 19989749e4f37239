"""The evidence package: neutral names, hashes re-verified, custody log, gaps reported."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdshield.cases import service as cases
from hrdshield.cases.enums import CaseCategory
from hrdshield.cases.evidence import export, service, storage
from hrdshield.cases.evidence.enums import CustodyAction
from hrdshield.cases.evidence.models import CustodyEvent
from hrdshield.cases.models import Case
from hrdshield.cases.schemas import CaseCreate
from hrdshield.config import Settings
from hrdshield.errors import NotFound
from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Principal, Role
from tests import factories
from tests.cases.test_evidence_sniff import GIF_1X1, pdf, png, webp_lossless


def _setup(session: Session) -> tuple[Principal, Case]:
    actor = factories.principal(factories.user(session, Role.LEAD))
    case = cases.create(
        session=session,
        actor=actor,
        case_in=CaseCreate(category=CaseCategory.DOXXING, summary="Address shared"),
    )
    return actor, case


def _add(session: Session, settings: Settings, actor: Principal, case: Case, data: bytes) -> Any:
    return service.add_evidence(
        session=session,
        actor=actor,
        case_id=case.id,
        filename="..\u00e9vidence.bin",  # dots and accents are fine; only folder paths are refused
        data=data,
        declared_type=None,
        max_bytes=1024 * 1024,
        uploads_dir=settings.uploads_dir,
    )


def _package(session: Session, settings: Settings, actor: Principal, case: Case) -> Any:
    blob = export.evidence_package(
        session=session, actor=actor, case_id=case.id, uploads_dir=settings.uploads_dir
    )
    return zipfile.ZipFile(io.BytesIO(blob))


def test_every_name_in_the_package_is_neutral(session: Session, settings: Settings) -> None:
    actor, case = _setup(session)
    for data in (png(), GIF_1X1, webp_lossless(), pdf()):
        _add(session, settings, actor, case, data)

    archive = _package(session, settings, actor, case)

    assert archive.namelist() == [
        "evidence-1.png",
        "evidence-2.gif",
        "evidence-3.webp",
        "evidence-4.pdf",
        "manifest.json",
        "SHA256SUMS",
        "custody.csv",
        "README.txt",
    ]
    assert archive.testzip() is None
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["case_reference"] == case.reference
    assert manifest["format"] == export.FORMAT
    assert {item["original_filename"] for item in manifest["items"]} == {"..\u00e9vidence.bin"}


def test_deleted_and_damaged_items_are_listed_not_hidden(
    session: Session, settings: Settings
) -> None:
    actor, case = _setup(session)
    kept = _add(session, settings, actor, case, png())
    damaged = _add(session, settings, actor, case, pdf())
    deleted = _add(session, settings, actor, case, GIF_1X1)
    session.commit()
    deleted.deleted_at, deleted.filename = deleted.uploaded_at, None
    session.commit()
    path = storage.folder(settings.uploads_dir) / damaged.storage_name
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")

    archive = _package(session, settings, actor, case)
    manifest = json.loads(archive.read("manifest.json"))

    assert manifest["all_hashes_match"] is False
    by_id = {item["evidence_id"]: item for item in manifest["items"]}
    assert by_id[kept.id]["sha256_matches"] is True
    assert by_id[damaged.id]["file"] is None
    assert "damaged" in by_id[damaged.id]["problem"]
    assert by_id[damaged.id]["sha256_at_intake"] == hashlib.sha256(pdf()).hexdigest()
    assert by_id[deleted.id]["file"] is None
    assert by_id[deleted.id]["deleted_at"] is not None
    assert archive.namelist()[0] == "evidence-1.png"
    assert "evidence-2.pdf" not in archive.namelist()
    exported = session.scalars(
        select(CustodyEvent.evidence_id).where(CustodyEvent.action == CustodyAction.EXPORTED)
    ).all()
    assert exported == [kept.id]  # only what actually left the service is logged as exported


def test_the_custody_log_in_the_package_includes_this_export(
    session: Session, settings: Settings
) -> None:
    actor, case = _setup(session)
    item = _add(session, settings, actor, case, png())
    service.reveal(session=session, actor=actor, case_id=case.id, evidence_id=item.id)

    archive = _package(session, settings, actor, case)

    rows = list(csv.DictReader(io.StringIO(archive.read("custody.csv").decode())))
    assert [row["action"] for row in rows] == ["received", "revealed", "exported"]
    assert {row["file"] for row in rows} == {"evidence-1.png"}
    assert {row["actor_role"] for row in rows} == {"lead"}
    package_id = json.loads(archive.read("manifest.json"))["package_id"]
    assert json.loads(rows[-1]["detail"]) == {"package": package_id}
    exported = session.scalar(select(AuditEntry).where(AuditEntry.action == "case.evidence_export"))
    assert exported is not None
    assert exported.entity_id == case.id


def test_an_empty_case_exports_an_empty_package(session: Session, settings: Settings) -> None:
    actor, case = _setup(session)
    archive = _package(session, settings, actor, case)
    assert json.loads(archive.read("manifest.json"))["items"] == []
    assert archive.read("SHA256SUMS") == b""


def test_exporting_a_case_you_may_not_see_is_not_found(
    session: Session, settings: Settings
) -> None:
    _, case = _setup(session)
    stranger = factories.principal(factories.user(session, Role.PARTNER))
    with pytest.raises(NotFound):
        _package(session, settings, stranger, case)
