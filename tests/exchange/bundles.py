"""Test input for indicator feeds: the real public bundles, and synthetic bundles built here.

The real bundles live in ``shared/data/ioc`` beside the checkout (the project's shared data);
a test that needs them fails, saying where it looked, when they are missing. Synthetic values
are on reserved names only (``.example``, ``example.com``, ``.test``) and documentation
addresses (198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hrdshield.exchange.models import Indicator
from hrdshield.security.rbac import Role
from tests import factories
from tests.conftest import TestDatabase

ROOT = Path(__file__).resolve().parents[2]
FEED_DIRS = (
    ROOT.parent / "shared" / "data" / "ioc",
    ROOT.parent.parent / "shared" / "data" / "ioc",
)
RCS = "rcs.stix2"
EAGLE = "eaglemsgspy.stix2"
STAMP = "2026-01-10T08:00:00.000Z"


def feed(name: str) -> Path:
    """Return the path of a real bundle, or fail saying where it was looked for."""
    for folder in FEED_DIRS:
        if (folder / name).is_file():
            return folder / name
    pytest.fail(f"{name} not found in {', '.join(map(str, FEED_DIRS))}", pytrace=False)


def stix_id(kind: str, number: int) -> str:
    """Return a stable STIX id for synthetic object `number` of type `kind`."""
    return f"{kind}--{uuid.UUID(int=number)}"


def indicator(number: int, pattern: str, **properties: Any) -> dict[str, Any]:
    """Return a synthetic indicator object."""
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": stix_id("indicator", number),
        "created": STAMP,
        "modified": STAMP,
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        **properties,
    }


def bundle(*objects: dict[str, Any], malware: str | None = "Test Spyware") -> dict[str, Any]:
    """Return a bundle of `objects`, each indicator linked to one malware object."""
    items = list(objects)
    if malware is not None:
        malware_id = stix_id("malware", 1)
        items.insert(
            0,
            {
                "type": "malware",
                "spec_version": "2.1",
                "id": malware_id,
                "created": STAMP,
                "modified": STAMP,
                "name": malware,
                "is_family": True,
            },
        )
        for position, item in enumerate(objects):
            if item.get("type") == "indicator":
                items.append(
                    {
                        "type": "relationship",
                        "spec_version": "2.1",
                        "id": stix_id("relationship", 1000 + position),
                        "created": STAMP,
                        "modified": STAMP,
                        "relationship_type": "indicates",
                        "source_ref": item["id"],
                        "target_ref": malware_id,
                    }
                )
    return {"type": "bundle", "id": stix_id("bundle", 1), "objects": items}


def encode(document: Any) -> bytes:
    """Return a document as the bytes of a bundle file."""
    return json.dumps(document).encode()


# Every pattern kind the importer takes, with what it should store (type, canonical value).
SUPPORTED = [
    ("[domain-name:value = 'Evil.Example.']", ("domain-name", "evil.example")),
    ("[domain-name:value = '*.wild.example']", ("domain-name", "wild.example")),
    ("[domain-name:value = 'пример.example']", ("domain-name", "xn--e1afmkfd.example")),
    ("[url:value = 'HTTPS://Phish.Example:443/Login/']", ("url", "https://phish.example/Login")),
    ("[url:value = 'http://kit.example/a b']", None),  # refused: spaces (counted as skipped)
    ("[ipv4-addr:value = '198.51.100.23']", ("ipv4-addr", "198.51.100.23")),
    ("[ipv4-addr:value = '203.0.113.0/24']", ("ipv4-addr", "203.0.113.0/24")),
    ("[ipv6-addr:value = '2001:DB8:0:0::7']", ("ipv6-addr", "2001:db8::7")),
    ("[email-addr:value = 'Boss@Corp.Example']", ("email-addr", "boss@corp.example")),
    ("[email-message:from_ref.value = 'hr@mail.example']", ("email-addr", "hr@mail.example")),
    ("[file:hashes.'SHA-256' = '" + "A" * 64 + "']", ("file:sha-256", "a" * 64)),
    ("[file:hashes.sha256 = '" + "b" * 64 + "']", ("file:sha-256", "b" * 64)),
    ("[file:hashes.'SHA-1' = '" + "c" * 40 + "']", ("file:sha-1", "c" * 40)),
    ("[file:hashes.MD5 = '" + "d" * 32 + "']", ("file:md5", "d" * 32)),
    ("[domain-name:value = 'it\\'s.example']", None),  # escaped quote, refused: not a host name
]


def signed_in(client: TestClient, database: TestDatabase, role: Role) -> None:
    """Sign a new user of `role` in on `client` (its CSRF token set as a header)."""
    with database.session_factory() as session, session.begin():
        user = factories.user(session, role)
    client.cookies.clear()
    factories.sign_in(client, user)


def stored(database: TestDatabase) -> int:
    """Return how many indicators the database holds."""
    with database.session_factory() as session:
        return session.scalar(select(func.count()).select_from(Indicator)) or 0
