"""Evidence pages: images hidden until revealed (no JavaScript, no inline style), form uploads."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrdshield.accounts.models import User
from hrdshield.cases.evidence import preview, storage
from hrdshield.cases.evidence.enums import CustodyAction
from hrdshield.cases.evidence.models import CustodyEvent, Evidence
from hrdshield.config import Settings
from hrdshield.security.rbac import Role
from tests import factories
from tests.cases.test_evidence_api import wire
from tests.cases.test_evidence_sniff import pdf, png, png_bomb
from tests.conftest import TestDatabase


@pytest.fixture(autouse=True)
def _evidence_routes(app: FastAPI) -> None:
    wire(app)


def _sign_in(client: TestClient, session: Session, user: User) -> None:
    session.commit()
    client.cookies.clear()
    factories.sign_in(client, user)


@pytest.fixture
def case_id(client: TestClient, session: Session) -> str:
    _sign_in(client, session, factories.user(session, Role.REVIEWER))
    response = client.post("/api/v1/cases", json={"category": "doxxing", "summary": "Address"})
    assert response.status_code == 201, response.text
    found: str = response.json()["id"]
    return found


def _form_upload(client: TestClient, case_id: str, data: bytes, name: str) -> Any:
    """Upload as a browser does: the CSRF token in the form, not in a header."""
    path = f"/staff/cases/{case_id}/evidence"
    token = factories.csrf_token(client, path)
    header = client.headers.pop("x-csrf-token")
    try:
        return client.post(
            path,
            data={"csrf_token": token},
            files={"file": (name, data, "application/octet-stream")},
            follow_redirects=False,
        )
    finally:
        client.headers["x-csrf-token"] = header


def _assert_strict_page(html: str) -> None:
    assert "style=" not in html.lower()
    assert "<script" not in html.lower()


def _only_item(database: TestDatabase) -> Evidence:
    with database.session_factory() as fresh:
        [item] = fresh.scalars(select(Evidence)).all()
        return item


def test_an_uploaded_image_is_listed_blurred_with_its_hash(
    client: TestClient, case_id: str, database: TestDatabase
) -> None:
    empty = client.get(f"/staff/cases/{case_id}/evidence")
    assert empty.status_code == 200
    assert 'enctype="multipart/form-data"' in empty.text
    assert 'name="csrf_token"' in empty.text
    _assert_strict_page(empty.text)

    added = _form_upload(client, case_id, png(32, 16), "threat-screenshot.png")

    assert added.status_code == 303, added.text
    assert added.headers["location"] == f"/staff/cases/{case_id}/evidence?added=1"
    item = _only_item(database)
    page = client.get(added.headers["location"])
    assert page.status_code == 200
    _assert_strict_page(page.text)
    assert "threat-screenshot.png" in page.text
    assert item.sha256 in page.text
    # only a blurred preview until the reviewer chooses to see the image
    assert re.findall(r'<img [^>]*src="([^"]+)"', page.text) == [
        f"/staff/cases/{case_id}/evidence/{item.id}/preview"
    ]
    assert f"/evidence/{item.id}/reveal" in page.text
    assert 'name="csrf_token"' in page.text


def test_an_image_is_shown_only_after_the_reviewer_reveals_it(
    client: TestClient, case_id: str, database: TestDatabase
) -> None:
    _form_upload(client, case_id, png(1280, 640), "photo.png")
    item = _only_item(database)
    file_path = f"/staff/cases/{case_id}/evidence/{item.id}/file"

    hidden = client.get(file_path)
    assert hidden.status_code == 403
    assert hidden.headers["content-type"].startswith("text/html")

    revealed = client.post(f"/staff/cases/{case_id}/evidence/{item.id}/reveal")
    assert revealed.status_code == 200
    _assert_strict_page(revealed.text)
    image = re.search(r"<img [^>]*>", revealed.text)
    assert image is not None
    assert f'src="{file_path}"' in image.group(0)
    assert 'width="640" height="320"' in image.group(0)  # fitted without any inline style

    shown = client.get(file_path)
    assert shown.status_code == 200
    assert shown.content == png(1280, 640)
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["content-disposition"].startswith("inline;")
    assert shown.headers["x-content-type-options"] == "nosniff"
    assert shown.headers["content-security-policy"].startswith("default-src 'none'")

    saved = client.get(file_path, params={"download": "true"})
    assert saved.headers["content-disposition"].startswith("attachment;")
    with database.session_factory() as fresh:
        actions = fresh.scalars(
            select(CustodyEvent.action.label("a")).order_by(CustodyEvent.id)
        ).all()
    assert [action.value for action in actions] == [
        "received",
        "revealed",
        "viewed",
        "downloaded",
    ]


def test_documents_and_text_are_always_downloaded(
    client: TestClient, case_id: str, database: TestDatabase
) -> None:
    _form_upload(client, case_id, pdf(), "letter.pdf")
    item = _only_item(database)
    page = client.get(f"/staff/cases/{case_id}/evidence")
    assert f"/evidence/{item.id}/reveal" not in page.text

    response = client.get(f"/staff/cases/{case_id}/evidence/{item.id}/file")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith("attachment;")
    assert client.post(f"/staff/cases/{case_id}/evidence/{item.id}/reveal").status_code == 422


@pytest.mark.parametrize(
    ("data", "name", "status", "message"),
    [
        (png_bomb(), "bomb.png", 422, "decompression bomb"),
        (b"\x00\x01\x02\x03binary", "blob.bin", 415, "none of them"),
        (b"fine", "../../etc/passwd", 422, "folder path"),
        (b"", "empty.txt", 422, "empty"),
    ],
    ids=["bomb", "binary", "traversal", "empty"],
)
def test_a_refused_upload_shows_the_problem_and_stores_nothing(
    client: TestClient,
    case_id: str,
    database: TestDatabase,
    settings: Settings,
    data: bytes,
    name: str,
    status: int,
    message: str,
) -> None:
    response = _form_upload(client, case_id, data, name)

    assert response.status_code == status, response.text
    assert message in response.text
    assert 'role="alert"' in response.text
    with database.session_factory() as fresh:
        assert fresh.scalar(select(func.count(Evidence.id))) == 0
        assert fresh.scalar(select(func.count(CustodyEvent.id))) == 0
    folder = storage.folder(settings.uploads_dir)
    assert not folder.exists() or list(folder.iterdir()) == []


def test_a_form_without_a_file_is_refused(client: TestClient, case_id: str) -> None:
    path = f"/staff/cases/{case_id}/evidence"
    response = client.post(path, data={"csrf_token": factories.csrf_token(client, path)})
    assert response.status_code == 422
    assert "choose a file" in response.text


def test_a_form_without_the_csrf_token_is_refused(
    client: TestClient, case_id: str, database: TestDatabase
) -> None:
    client.headers.pop("x-csrf-token")
    response = client.post(
        f"/staff/cases/{case_id}/evidence", files={"file": ("a.png", png(), "image/png")}
    )
    assert response.status_code == 403
    with database.session_factory() as fresh:
        assert fresh.scalar(select(func.count(Evidence.id))) == 0


def test_the_package_can_be_downloaded_from_the_page(client: TestClient, case_id: str) -> None:
    _form_upload(client, case_id, png(), "a.png")
    page = client.get(f"/staff/cases/{case_id}/evidence")
    assert f"/staff/cases/{case_id}/evidence/export" in page.text

    response = client.get(f"/staff/cases/{case_id}/evidence/export")

    assert response.status_code == 200
    assert response.content.startswith(b"PK")


def test_strangers_and_signed_out_visitors_see_nothing(
    client: TestClient, session: Session, case_id: str
) -> None:
    _form_upload(client, case_id, png(), "a.png")
    _sign_in(client, session, factories.user(session, Role.PARTNER))

    assert client.get(f"/staff/cases/{case_id}/evidence").status_code == 404
    assert _form_upload(client, case_id, png(), "b.png").status_code == 404
    client.cookies.clear()
    signed_out = client.get(f"/staff/cases/{case_id}/evidence", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/login")


def _checkerboard(width: int = 400, height: int = 200, square: int = 10) -> bytes:
    """Return a sharp black-and-white checkerboard PNG: any blur shows in its pixels."""
    board = Image.new("L", (width, height))
    board.putdata(
        [255 * (((x // square) + (y // square)) % 2) for y in range(height) for x in range(width)]
    )
    output = io.BytesIO()
    board.save(output, format="PNG")
    return output.getvalue()


def test_the_preview_is_small_strongly_blurred_and_never_stored(
    client: TestClient, case_id: str, database: TestDatabase, settings: Settings
) -> None:
    _form_upload(client, case_id, _checkerboard(), "board.png")
    item = _only_item(database)
    sealed_before = sorted(storage.folder(settings.uploads_dir).iterdir())

    response = client.get(f"/staff/cases/{case_id}/evidence/{item.id}/preview")

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    with Image.open(io.BytesIO(response.content)) as shown:
        assert shown.size == (preview.EDGE, preview.EDGE // 2)
        levels = list(shown.convert("L").tobytes())
    # the original is only black and white; blurred, every pixel is a middling grey
    assert all(60 < level < 195 for level in levels), (min(levels), max(levels))
    assert sorted(storage.folder(settings.uploads_dir).iterdir()) == sealed_before
    with database.session_factory() as fresh:
        views = fresh.scalars(
            select(CustodyEvent).where(CustodyEvent.action == CustodyAction.VIEWED)
        ).all()
    assert [view.detail for view in views] == [{"rendition": "blurred_preview"}]


def test_a_decompression_bomb_is_refused_by_the_decoder() -> None:
    with pytest.raises(preview.PreviewRefused, match="too many pixels"):
        preview.blurred(png_bomb())


def test_an_image_over_the_decoder_limit_gets_no_preview_and_a_clear_refusal(
    client: TestClient,
    case_id: str,
    database: TestDatabase,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _form_upload(client, case_id, png(64, 64), "large.png")
    item = _only_item(database)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 4,096 pixels is now "too many"

    page = client.get(f"/staff/cases/{case_id}/evidence")
    refused = client.get(f"/staff/cases/{case_id}/evidence/{item.id}/preview?lang=es")

    assert "<img" not in page.text
    assert "No preview: this image is too large to decode safely." in page.text
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("text/html")
    assert "too many pixels" not in refused.text  # said in the reader's language
    with database.session_factory() as fresh:
        actions = fresh.scalars(select(CustodyEvent.action)).all()
    assert actions == [CustodyAction.RECEIVED]  # a refused preview showed nothing


def test_documents_have_no_preview(
    client: TestClient, case_id: str, database: TestDatabase
) -> None:
    _form_upload(client, case_id, pdf(), "letter.pdf")
    item = _only_item(database)
    assert client.get(f"/staff/cases/{case_id}/evidence/{item.id}/preview").status_code == 422
