"""The staff page of indicator feeds: listing, importing by form (CSRF), refusals, roles."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from hrdshield.security.rbac import Role
from tests import factories
from tests.conftest import TestDatabase
from tests.exchange.bundles import EAGLE, RCS, feed, signed_in, stored

PAGE = "/staff/indicators"


def _signed_in(client: TestClient, database: TestDatabase, role: Role) -> None:
    signed_in(client, database, role)
    client.headers.pop("x-csrf-token")  # a browser sends the token in the form, not a header


def _form_import(
    client: TestClient, data: bytes | None, *, source: str = "", token: str | None = None
) -> Any:
    token = token if token is not None else factories.csrf_token(client, PAGE)
    files = {"file": ("feed.stix2", data, "application/octet-stream")} if data is not None else None
    return client.post(
        f"{PAGE}/import",
        data={"csrf_token": token, "source": source},
        files=files or {"file": ("", b"", "application/octet-stream")},
        follow_redirects=False,
    )


def test_a_lead_imports_a_bundle_by_form_and_sees_the_counts(
    client: TestClient, database: TestDatabase
) -> None:
    _signed_in(client, database, Role.LEAD)
    empty = client.get(PAGE)
    assert empty.status_code == 200
    assert "No indicator feed has been imported yet." in empty.text
    assert 'enctype="multipart/form-data"' in empty.text
    assert "style=" not in empty.text.lower()
    assert "<script" not in empty.text.lower()

    imported = _form_import(client, feed(RCS).read_bytes())
    assert imported.status_code == 303, imported.text
    assert imported.headers["location"].startswith(f"{PAGE}?imported=")
    page = client.get(imported.headers["location"])
    assert page.status_code == 200
    assert "Import into RCSLab" in page.text
    assert "40 indicators read: 35 new, 0 updated, 0 unchanged, 0 revoked, 5 skipped." in page.text
    assert "object type not matched by HRD Shield" in page.text
    assert '<code dir="ltr">app</code>' in page.text
    assert "35 of 35" in page.text

    again = _form_import(client, feed(EAGLE).read_bytes(), source="Eagle <feed>")
    listing = client.get(again.headers["location"]).text
    assert "Eagle &lt;feed&gt;" in listing
    assert "<feed>" not in listing
    assert stored(database) == 86


@pytest.mark.parametrize(
    ("data", "source", "status", "message"),
    [
        (None, "", 422, "choose a bundle file to import"),
        (b"not json at all", "", 422, "the bundle is not valid JSON"),
        (
            b'{"type": "bundle", "id": "bundle--00000000-0000-0000-0000-000000000001",'
            b' "objects": [{"type": "indicator", "id": "indicator--00000000-0000-0000-0000-'
            b'000000000002", "modified": "x"}]}',
            "",
            422,
            "objects[0]",
        ),
        (b"{}", "x" * 120, 422, "not a STIX bundle"),
    ],
)
def test_a_refused_bundle_shows_the_problem_and_stores_nothing(
    client: TestClient,
    database: TestDatabase,
    data: bytes | None,
    source: str,
    status: int,
    message: str,
) -> None:
    _signed_in(client, database, Role.ADMIN)
    response = _form_import(client, data, source=source)
    assert response.status_code == status
    assert "The bundle was not imported, and nothing was stored" in response.text
    assert message in response.text
    assert 'role="alert"' in response.text
    assert stored(database) == 0


def test_a_long_source_name_is_refused_on_the_page(
    client: TestClient, database: TestDatabase
) -> None:
    _signed_in(client, database, Role.ADMIN)
    response = _form_import(client, feed(RCS).read_bytes(), source="x" * 101)
    assert response.status_code == 422
    assert "at most 100 characters" in response.text
    assert stored(database) == 0


def test_the_form_needs_its_csrf_token(client: TestClient, database: TestDatabase) -> None:
    _signed_in(client, database, Role.LEAD)
    response = _form_import(client, feed(RCS).read_bytes(), token="forged")
    assert response.status_code == 403
    assert stored(database) == 0


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.AUDITOR])
def test_readers_see_the_sources_but_no_import_form(
    client: TestClient, database: TestDatabase, role: Role
) -> None:
    _signed_in(client, database, role)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert 'href="/staff/indicators"' in page.text  # in the navigation
    assert "Import a bundle" not in page.text
    assert _form_import(client, feed(RCS).read_bytes()).status_code == 403


@pytest.mark.parametrize("role", [Role.HRD, Role.PARTNER])
def test_defenders_and_partners_may_not_open_the_page(
    client: TestClient, database: TestDatabase, role: Role
) -> None:
    _signed_in(client, database, role)
    page = client.get(PAGE)
    assert page.status_code == 403
    assert 'href="/staff/indicators"' not in page.text


def test_the_page_is_translated(client: TestClient, database: TestDatabase) -> None:
    _signed_in(client, database, Role.LEAD)
    for code, heading in (("es", "Fuentes de indicadores"), ("ar", "مصادر المؤشرات")):
        page = client.get(f"{PAGE}?lang={code}")
        assert f"<h1>{heading}</h1>" in page.text
