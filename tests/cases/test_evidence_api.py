"""Evidence JSON API: upload, list with hashes, download, custody, export, scoping and bad input."""

from __future__ import annotations

import hashlib
import io
import json
import tempfile
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrdshield.accounts.models import User
from hrdshield.app import create_app
from hrdshield.cases.evidence import api, pages, storage
from hrdshield.cases.evidence.models import CustodyEvent, Evidence
from hrdshield.config import Settings
from hrdshield.security.rbac import Role
from tests import factories
from tests.cases.test_evidence_sniff import jpeg, pdf, png, png_bomb
from tests.conftest import TestDatabase
from tests.factories import problem as _problem


def wire(app: FastAPI) -> FastAPI:
    """Include the evidence routers, as app.py will once the app owner wires them in."""
    if not any(
        getattr(route, "path", "") == "/api/v1/cases/{case_id}/evidence" for route in app.routes
    ):
        app.include_router(api.router, prefix="/api/v1")
        app.include_router(pages.router)
    return app


@pytest.fixture(autouse=True)
def _evidence_routes(app: FastAPI) -> None:
    wire(app)


def _sign_in(client: TestClient, session: Session, user: User) -> None:
    session.commit()
    client.cookies.clear()
    factories.sign_in(client, user)


def _open_case(client: TestClient, **body: Any) -> str:
    response = client.post(
        "/api/v1/cases", json={"category": "harassment", "summary": "Pile-on", **body}
    )
    assert response.status_code == 201, response.text
    case_id: str = response.json()["id"]
    return case_id


def _upload(
    client: TestClient, case_id: str, data: bytes, name: str = "shot.png", kind: str = "image/png"
) -> Any:
    return client.post(f"/api/v1/cases/{case_id}/evidence", files={"file": (name, data, kind)})


def _nothing_stored(database: TestDatabase, settings: Settings) -> None:
    with database.session_factory() as fresh:
        assert fresh.scalar(select(func.count(Evidence.id))) == 0
    folder = storage.folder(settings.uploads_dir)
    assert not folder.exists() or list(folder.iterdir()) == []


@pytest.fixture
def reviewer_client(client: TestClient, session: Session) -> TestClient:
    _sign_in(client, session, factories.user(session, Role.REVIEWER))
    return client


def test_upload_list_download_and_custody(
    reviewer_client: TestClient, database: TestDatabase
) -> None:
    client = reviewer_client
    case_id = _open_case(client)

    created = _upload(client, case_id, png(), "report.pdf", "application/pdf")

    assert created.status_code == 201, created.text
    item = created.json()
    assert item["content_type"] == "image/png"  # from the bytes, not the name or declared type
    assert item["sha256"] == hashlib.sha256(png()).hexdigest()
    assert item["filename"] == "report.pdf"
    assert item["size"] == len(png())
    listed = client.get(f"/api/v1/cases/{case_id}/evidence")
    assert listed.status_code == 200
    assert [(row["id"], row["sha256"]) for row in listed.json()] == [(item["id"], item["sha256"])]

    downloaded = client.get(f"/api/v1/cases/{case_id}/evidence/{item['id']}/file")

    assert downloaded.status_code == 200
    assert downloaded.content == png()
    assert downloaded.headers["content-type"] == "image/png"
    assert downloaded.headers["content-disposition"].startswith("attachment;")
    assert "report" not in downloaded.headers["content-disposition"]
    assert downloaded.headers["x-content-type-options"] == "nosniff"
    assert downloaded.headers["content-security-policy"].startswith("default-src 'none'")
    custody = client.get(f"/api/v1/cases/{case_id}/evidence/{item['id']}/custody").json()
    assert [row["action"] for row in custody] == ["received", "downloaded"]
    assert client.get(f"/api/v1/cases/{case_id}/evidence/{'0' * 32}/custody").status_code == 404


def test_text_is_served_as_inert_plain_text(reviewer_client: TestClient) -> None:
    case_id = _open_case(reviewer_client)
    page = b"<html><script>alert(1)</script></html>"
    item = _upload(reviewer_client, case_id, page, "chat.html", "text/html").json()

    response = reviewer_client.get(f"/api/v1/cases/{case_id}/evidence/{item['id']}/file")

    assert response.content == page
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["content-disposition"].endswith('.txt"')


def test_export_package_verifies_hashes_and_carries_the_custody_log(
    reviewer_client: TestClient, database: TestDatabase
) -> None:
    client = reviewer_client
    case_id = _open_case(client)
    files = [png(), jpeg(), pdf(), b"Threat received\n"]
    ids = [_upload(client, case_id, data, f"item{n}").json()["id"] for n, data in enumerate(files)]

    response = client.get(f"/api/v1/cases/{case_id}/evidence/export")

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith("attachment;")
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["all_hashes_match"] is True
    assert [entry["evidence_id"] for entry in manifest["items"]] == ids
    names = ["evidence-1.png", "evidence-2.jpg", "evidence-3.pdf", "evidence-4.txt"]
    assert [entry["file"] for entry in manifest["items"]] == names
    for entry, data in zip(manifest["items"], files, strict=True):
        assert archive.read(entry["file"]) == data
        assert entry["sha256_at_intake"] == entry["sha256_in_package"]
        assert entry["sha256_at_intake"] == hashlib.sha256(data).hexdigest()
        assert entry["received_by_role"] == "reviewer"
    sums = archive.read("SHA256SUMS").decode().splitlines()
    assert sums == [
        f"{hashlib.sha256(d).hexdigest()}  {n}" for d, n in zip(files, names, strict=True)
    ]
    custody = archive.read("custody.csv").decode().splitlines()
    assert custody[0].startswith("entry,at,evidence_id,file,action")
    assert sum(",exported," in line for line in custody) == 4
    assert sum(",received," in line for line in custody) == 4
    assert "sha256sum -c SHA256SUMS" in archive.read("README.txt").decode()
    with database.session_factory() as fresh:
        exported = fresh.scalars(
            select(CustodyEvent.evidence_id).where(CustodyEvent.action == "exported")
        ).all()
    assert sorted(exported) == sorted(ids)


def test_partners_see_their_cases_evidence_and_nobody_else_does(
    client: TestClient, session: Session, database: TestDatabase, settings: Settings
) -> None:
    partner = factories.user(session, Role.PARTNER)
    stranger = factories.user(session, Role.PARTNER)
    _sign_in(client, session, partner)
    case_id = _open_case(client)
    item = _upload(client, case_id, png()).json()

    _sign_in(client, session, stranger)
    base = f"/api/v1/cases/{case_id}/evidence"
    for path in (
        base,
        f"{base}/{item['id']}/file",
        f"{base}/export",
        f"{base}/{item['id']}/custody",
    ):
        _problem(client.get(path), 404)
    _problem(_upload(client, case_id, jpeg()), 404)

    with database.session_factory() as fresh:
        assert fresh.scalar(select(func.count(Evidence.id))) == 1
        assert [e.action.value for e in fresh.scalars(select(CustodyEvent))] == ["received"]


def test_an_hrd_adds_evidence_to_their_own_case(client: TestClient, session: Session) -> None:
    user = factories.user(session, Role.HRD)
    factories.defender(session, factories.principal(user))
    _sign_in(client, session, user)
    case_id = _open_case(client)

    assert _upload(client, case_id, png()).status_code == 201


def test_roles_without_case_access_are_refused(client: TestClient, session: Session) -> None:
    _sign_in(client, session, factories.user(session, Role.AUDITOR))
    _problem(client.get(f"/api/v1/cases/{'0' * 32}/evidence"), 403)
    _problem(_upload(client, "0" * 32, png()), 403)
    client.cookies.clear()
    _problem(client.get(f"/api/v1/cases/{'0' * 32}/evidence"), 401)


@pytest.mark.parametrize(
    ("data", "name", "status"),
    [
        (b"", "empty.txt", 422),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 40, "tool", 415),
        (png_bomb(), "bomb.png", 422),
        (pdf(b"<< /S /Launch /F (cmd.exe) >>"), "letter.pdf", 422),
        (b"fine text", "../../etc/passwd", 422),
        (b"fine text", "invoice\u202egnp.exe", 422),
    ],
    ids=["empty", "elf", "bomb", "launch-pdf", "traversal", "rtl-override"],
)
def test_bad_uploads_are_refused_and_leave_nothing(
    reviewer_client: TestClient,
    database: TestDatabase,
    settings: Settings,
    data: bytes,
    name: str,
    status: int,
) -> None:
    case_id = _open_case(reviewer_client)

    _problem(_upload(reviewer_client, case_id, data, name), status)

    _nothing_stored(database, settings)


def _raw_multipart(filename: bytes, data: bytes) -> tuple[bytes, str]:
    boundary = "evidence-boundary-1234"
    body = (
        f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="'
        + filename
        + b'"\r\nContent-Type: text/plain\r\n\r\n'
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def test_a_raw_nul_in_the_file_name_is_refused(
    reviewer_client: TestClient, database: TestDatabase, settings: Settings
) -> None:
    case_id = _open_case(reviewer_client)
    body, content_type = _raw_multipart(b"note\x00.txt", b"fine text")

    response = reviewer_client.post(
        f"/api/v1/cases/{case_id}/evidence",
        content=body,
        headers={"content-type": content_type},
    )

    assert _problem(response, 422)["detail"].startswith("the file name")
    _nothing_stored(database, settings)


def test_missing_file_field_and_unknown_ids(reviewer_client: TestClient) -> None:
    case_id = _open_case(reviewer_client)
    _problem(reviewer_client.post(f"/api/v1/cases/{case_id}/evidence", json={}), 422)
    _problem(_upload(reviewer_client, "0" * 32, png()), 404)
    _problem(reviewer_client.get(f"/api/v1/cases/{case_id}/evidence/{'0' * 32}/file"), 404)
    _problem(reviewer_client.get(f"/api/v1/cases/{'0' * 32}/evidence/export"), 404)


@pytest.fixture
def small_limit_client(settings: Settings, database: TestDatabase) -> Iterator[TestClient]:
    small = settings.model_copy(update={"max_upload_bytes": 2048})
    with TestClient(wire(create_app(small, engine=database.engine))) as client:
        yield client


def test_files_over_the_upload_limit_are_refused(
    small_limit_client: TestClient, session: Session, database: TestDatabase, settings: Settings
) -> None:
    _sign_in(small_limit_client, session, factories.user(session, Role.REVIEWER))
    case_id = _open_case(small_limit_client)

    body = _problem(_upload(small_limit_client, case_id, b"a" * 2049, "long.txt"), 413)

    assert "2,048" in body["detail"]
    _nothing_stored(database, settings)
    assert _upload(small_limit_client, case_id, b"a" * 2048, "fits.txt").status_code == 201


def test_requests_over_the_form_limit_are_refused_at_the_edge(
    reviewer_client: TestClient, database: TestDatabase, settings: Settings
) -> None:
    case_id = _open_case(reviewer_client)
    too_big = b"a" * (settings.max_form_bytes + 1)

    _problem(_upload(reviewer_client, case_id, too_big, "huge.txt"), 413)

    _nothing_stored(database, settings)


def test_a_file_larger_than_the_request_limit_but_within_the_upload_limit_is_kept(
    reviewer_client: TestClient,
    database: TestDatabase,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The upload limit is the one that applies to files (it used to be cut to the request limit),
    # and the parser holds the file in memory: no plaintext temporary file is ever created.
    assert settings.max_request_bytes < settings.max_upload_bytes
    spooled_to_disk: list[object] = []

    def no_temporary_file(*args: object, **kwargs: object) -> object:
        spooled_to_disk.append(args)
        raise AssertionError("an upload was spooled to a plaintext temporary file")

    monkeypatch.setattr(tempfile, "TemporaryFile", no_temporary_file)
    case_id = _open_case(reviewer_client)
    data = b"synthetic evidence line\n" * ((settings.max_request_bytes + 4096) // 24)

    response = _upload(reviewer_client, case_id, data, "long-log.txt")

    assert response.status_code == 201, response.text
    assert response.json()["size"] == len(data) > settings.max_request_bytes
    assert spooled_to_disk == []


def test_every_evidence_route_declares_its_permission(app: FastAPI) -> None:
    from fastapi.routing import APIRoute  # noqa: PLC0415

    from hrdshield.web.deps import required_permission  # noqa: PLC0415

    routes = [*api.router.routes, *pages.router.routes]
    assert len(routes) == 11
    for route in routes:
        assert isinstance(route, APIRoute)
        declared = {
            required_permission(dependency.call)
            for dependency in route.dependant.dependencies
            if required_permission(dependency.call) is not None
        }
        assert len(declared) == 1, route.path
