"""Import indicator feeds and read them back: the only code that writes indicators.

An import is idempotent: an indicator already stored at the same or a newer ``modified`` time is
left alone, a newer version replaces it, and a revoked one stops matching (revocation is final in
STIX). Every import is one audited change of its source, whose last report is kept with it.
The caller owns the transaction; a bundle that is refused leaves nothing behind.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.errors import NotFound, ValidationProblem
from hrdshield.exchange import stix
from hrdshield.exchange.enums import IndicatorType, SkipReason
from hrdshield.exchange.models import Indicator, IndicatorSource, IndicatorValueRow
from hrdshield.security import audit
from hrdshield.security.rbac import Principal

MAX_SOURCE_NAME = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BATCH = 500


@dataclass
class ImportReport:
    """What one import did, counted per indicator, with what was skipped and why."""

    source_id: str
    source_name: str
    bundle_id: str
    sha256: str
    read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    revoked: int = 0
    skipped: int = 0
    values_by_type: Counter[str] = field(default_factory=Counter)
    skipped_by: Counter[tuple[str, SkipReason]] = field(default_factory=Counter)

    def skip(self, skips: list[stix.Skip]) -> None:
        """Count the parts of an indicator that were not imported."""
        for found in skips:
            self.skipped_by[(found.object_type, found.reason)] += 1

    def as_dict(self) -> dict[str, Any]:
        """Return the report as plain data (kept with the source, returned by the API)."""
        return {
            "source_id": self.source_id,
            "source_name": self.source_name,
            "bundle_id": self.bundle_id,
            "sha256": self.sha256,
            "read": self.read,
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "revoked": self.revoked,
            "skipped": self.skipped,
            "values_by_type": dict(sorted(self.values_by_type.items())),
            "skipped_by": [
                {
                    "type": object_type,
                    "reason": reason.value,
                    "description": reason.description,
                    "count": count,
                }
                for (object_type, reason), count in sorted(
                    self.skipped_by.items(), key=lambda item: (-item[1], item[0][0])
                )
            ],
        }


def source_name_for(requested: str | None, bundle: stix.Bundle) -> str:
    """Return the source's name: the one asked for, else the bundle's malware, else its id."""
    name = (requested or "").strip()
    if requested is not None and not name:
        raise ValidationProblem("give the source a name, or leave it out")
    if not name:
        name = ", ".join(bundle.malware_names)[:MAX_SOURCE_NAME].strip() or bundle.bundle_id
    if len(name) > MAX_SOURCE_NAME or _CONTROL.search(name):
        raise ValidationProblem(
            f"the source name must be at most {MAX_SOURCE_NAME} characters, without control "
            "characters"
        )
    return name


def import_bundle(
    *,
    session: Session,
    actor: Principal,
    data: bytes,
    source_name: str | None = None,
    max_bytes: int = stix.MAX_BUNDLE_BYTES,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a STIX 2.1 bundle's indicators into a source; return what was done."""
    bundle = stix.parse_bundle(data, max_bytes=max_bytes)
    return import_parsed(
        session=session, actor=actor, bundle=bundle, source_name=source_name, progress=progress
    )


def import_parsed(
    *,
    session: Session,
    actor: Principal,
    bundle: stix.Bundle,
    source_name: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a bundle already parsed by ``stix.parse_bundle``; return what was done."""
    name = source_name_for(source_name, bundle)
    source = session.scalar(select(IndicatorSource).where(IndicatorSource.name == name))
    if source is None:
        source = IndicatorSource(name=name, last_report={})
        session.add(source)
        session.flush()
    report = ImportReport(source.id, source.name, bundle.bundle_id, bundle.sha256)
    known = _existing(session, [indicator.stix_id for indicator in bundle.indicators])
    for indicator in bundle.indicators:
        _apply(session, source, indicator, known.get(indicator.stix_id), report)
        if progress is not None:
            progress(1)
    report.read = len(bundle.indicators)
    source.imports += 1
    source.last_import_at = clock.now()
    source.last_bundle_id = bundle.bundle_id
    source.last_sha256 = bundle.sha256
    source.last_report = report.as_dict()
    session.flush()
    summary = report.as_dict()
    audit.record(
        session,
        actor=actor,
        action="indicators.import",
        entity_type="indicator_source",
        entity_id=source.id,
        after={"source": source.name, "sha256": bundle.sha256, "imports": source.imports},
        detail={
            key: summary[key]
            for key in ("bundle_id", "read", "imported", "updated", "unchanged", "revoked")
        }
        | {"skipped": report.skipped, "sha256": bundle.sha256},
    )
    return report


def _existing(session: Session, stix_ids: list[str]) -> dict[str, Indicator]:
    found: dict[str, Indicator] = {}
    for start in range(0, len(stix_ids), _BATCH):
        chunk = stix_ids[start : start + _BATCH]
        rows = session.scalars(select(Indicator).where(Indicator.stix_id.in_(chunk)))
        found.update({row.stix_id: row for row in rows})
    return found


def _apply(
    session: Session,
    source: IndicatorSource,
    incoming: stix.StixIndicator,
    existing: Indicator | None,
    report: ImportReport,
) -> None:
    if existing is None:
        if incoming.revoked:
            report.skipped += 1
            report.skip([stix.Skip("indicator", SkipReason.REVOKED)])
        elif not incoming.values:
            report.skipped += 1
            report.skip(incoming.skips)
        else:
            row = Indicator(source_id=source.id, stix_id=incoming.stix_id)
            _copy(row, incoming)
            session.add(row)
            _set_values(row, incoming.values)
            report.imported += 1
            report.values_by_type.update(value.type.value for value in incoming.values)
            report.skip(incoming.skips)
        return
    if existing.revoked or incoming.modified <= existing.stix_modified:
        report.unchanged += 1  # the same or an older version, or revoked for good
        return
    _copy(existing, incoming)
    existing.updated_at = clock.now()
    if incoming.revoked:
        report.revoked += 1
        return
    _set_values(existing, incoming.values)
    report.skip(incoming.skips)
    if incoming.values:
        report.updated += 1
        report.values_by_type.update(value.type.value for value in incoming.values)
    else:
        report.skipped += 1  # the newer version cannot be matched: the old values stop too


def _copy(row: Indicator, incoming: stix.StixIndicator) -> None:
    row.name = incoming.name
    row.pattern = incoming.pattern
    row.labels = list(incoming.labels)
    row.indicator_types = list(incoming.indicator_types)
    row.malware = list(incoming.malware)
    row.confidence = incoming.confidence
    row.valid_from = incoming.valid_from
    row.valid_until = incoming.valid_until
    row.revoked = incoming.revoked
    row.stix_created = incoming.created
    row.stix_modified = incoming.modified


def _set_values(row: Indicator, values: list[stix.IndicatorValue]) -> None:
    wanted = {(value.type, value.value) for value in values}
    for existing in list(row.values):
        if (existing.type, existing.value) not in wanted:
            row.values.remove(existing)
    present = {(existing.type, existing.value) for existing in row.values}
    for kind, value in sorted(wanted - present, key=lambda item: (item[0].value, item[1])):
        row.values.append(IndicatorValueRow(type=kind, value=value))


@dataclass(frozen=True)
class SourceSummary:
    """A source with what it holds now."""

    source: IndicatorSource
    indicators: int
    active: int
    values_by_type: dict[str, int]


def list_sources(*, session: Session) -> list[SourceSummary]:
    """Return every source, most recently imported first, with its counts."""
    sources = session.scalars(
        select(IndicatorSource).order_by(
            IndicatorSource.last_import_at.desc(), IndicatorSource.name
        )
    ).all()
    totals = dict(
        session.execute(
            select(Indicator.source_id, func.count()).group_by(Indicator.source_id)
        ).all()
    )
    active = dict(
        session.execute(
            select(Indicator.source_id, func.count())
            .where(Indicator.revoked.is_(False))
            .group_by(Indicator.source_id)
        ).all()
    )
    by_type: dict[str, dict[str, int]] = {}
    rows = session.execute(
        select(Indicator.source_id, IndicatorValueRow.type, func.count())
        .join(IndicatorValueRow, IndicatorValueRow.indicator_id == Indicator.id)
        .where(Indicator.revoked.is_(False))
        .group_by(Indicator.source_id, IndicatorValueRow.type)
    ).all()
    for source_id, kind, count in rows:
        by_type.setdefault(source_id, {})[kind.value] = count
    return [
        SourceSummary(
            source=source,
            indicators=totals.get(source.id, 0),
            active=active.get(source.id, 0),
            values_by_type=dict(sorted(by_type.get(source.id, {}).items())),
        )
        for source in sources
    ]


def get_source(*, session: Session, source_id: str) -> IndicatorSource:
    """Return one source or raise NotFound."""
    source = session.get(IndicatorSource, source_id)
    if source is None:
        raise NotFound("indicator source not found")
    return source


def list_indicators(
    *,
    session: Session,
    offset: int = 0,
    limit: int = 50,
    indicator_type: IndicatorType | None = None,
    source_id: str | None = None,
) -> tuple[list[Indicator], int]:
    """Return a page of indicators (newest first) and how many match the filters."""
    query = select(Indicator)
    if source_id is not None:
        query = query.where(Indicator.source_id == source_id)
    if indicator_type is not None:
        query = query.where(
            Indicator.id.in_(
                select(IndicatorValueRow.indicator_id).where(
                    IndicatorValueRow.type == indicator_type
                )
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(Indicator.stix_modified.desc(), Indicator.id).offset(offset).limit(limit)
    ).all()
    return list(rows), total
