"""Importing feeds into the database: counts, idempotence, updates, revocation, refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.errors import DomainError, RequestTooLarge, ValidationProblem
from hrdshield.exchange import service
from hrdshield.exchange.enums import IndicatorType, MatchKind
from hrdshield.exchange.matcher import active_values, load_matcher
from hrdshield.exchange.models import Indicator, IndicatorSource, IndicatorValueRow
from hrdshield.security import audit
from hrdshield.security.models import AuditEntry
from tests.conftest import TestDatabase
from tests.exchange.bundles import EAGLE, RCS, SUPPORTED, bundle, encode, feed, indicator
from tests.factories import SYSTEM


def _import(session: Session, data: bytes, source: str | None = None) -> dict[str, Any]:
    report = service.import_bundle(session=session, actor=SYSTEM, data=data, source_name=source)
    session.flush()
    return report.as_dict()


def _counts(report: dict[str, Any]) -> tuple[int, ...]:
    keys = ("read", "imported", "updated", "unchanged", "revoked", "skipped")
    return tuple(report[key] for key in keys)


def _skips(report: dict[str, Any]) -> dict[tuple[str, str], int]:
    return {(skip["type"], skip["reason"]): skip["count"] for skip in report["skipped_by"]}


def _stored(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Indicator)) or 0


def test_the_real_feeds_import_with_the_right_counts(session: Session) -> None:
    rcs = _import(session, feed(RCS).read_bytes())
    assert rcs["source_name"] == "RCSLab"
    assert _counts(rcs) == (40, 35, 0, 0, 0, 5)
    assert rcs["values_by_type"] == {"domain-name": 26, "file:sha-256": 9}
    assert _skips(rcs) == {("app", "object_type"): 5}

    eagle = _import(session, feed(EAGLE).read_bytes())
    assert eagle["source_name"] == "EagleMsgSpy"
    assert _counts(eagle) == (51, 51, 0, 0, 0, 0)
    assert eagle["values_by_type"] == {"domain-name": 13, "file:sha-256": 25, "ipv4-addr": 13}
    assert _stored(session) == 86

    row = session.scalar(
        select(Indicator).where(
            Indicator.stix_id == ("indicator--7c6b4d6d-a2eb-41ba-9be8-1793a9b2ed9d")
        )
    )
    assert row is not None
    assert row.malware == ["RCSLab"]
    assert row.indicator_types == ["malicious-activity"]
    assert [(value.type, value.value) for value in row.values] == [
        (IndicatorType.DOMAIN, "119-tim.info")
    ]
    assert row.stix_modified == datetime(2022, 6, 24, 13, 12, 26, 333619, tzinfo=UTC)


def test_a_synthetic_bundle_counts_imports_and_skips_by_type(session: Session) -> None:
    supported = [indicator(number, pattern) for number, (pattern, _) in enumerate(SUPPORTED, 1)]
    skipped = [
        indicator(100, "[process:name = 'spy']"),
        indicator(101, "[url:value MATCHES '^x']"),
        indicator(102, "[domain-name:value = 'a.example'] AND [url:value = 'http://b.example']"),
        indicator(103, "[domain-name:value = 'a.example'] WITHIN 60 SECONDS"),
        indicator(104, "title: x", pattern_type="sigma"),
        indicator(105, "[domain-name:value = 'a.example'"),
        indicator(106, "[domain-name:value = 'gone.example']", revoked=True),
        indicator(107, "[domain-name:value = 'both.example' OR app:id = 'com.example.spy']"),
    ]
    report = _import(session, encode(bundle(*supported, *skipped)), "synthetic")
    imported = sum(1 for _, expected in SUPPORTED if expected) + 1  # and 107's domain
    assert _counts(report) == (len(SUPPORTED) + 8, imported, 0, 0, 0, 9)
    assert report["values_by_type"] == {
        "domain-name": 4,
        "email-addr": 2,
        "file:md5": 1,
        "file:sha-1": 1,
        "file:sha-256": 2,
        "ipv4-addr": 2,
        "ipv6-addr": 1,
        "url": 1,
    }
    assert _skips(report) == {
        ("url", "invalid_value"): 1,
        ("domain-name", "invalid_value"): 1,
        ("process", "object_type"): 1,
        ("app", "object_type"): 1,
        ("url", "operator"): 1,
        ("domain-name+url", "and"): 1,
        ("domain-name", "qualifier"): 1,
        ("sigma", "pattern_type"): 1,
        ("stix", "syntax"): 1,
        ("indicator", "revoked"): 1,
    }
    stored = set(session.execute(select(IndicatorValueRow.type, IndicatorValueRow.value)).all())
    assert {expected for _, expected in SUPPORTED if expected} <= {
        (kind.value, value) for kind, value in stored
    }


def test_reimporting_the_same_bundle_changes_nothing(session: Session) -> None:
    data = feed(EAGLE).read_bytes()
    _import(session, data)
    before = {row.id: row.updated_at for row in session.scalars(select(Indicator))}
    again = _import(session, data)
    assert _counts(again) == (51, 0, 0, 51, 0, 0)
    assert again["values_by_type"] == {}
    assert {row.id: row.updated_at for row in session.scalars(select(Indicator))} == before
    source = session.scalar(select(IndicatorSource))
    assert source is not None
    assert source.imports == 2
    assert source.last_report["unchanged"] == 51


def test_a_newer_version_updates_and_an_older_one_is_ignored(session: Session) -> None:
    first = indicator(
        1, "[domain-name:value = 'old.example' OR domain-name:value = 'kept.example']"
    )
    _import(session, encode(bundle(first)), "feed")
    newer = indicator(
        1,
        "[domain-name:value = 'kept.example' OR url:value = 'https://new.example/x']",
        modified="2026-03-01T00:00:00Z",
        labels=["phishing"],
    )
    report = _import(session, encode(bundle(newer)), "feed")
    assert _counts(report) == (1, 0, 1, 0, 0, 0)
    row = session.scalar(select(Indicator))
    assert row is not None
    session.refresh(row)
    assert {(value.type.value, value.value) for value in row.values} == {
        ("domain-name", "kept.example"),
        ("url", "https://new.example/x"),
    }
    assert row.labels == ["phishing"]
    older = _import(session, encode(bundle(first)), "feed")
    assert _counts(older) == (1, 0, 0, 1, 0, 0)


def test_a_revoked_version_deactivates_for_good(session: Session) -> None:
    _import(session, encode(bundle(indicator(1, "[domain-name:value = 'evil.example']"))))
    assert load_matcher(session=session).match_text("evil.example")
    revoked = indicator(
        1, "[domain-name:value = 'evil.example']", modified="2026-02-01T00:00:00Z", revoked=True
    )
    assert _counts(_import(session, encode(bundle(revoked)))) == (1, 0, 0, 0, 1, 0)
    assert load_matcher(session=session).match_text("evil.example") == []
    again = indicator(1, "[domain-name:value = 'evil.example']", modified="2026-04-01T00:00:00Z")
    assert _counts(_import(session, encode(bundle(again)))) == (1, 0, 0, 1, 0, 0)
    assert load_matcher(session=session).match_text("evil.example") == []


def test_a_newer_version_that_cannot_be_matched_stops_the_old_values(session: Session) -> None:
    _import(session, encode(bundle(indicator(1, "[domain-name:value = 'evil.example']"))))
    newer = indicator(1, "[process:name = 'spy']", modified="2026-02-01T00:00:00Z")
    report = _import(session, encode(bundle(newer)))
    assert _counts(report) == (1, 0, 0, 0, 0, 1)
    assert _skips(report) == {("process", "object_type"): 1}
    assert load_matcher(session=session).match_text("evil.example") == []


def test_validity_windows_decide_what_the_matcher_loads(session: Session) -> None:
    _import(
        session,
        encode(
            bundle(
                indicator(1, "[domain-name:value = 'now.example']"),
                indicator(
                    2, "[domain-name:value = 'later.example']", valid_from="2027-01-01T00:00:00Z"
                ),
                indicator(
                    3, "[domain-name:value = 'over.example']", valid_until="2026-06-01T00:00:00Z"
                ),
            )
        ),
    )
    at = datetime(2026, 7, 1, tzinfo=UTC)
    assert {value for _, _, value in active_values(session=session, at=at)} == {"now.example"}
    with clock.frozen(datetime(2026, 3, 1, tzinfo=UTC)):
        hits = load_matcher(session=session).match_text("over.example and later.example")
    assert [(hit.value, hit.kind) for hit in hits] == [("over.example", MatchKind.EXACT_DOMAIN)]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"{oops", ValidationProblem),
        (b'{"type": "bundle"}', ValidationProblem),
        (
            encode(bundle(indicator(1, "[domain-name:value='a.example']", modified="soon"))),
            ValidationProblem,
        ),
        (b" " * (1024 * 1024 + 1), RequestTooLarge),
    ],
)
def test_a_refused_bundle_stores_nothing_and_audits_nothing(
    session: Session, data: bytes, error: type[DomainError]
) -> None:
    entries = session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(error):
        service.import_bundle(session=session, actor=SYSTEM, data=data, max_bytes=1024 * 1024)
    assert _stored(session) == 0
    assert session.scalar(select(func.count()).select_from(IndicatorSource)) == 0
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == entries


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "bad\nname", "tab\tname"])
def test_a_bad_source_name_is_refused(session: Session, name: str) -> None:
    with pytest.raises(ValidationProblem):
        _import(session, encode(bundle(indicator(1, "[domain-name:value='a.example']"))), name)
    assert _stored(session) == 0


def test_every_import_is_audited_and_the_chain_holds(
    session: Session, database: TestDatabase
) -> None:
    _import(session, feed(RCS).read_bytes(), "RCS Lab")
    _import(session, feed(RCS).read_bytes(), "RCS Lab")
    session.commit()
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "indicators.import")
    ).all()
    assert len(entries) == 2
    source = session.scalar(select(IndicatorSource))
    assert source is not None
    assert {entry.entity_id for entry in entries} == {source.id}
    assert '"imported":35' in entries[0].detail
    assert '"unchanged":35' in entries[1].detail
    assert audit.verify(session, database.keyring).ok


def test_sources_and_indicators_are_listed_with_their_counts(session: Session) -> None:
    _import(session, feed(RCS).read_bytes())
    _import(session, feed(EAGLE).read_bytes())
    summaries = {item.source.name: item for item in service.list_sources(session=session)}
    assert set(summaries) == {"RCSLab", "EagleMsgSpy"}
    assert summaries["EagleMsgSpy"].values_by_type == {
        "domain-name": 13,
        "file:sha-256": 25,
        "ipv4-addr": 13,
    }
    assert (summaries["RCSLab"].indicators, summaries["RCSLab"].active) == (35, 35)
    rows, total = service.list_indicators(
        session=session, indicator_type=IndicatorType.IPV4, limit=5
    )
    assert total == 13
    assert len(rows) == 5
    assert all(row.values[0].type is IndicatorType.IPV4 for row in rows)
    source_id = summaries["RCSLab"].source.id
    _, rcs_total = service.list_indicators(session=session, source_id=source_id)
    assert rcs_total == 35


def test_the_matcher_loads_from_the_database_after_an_import(session: Session) -> None:
    _import(session, feed(RCS).read_bytes())
    _import(session, feed(EAGLE).read_bytes())
    matcher = load_matcher(session=session)
    assert len(matcher) == 86
    [hit] = matcher.match_text("Your parcel: hxxps://poste-it[.]info/track")
    assert hit.value == "poste-it.info"
    assert hit.indicator_id == session.scalar(
        select(IndicatorValueRow.indicator_id).where(IndicatorValueRow.value == "poste-it.info")
    )
