"""The evidence package handed to lawyers and courts: files, hashes and the chain of custody.

One zip holds every file of a case under a neutral name, ``manifest.json`` (the hash taken at
intake next to the hash of the file in the package), ``SHA256SUMS`` for standard tools,
``custody.csv`` (every access, this export included) and ``README.txt`` saying how to check it
all. A file that cannot be produced as received is listed with the problem, never silently left
out or replaced.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.cases import service as cases
from hrdshield.cases.evidence import service
from hrdshield.cases.evidence.models import CustodyEvent, Evidence
from hrdshield.security import audit
from hrdshield.security.rbac import Principal

FORMAT = "hrdshield-evidence-package/1"
README = """\
HRD Shield evidence package
===========================

Case: {reference}
Package: {package_id}
Made at: {generated_at} (UTC)

What is in this package
-----------------------
evidence-<n>.<ext>  The evidence files, byte for byte as HRD Shield received them. They are
                    renamed so that no name chosen by the sender travels with them; the name each
                    file arrived with is in manifest.json ("original_filename").
manifest.json       One entry per item: the SHA-256 hash recorded when the file was received
                    ("sha256_at_intake"), the hash of the file in this package
                    ("sha256_in_package"), its size, type, and when and by which role it was
                    received. Items deleted under the retention policy are listed without a file.
SHA256SUMS          The same hashes in the format of the standard sha256sum tool.
custody.csv         The chain of custody: every time an item was received, viewed, revealed,
                    downloaded, exported or deleted, by which user id and role, and when. Each row
                    also appears in HRD Shield's tamper-evident audit log.

How to check the files
----------------------
The hash of every file must equal "sha256_at_intake" in manifest.json. In a folder holding the
unpacked package:

  Linux:    sha256sum -c SHA256SUMS
  macOS:    shasum -a 256 -c SHA256SUMS
  Windows:  Get-FileHash -Algorithm SHA256 evidence-1.png   (PowerShell; compare by eye)

Each line must end in "OK". A different hash means the file is not the one that was received.
HRD Shield compared the hashes when it made this package: see "all_hashes_match" in
manifest.json.
"""


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _zip_time(value: datetime) -> tuple[int, int, int, int, int, int]:
    return (max(value.year, 1980), value.month, value.day, value.hour, value.minute, value.second)


def _add(archive: zipfile.ZipFile, name: str, data: bytes, at: datetime, *, packed: bool) -> None:
    info = zipfile.ZipInfo(name, date_time=_zip_time(at))
    info.compress_type = zipfile.ZIP_STORED if packed else zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def _item(
    number: int, evidence: Evidence, data: bytes | None, problem: str | None
) -> dict[str, Any]:
    in_package = hashlib.sha256(data).hexdigest() if data is not None else None
    name = f"evidence-{number}.{evidence.content_type.extension}"
    return {
        "number": number,
        "file": name if data is not None else None,
        "evidence_id": evidence.id,
        "original_filename": evidence.filename,
        "content_type": evidence.content_type.value,
        "size": evidence.size,
        "sha256_at_intake": evidence.sha256,
        "sha256_in_package": in_package,
        "sha256_matches": in_package == evidence.sha256,
        "received_at": _when(evidence.uploaded_at),
        "received_by": evidence.uploaded_by,
        "received_by_role": evidence.uploaded_by_role,
        "deleted_at": _when(evidence.deleted_at),
        "problem": problem,
    }


def _custody_csv(events: list[CustodyEvent], files: dict[str, str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["entry", "at", "evidence_id", "file", "action", "actor_id", "actor_role", "detail"]
    )
    for event in events:
        writer.writerow(
            [
                event.id,
                _when(event.at),
                event.evidence_id,
                files.get(event.evidence_id, ""),
                event.action.value,
                event.actor_id or "",
                event.actor_role or "",
                json.dumps(event.detail, sort_keys=True),
            ]
        )
    return out.getvalue().encode("utf-8")


def _add_items(
    archive: zipfile.ZipFile,
    session: Session,
    *,
    actor: Principal,
    items: list[Evidence],
    uploads_dir: Path,
    package_id: str,
) -> list[dict[str, Any]]:
    """Write each item's file into `archive` (one in memory at a time); return manifest entries."""
    entries = []
    for number, evidence in enumerate(items, start=1):
        data, problem = None, None
        if evidence.deleted_at is None:
            try:
                data = service.read_verified(evidence, uploads_dir)
            except service.EvidenceDamaged as error:
                problem = error.detail
        entry = _item(number, evidence, data, problem)
        if data is not None:
            packed = evidence.content_type.is_image  # already compressed
            _add(archive, entry["file"], data, evidence.uploaded_at, packed=packed)
            service.record_export(session, actor=actor, evidence=evidence, package_id=package_id)
        entries.append(entry)
    return entries


def evidence_package(
    *, session: Session, actor: Principal, case_id: str, uploads_dir: Path
) -> bytes:
    """Return the zip package of a visible case's evidence, recording the export of each item."""
    case = cases.get(session=session, actor=actor, case_id=case_id)
    items = service.list_evidence(session=session, actor=actor, case_id=case.id)
    package_id = secrets.token_hex(8)
    generated_at = clock.now()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        entries = _add_items(
            archive,
            session,
            actor=actor,
            items=items,
            uploads_dir=uploads_dir,
            package_id=package_id,
        )
        files = {entry["evidence_id"]: entry["file"] for entry in entries if entry["file"]}
        audit.record(
            session,
            actor=actor,
            action="case.evidence_export",
            entity_type="case",
            entity_id=case.id,
            detail={"package": package_id, "items": len(files)},
        )
        manifest = {
            "format": FORMAT,
            "package_id": package_id,
            "case_reference": case.reference,
            "case_id": case.id,
            "generated_at": _when(generated_at),
            "generated_by": actor.user_id,
            "generated_by_role": actor.role.value if actor.role else actor.kind,
            "hash_algorithm": "sha256",
            "all_hashes_match": all(
                entry["sha256_matches"] for entry in entries if entry["deleted_at"] is None
            ),
            "items": entries,
        }
        sums = "".join(
            f"{entry['sha256_in_package']}  {entry['file']}\n" for entry in entries if entry["file"]
        )
        events = service.custody_log(session=session, actor=actor, case_id=case.id)
        for name, content in (
            ("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False).encode()),
            ("SHA256SUMS", sums.encode("ascii")),
            ("custody.csv", _custody_csv(events, files)),
            (
                "README.txt",
                README.format(
                    reference=case.reference,
                    package_id=package_id,
                    generated_at=_when(generated_at),
                ).encode(),
            ),
        ):
            _add(archive, name, content, generated_at, packed=False)
    return buffer.getvalue()
