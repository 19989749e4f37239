"""Retention: closed cases and their evidence expire, after a warning, unless a legal hold applies.

A case closed at T expires at T + `retention_days`. The defender is warned through the
notification outbox `warning_days` before the case goes, and a case is never deleted sooner than
`warning_days` after that warning, so a task that was stopped for a while warns late and deletes
late, never without notice. A legal hold keeps the case until the hold ends or is released;
setting or releasing one re-arms the warning, since the date the defender was given changed.

Expiry deletes one case per transaction: the evidence files are marked deleted and scheduled for
removal, then the case row is deleted (the database cascades to the timeline, links, messages,
notifications, evidence and custody rows), the audit entry is written, and the transaction
commits. Only after the commit are the files unlinked, so a row never points at a missing file:
a failed transaction keeps rows and files; a crash or an unlink failure after the commit leaves
ciphertext files with no row, which the next round's orphan sweep removes. Nothing here logs a
case's content, a hold's reason or a defender's address.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, or_, select
from sqlalchemy.orm import Session, sessionmaker

from hrdshield import clock
from hrdshield.cases import service as cases
from hrdshield.cases.enums import CaseStatus
from hrdshield.cases.evidence import service as evidence
from hrdshield.cases.evidence import storage
from hrdshield.cases.evidence.models import Evidence
from hrdshield.cases.models import Case
from hrdshield.cases.retention_models import CaseRetention
from hrdshield.defenders.models import Defender
from hrdshield.errors import Conflict, DomainError, NotFound, ValidationProblem
from hrdshield.notify import service as notifications
from hrdshield.notify.enums import TemplateKey
from hrdshield.security import audit
from hrdshield.security.rbac import Principal

log = logging.getLogger("hrdshield.cases.retention")

RETENTION = Principal.system("retention")
CLOSED_STATUSES = (CaseStatus.CLOSED, CaseStatus.DUPLICATE)
MAX_HOLD_REASON = 2_000
MAX_HOLD = timedelta(days=10 * 366)
_BATCH = 200


@dataclass(frozen=True)
class RetentionPolicy:
    """How long closed cases are kept and how long before expiry the defender is warned."""

    retention_days: int = 90
    warning_days: int = 14

    def __post_init__(self) -> None:
        if self.retention_days < 1:
            raise ValueError("retention_days must be at least 1")
        if not 0 <= self.warning_days <= self.retention_days:
            raise ValueError("warning_days must be between 0 and retention_days")

    @property
    def retention(self) -> timedelta:
        """Return how long a closed case is kept."""
        return timedelta(days=self.retention_days)

    @property
    def warning(self) -> timedelta:
        """Return how long before expiry the defender is warned."""
        return timedelta(days=self.warning_days)


@dataclass
class RetentionReport:
    """What one retention round did; ids only, never content."""

    scheduled: list[str] = field(default_factory=list)  # closed cases found with no expiry date
    warned: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    files_deleted: int = 0
    files_left: int = 0  # unlink failed after commit: orphans for the sweep
    orphans_swept: int = 0
    failed: list[str] = field(default_factory=list)  # cases whose transaction failed; retried


def snapshot(retention: CaseRetention) -> dict[str, object]:
    """Return the audited state of a case's retention (the reason is digested, never shown)."""
    return {
        "case_id": retention.case_id,
        "expires_at": _iso(retention.expires_at),
        "legal_hold_until": _iso(retention.legal_hold_until),
        "legal_hold_reason": retention.legal_hold_reason,
        "warned_at": _iso(retention.warned_at),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def get(*, session: Session, case_id: str) -> CaseRetention | None:
    """Return a case's retention row, if it has one."""
    return session.get(CaseRetention, case_id)


def deletion_date(retention: CaseRetention) -> datetime | None:
    """Return when the case is due to go, holds included (None: not scheduled).

    The round also waits `warning_days` after the warning, so a late warning delays this.
    """
    if retention.expires_at is None:
        return None
    moment = retention.expires_at
    if retention.legal_hold_until is not None:
        moment = max(moment, retention.legal_hold_until)
    return moment


def schedule(*, session: Session, case_id: str, policy: RetentionPolicy) -> CaseRetention:
    """Set a closed case to expire `retention_days` after it was closed (call when closing)."""
    closed = session.get(Case, case_id)
    if closed is None:
        raise NotFound("case not found")
    if closed.status not in CLOSED_STATUSES or closed.closed_at is None:
        raise Conflict("only a closed case has an expiry date")
    retention = session.get(CaseRetention, case_id)
    before = snapshot(retention) if retention is not None else None
    if retention is None:
        retention = CaseRetention(case_id=case_id)
        session.add(retention)
    retention.expires_at = closed.closed_at + policy.retention
    retention.warned_at = None
    retention.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor=RETENTION,
        action="case.retention_schedule",
        entity_type="case",
        entity_id=case_id,
        before=before,
        after=snapshot(retention),
        detail={"expires_at": _iso(retention.expires_at)},
    )
    return retention


def cancel(*, session: Session, case_id: str) -> None:
    """Stop a reopened case from expiring; a legal hold on it stays in force."""
    retention = session.get(CaseRetention, case_id)
    if retention is None or retention.expires_at is None:
        return
    before = snapshot(retention)
    if retention.legal_hold_until is None:
        session.delete(retention)
        after = None
    else:
        retention.expires_at, retention.warned_at = None, None
        retention.updated_at = clock.now()
        after = snapshot(retention)
    session.flush()
    audit.record(
        session,
        actor=RETENTION,
        action="case.retention_cancel",
        entity_type="case",
        entity_id=case_id,
        before=before,
        after=after,
    )


def set_legal_hold(
    *, session: Session, actor: Principal, case_id: str, until: datetime, reason: str
) -> CaseRetention:
    """Keep a case and its evidence at least until `until`, whatever its expiry date."""
    held = cases.get(session=session, actor=actor, case_id=case_id)
    reason = reason.strip()
    if not reason or len(reason) > MAX_HOLD_REASON:
        raise ValidationProblem(f"a legal hold needs a reason of 1 to {MAX_HOLD_REASON} characters")
    if until.tzinfo is None:
        raise ValidationProblem("give the end of the hold with its time zone")
    now = clock.now()
    if until <= now:
        raise ValidationProblem("a legal hold must end in the future")
    if until > now + MAX_HOLD:
        raise ValidationProblem("a legal hold can last at most ten years; extend it later")
    retention = session.get(CaseRetention, held.id)
    before = snapshot(retention) if retention is not None else None
    if retention is None:
        retention = CaseRetention(case_id=held.id, expires_at=None)
        session.add(retention)
    retention.legal_hold_until, retention.legal_hold_reason = until, reason
    retention.warned_at = None  # the date the defender was given no longer holds
    retention.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="case.legal_hold",
        entity_type="case",
        entity_id=held.id,
        before=before,
        after=snapshot(retention),
        detail={"until": _iso(until)},
    )
    return retention


def release_legal_hold(*, session: Session, actor: Principal, case_id: str) -> None:
    """End a case's legal hold now; the case then expires as usual, after a fresh warning."""
    held = cases.get(session=session, actor=actor, case_id=case_id)
    retention = session.get(CaseRetention, held.id)
    if retention is None or retention.legal_hold_until is None:
        return  # nothing held: releasing twice is not an error
    before = snapshot(retention)
    if retention.expires_at is None:
        session.delete(retention)
        after = None
    else:
        retention.legal_hold_until, retention.legal_hold_reason = None, None
        retention.warned_at = None
        retention.updated_at = clock.now()
        after = snapshot(retention)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="case.legal_hold_release",
        entity_type="case",
        entity_id=held.id,
        before=before,
        after=after,
    )


# --- the retention round ------------------------------------------------------------------------


def run(
    *,
    session_factory: sessionmaker[Session],
    policy: RetentionPolicy,
    uploads_dir: Path,
    now: datetime | None = None,
) -> RetentionReport:
    """Schedule, warn and expire what is due; each case in its own transaction, safe to rerun."""
    now = now or clock.now()
    report = RetentionReport()
    for case_id in _ids(session_factory, _unscheduled()):
        if _attempt(session_factory, report, case_id, _schedule_one, policy):
            report.scheduled.append(case_id)
    for case_id in _ids(session_factory, _warning_due(now, policy)):
        if _attempt(session_factory, report, case_id, _warn_one, now, policy):
            report.warned.append(case_id)
    for case_id in _ids(session_factory, _expiry_due(now, policy)):
        _expire(session_factory, report, case_id, now=now, policy=policy, uploads_dir=uploads_dir)
    with session_factory() as session:
        report.orphans_swept = storage.sweep_orphans(session, uploads_dir)
    return report


def _unscheduled() -> Select[Any]:
    """Closed cases with no expiry date: closed before retention existed, or by another path."""
    return (
        select(Case.id)
        .outerjoin(CaseRetention, CaseRetention.case_id == Case.id)
        .where(
            Case.status.in_(CLOSED_STATUSES),
            Case.closed_at.is_not(None),
            CaseRetention.expires_at.is_(None),
        )
        .order_by(Case.closed_at)
    )


def _due(*conditions: ColumnElement[bool]) -> Select[Any]:
    return (
        select(Case.id)
        .join(CaseRetention, CaseRetention.case_id == Case.id)
        .where(Case.status.in_(CLOSED_STATUSES), *conditions)
        .order_by(CaseRetention.expires_at)
    )


def _warning_due(now: datetime, policy: RetentionPolicy) -> Select[Any]:
    horizon = now + policy.warning
    return _due(
        CaseRetention.warned_at.is_(None),
        CaseRetention.expires_at <= horizon,
        or_(CaseRetention.legal_hold_until.is_(None), CaseRetention.legal_hold_until <= horizon),
    )


def _expiry_due(now: datetime, policy: RetentionPolicy) -> Select[Any]:
    return _due(
        CaseRetention.expires_at <= now,
        CaseRetention.warned_at <= now - policy.warning,
        or_(CaseRetention.legal_hold_until.is_(None), CaseRetention.legal_hold_until <= now),
    )


def _ids(session_factory: sessionmaker[Session], query: Select[Any]) -> list[str]:
    with session_factory() as session:
        return list(session.scalars(query.limit(_BATCH)))


def _still(session: Session, query: Select[Any], case_id: str) -> Case | None:
    """Lock one case and its retention row, then return the case only if it still matches.

    Locking first (case, then retention: the order closing and holds use) means a hold or a
    reopening committed meanwhile is seen by the check, on PostgreSQL as on SQLite.
    """
    locked = session.get(Case, case_id, with_for_update=True, populate_existing=True)
    if locked is None:
        return None
    session.scalars(
        select(CaseRetention).where(CaseRetention.case_id == case_id).with_for_update()
    ).first()
    if session.scalar(query.where(Case.id == case_id)) is None:
        return None
    return locked


def _attempt(
    session_factory: sessionmaker[Session],
    report: RetentionReport,
    case_id: str,
    step: Callable[..., bool],
    *arguments: object,
) -> bool:
    try:
        with session_factory() as session, session.begin():
            return step(session, case_id, *arguments)
    except Exception as error:  # noqa: BLE001  (one bad case must not stop the round)
        log.error("retention of a case failed: %s", type(error).__name__)  # noqa: TRY400
        report.failed.append(case_id)
        return False


def _schedule_one(session: Session, case_id: str, policy: RetentionPolicy) -> bool:
    if _still(session, _unscheduled(), case_id) is None:
        return False
    schedule(session=session, case_id=case_id, policy=policy)
    return True


def _warn_one(session: Session, case_id: str, now: datetime, policy: RetentionPolicy) -> bool:
    warned = _still(session, _warning_due(now, policy), case_id)
    if warned is None:
        return False  # somebody else warned it, held it or reopened it meanwhile
    retention = session.get(CaseRetention, case_id, populate_existing=True)
    assert retention is not None  # noqa: S101  (joined above)
    before = snapshot(retention)
    retention.warned_at, retention.updated_at = now, now
    goes_on = deletion_date(retention)
    assert goes_on is not None  # noqa: S101  (warning_due requires an expiry date)
    goes_on = max(goes_on, now + policy.warning)
    notified = _notify(session, warned, goes_on)
    session.flush()
    audit.record(
        session,
        actor=RETENTION,
        action="case.retention_warn",
        entity_type="case",
        entity_id=case_id,
        before=before,
        after=snapshot(retention),
        detail={"deletion_on": goes_on.date().isoformat(), "notified": notified},
    )
    return True


def _notify(session: Session, warned: Case, goes_on: datetime) -> bool:
    """Queue the warning to the case's defender; False when there is nobody to reach."""
    if warned.defender_id is None:
        return False
    defender = session.get(Defender, warned.defender_id)
    if defender is None:
        return False
    date = goes_on.date().isoformat()
    try:
        queued = notifications.enqueue_for_defender(
            session=session,
            defender=defender,
            template=TemplateKey.RETENTION_WARNING,
            context={"date": date, "reference": warned.reference},
            case_id=warned.id,
            # One warning per announced date: a rerun adds none, a new date (hold) adds one.
            idempotency_key=f"retention-{warned.id}-{date}",
        )
    except DomainError as error:  # an address that no longer validates must not block expiry
        log.warning("retention warning not queued: %s", type(error).__name__)
        return False
    return queued is not None


def _expire(
    session_factory: sessionmaker[Session],
    report: RetentionReport,
    case_id: str,
    *,
    now: datetime,
    policy: RetentionPolicy,
    uploads_dir: Path,
) -> None:
    storage_names: list[str] = []
    try:
        with session_factory() as session, session.begin():
            expired = _still(session, _expiry_due(now, policy), case_id)
            if expired is None:
                return  # already gone (a second runner), held, or reopened meanwhile
            storage_names = list(
                session.scalars(select(Evidence.storage_name).where(Evidence.case_id == case_id))
            )
            before = cases.snapshot(expired)
            closed_at = expired.closed_at
            # Files are unlinked by the session only after this transaction commits.
            files = evidence.delete_case_files(
                session=session, case_id=case_id, uploads_dir=uploads_dir, actor=RETENTION
            )
            session.execute(delete(Case).where(Case.id == case_id))
            audit.record(
                session,
                actor=RETENTION,
                action="case.expire",
                entity_type="case",
                entity_id=case_id,
                before=before,
                detail={"files": files, "closed_at": _iso(closed_at)},
            )
    except OSError as error:
        # Raised by the after-commit unlink: the rows are gone; the check below counts leftovers.
        log.warning("retention: an evidence file could not be removed: %s", type(error).__name__)
        if not _gone(session_factory, case_id):
            report.failed.append(case_id)
            return
    except Exception as error:  # noqa: BLE001  (rolled back: rows and files both kept)
        log.error("retention of a case failed: %s", type(error).__name__)  # noqa: TRY400
        report.failed.append(case_id)
        return
    report.expired.append(case_id)
    for name in storage_names:
        try:
            storage.delete(uploads_dir, name)  # normally already done after the commit
        except OSError:
            report.files_left += 1
            continue
        if not storage.exists(uploads_dir, name):
            report.files_deleted += 1


def _gone(session_factory: sessionmaker[Session], case_id: str) -> bool:
    with session_factory() as session:
        return session.get(Case, case_id) is None
