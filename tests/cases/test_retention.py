"""Retention under a frozen clock: warn once, expire in cascade with the files, honour holds."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.cases import retention, service, sla, workflow
from hrdshield.cases import retention_api as api
from hrdshield.cases.enums import CaseCategory, CaseStatus, Severity
from hrdshield.cases.evidence import service as evidence
from hrdshield.cases.evidence import storage
from hrdshield.cases.evidence.models import CustodyEvent, Evidence
from hrdshield.cases.models import Case, CaseEvent, CaseLink
from hrdshield.cases.retention_models import CaseRetention
from hrdshield.cases.schemas import CaseCreate
from hrdshield.config import Settings
from hrdshield.errors import Conflict, NotFound, ValidationProblem
from hrdshield.notify.enums import TemplateKey
from hrdshield.notify.models import Notification
from hrdshield.security import audit
from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Principal, Role
from hrdshield.web import API_PREFIX
from tests import factories
from tests.conftest import TestDatabase

T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
POLICY = retention.RetentionPolicy()  # 90 days, warned 14 days before
EXPIRY = T0 + timedelta(days=90)


@pytest.fixture(autouse=True)
def _frozen() -> Iterator[None]:
    with clock.frozen(T0):
        yield


@pytest.fixture
def lead(database: TestDatabase) -> Principal:
    with database.session_factory() as session, session.begin():
        return factories.principal(factories.user(session, Role.LEAD))


def _open(session: Session, actor: Principal, *, defender: bool = True) -> Case:
    defender_id = factories.defender(session, actor).id if defender else None
    return service.create(
        session=session,
        actor=actor,
        case_in=CaseCreate(
            category=CaseCategory.HARASSMENT,
            summary="Coordinated replies after a protest",
            defender_id=defender_id,
        ),
    )


def _close(session: Session, actor: Principal, case_id: str, *, schedule: bool = True) -> None:
    """Close a case through the workflow (which schedules its expiry under POLICY).

    With `schedule=False` the schedule is removed again, as for cases closed before retention
    existed, which the round must pick up on its own.
    """
    workflow.triage(
        session=session,
        actor=actor,
        case_id=case_id,
        severity=Severity.MEDIUM,
        policy=sla.SlaPolicy(),
    )
    workflow.change_status(
        session=session,
        actor=actor,
        case_id=case_id,
        status=CaseStatus.CLOSED,
        retention_policy=POLICY,
    )
    if not schedule:
        row = session.get(CaseRetention, case_id)
        if row is not None:
            session.delete(row)
            session.flush()


def _closed_case(database: TestDatabase, actor: Principal, **options: Any) -> str:
    with database.session_factory() as session, session.begin():
        case_id = _open(session, actor, defender=options.pop("defender", True)).id
        _close(session, actor, case_id, **options)
    return case_id


def _add_file(database: TestDatabase, settings: Settings, actor: Principal, case_id: str) -> str:
    with database.session_factory() as session, session.begin():
        item = evidence.add_evidence(
            session=session,
            actor=actor,
            case_id=case_id,
            filename="timeline-of-messages.txt",
            data=b"synthetic evidence: a list of abusive replies\n",
            declared_type="text/plain",
            max_bytes=64 * 1024,
            uploads_dir=settings.uploads_dir,
        )
        return item.storage_name


def _run(database: TestDatabase, settings: Settings) -> retention.RetentionReport:
    return retention.run(
        session_factory=database.session_factory,
        policy=POLICY,
        uploads_dir=settings.uploads_dir,
    )


def _warnings(session: Session, case_id: str) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification).where(
                Notification.case_id == case_id,
                Notification.template == TemplateKey.RETENTION_WARNING,
            )
        )
    )


def _actions(session: Session, case_id: str) -> list[str]:
    return list(
        session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.entity_id == case_id)
            .order_by(AuditEntry.seq)
        )
    )


def _count(session: Session, model: Any, *conditions: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


def _exists(database: TestDatabase, case_id: str) -> bool:
    with database.session_factory() as session:
        return session.get(Case, case_id) is not None


def _assert_audit_intact(database: TestDatabase) -> None:
    with database.session_factory() as session:
        result = audit.verify(session, database.keyring)
    assert result.ok, result


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="retention_days"):
        retention.RetentionPolicy(retention_days=0)
    with pytest.raises(ValueError, match="warning_days"):
        retention.RetentionPolicy(retention_days=10, warning_days=11)


def test_closing_schedules_expiry_and_only_a_closed_case_has_one(
    database: TestDatabase, lead: Principal
) -> None:
    with database.session_factory() as session, session.begin():
        opened = _open(session, lead)
        with pytest.raises(Conflict):
            retention.schedule(session=session, case_id=opened.id, policy=POLICY)
        with pytest.raises(NotFound):
            retention.schedule(session=session, case_id="0" * 32, policy=POLICY)
        _close(session, lead, opened.id)
        row = retention.get(session=session, case_id=opened.id)
        assert row is not None
        assert row.expires_at == EXPIRY
        assert retention.deletion_date(row) == EXPIRY
        assert "case.retention_schedule" in _actions(session, opened.id)


def test_warning_is_queued_fourteen_days_before_and_only_once(
    database: TestDatabase, settings: Settings, lead: Principal
) -> None:
    case_id = _closed_case(database, lead)

    clock.advance(days=90 - 14, seconds=-1)
    report = _run(database, settings)
    assert report.warned == []

    clock.advance(seconds=1)
    report = _run(database, settings)
    assert report.warned == [case_id]
    assert report.expired == []
    for _ in range(2):  # a second round, and one a day later, add nothing
        assert _run(database, settings).warned == []
        clock.advance(days=1)

    with database.session_factory() as session:
        warnings = _warnings(session, case_id)
        assert len(warnings) == 1
        context = json.loads(warnings[0].context)
        reference = session.scalar(select(Case.reference).where(Case.id == case_id))
        assert context == {"date": EXPIRY.date().isoformat(), "reference": reference}
        assert warnings[0].idempotency_key == f"retention-{case_id}-{EXPIRY.date().isoformat()}"
        row = session.get(CaseRetention, case_id)
        assert row is not None
        assert row.warned_at == T0 + timedelta(days=76)
        assert "case.retention_warn" in _actions(session, case_id)


def test_expiry_deletes_the_case_in_cascade_with_its_files(
    database: TestDatabase, settings: Settings, lead: Principal
) -> None:
    with database.session_factory() as session, session.begin():
        expiring, kept = _open(session, lead), _open(session, lead)
        workflow.add_note(session=session, actor=lead, case_id=expiring.id, body="Called the HRD")
        workflow.link(session=session, actor=lead, case_id=expiring.id, other_case_id=kept.id)
        expiring_id, kept_id = expiring.id, kept.id
    names = [_add_file(database, settings, lead, expiring_id) for _ in range(2)]
    kept_name = _add_file(database, settings, lead, kept_id)
    with database.session_factory() as session, session.begin():
        _close(session, lead, expiring_id)
    evidence_ids = _ids(database, Evidence.id, Evidence.case_id == expiring_id)
    assert all(storage.exists(settings.uploads_dir, name) for name in names)

    clock.advance(days=76)
    assert _run(database, settings).warned == [expiring_id]
    clock.advance(days=14, seconds=-1)
    assert _run(database, settings).expired == []  # not a second early
    clock.advance(seconds=1)
    report = _run(database, settings)

    assert report.expired == [expiring_id]
    assert report.files_deleted == 2
    assert report.files_left == 0
    assert report.failed == []
    assert not _exists(database, expiring_id)
    assert _exists(database, kept_id)
    with database.session_factory() as session:
        assert _count(session, CaseEvent, CaseEvent.case_id == expiring_id) == 0
        assert _count(session, CaseLink) == 0
        assert _count(session, Evidence, Evidence.case_id == expiring_id) == 0
        assert _count(session, CustodyEvent, CustodyEvent.evidence_id.in_(evidence_ids)) == 0
        assert _count(session, Notification, Notification.case_id == expiring_id) == 0
        assert _count(session, CaseRetention, CaseRetention.case_id == expiring_id) == 0
        assert _count(session, Evidence, Evidence.case_id == kept_id) == 1
        expire = session.scalars(
            select(AuditEntry).where(
                AuditEntry.entity_id == expiring_id, AuditEntry.action == "case.expire"
            )
        ).one()
        assert (expire.actor_type, expire.actor_id) == ("system", "retention")
        assert json.loads(expire.detail)["files"] == 2
        deleted = session.scalars(
            select(AuditEntry.entity_id).where(AuditEntry.action == "evidence.deleted")
        ).all()
        assert sorted(deleted) == sorted(evidence_ids)
    assert not any(storage.exists(settings.uploads_dir, name) for name in names)
    assert storage.exists(settings.uploads_dir, kept_name)

    again = _run(database, settings)  # idempotent: nothing left to do, nothing fails
    assert (again.expired, again.warned, again.failed) == ([], [], [])
    _assert_audit_intact(database)


def _ids(database: TestDatabase, column: Any, *conditions: Any) -> list[str]:
    with database.session_factory() as session:
        return list(session.scalars(select(column).where(*conditions)))


def test_a_legal_hold_keeps_the_case_until_it_is_released(
    database: TestDatabase, settings: Settings, lead: Principal
) -> None:
    case_id = _closed_case(database, lead)
    name = _add_file(database, settings, lead, case_id)
    clock.advance(days=80)
    assert _run(database, settings).warned == [case_id]  # warned before the hold
    with database.session_factory() as session, session.begin():
        held = retention.set_legal_hold(
            session=session,
            actor=lead,
            case_id=case_id,
            until=T0 + timedelta(days=365),
            reason="Preservation order in proceedings no. 0000/27 (synthetic)",
        )
        assert held.warned_at is None  # the announced date no longer holds

    clock.advance(days=100)  # day 180: long past the expiry date
    report = _run(database, settings)
    assert (report.warned, report.expired) == ([], [])
    assert _exists(database, case_id)
    assert storage.exists(settings.uploads_dir, name)

    with database.session_factory() as session, session.begin():
        retention.release_legal_hold(session=session, actor=lead, case_id=case_id)
        retention.release_legal_hold(session=session, actor=lead, case_id=case_id)  # no-op
    report = _run(database, settings)
    assert report.warned == [case_id]  # a fresh warning with the new date
    assert report.expired == []
    clock.advance(days=14)
    assert _run(database, settings).expired == [case_id]
    assert not storage.exists(settings.uploads_dir, name)

    with database.session_factory() as session:
        actions = _actions(session, case_id)
        assert actions.count("case.legal_hold") == 1
        assert actions.count("case.legal_hold_release") == 1
        assert actions[-1] == "case.expire"
        hold = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "case.legal_hold")
        ).one()
        assert (hold.actor_type, hold.actor_id) == ("user", lead.user_id)
        assert "Preservation" not in hold.detail  # the reason is digested, never written out
        assert _warnings(session, case_id) == []  # the case's notifications went with it
    _assert_audit_intact(database)


def test_a_legal_hold_that_ends_lets_the_case_expire_after_a_warning(
    database: TestDatabase, settings: Settings, lead: Principal
) -> None:
    case_id = _closed_case(database, lead)
    hold_end = T0 + timedelta(days=120)
    with database.session_factory() as session, session.begin():
        retention.set_legal_hold(
            session=session, actor=lead, case_id=case_id, until=hold_end, reason="Court order"
        )
        row = session.get(CaseRetention, case_id)
        assert row is not None
        assert retention.deletion_date(row) == hold_end
        assert row.legal_hold_reason == "Court order"
    clock.advance(days=100)
    assert _run(database, settings).warned == []  # the hold ends in 20 days: not yet
    clock.advance(days=6)
    assert _run(database, settings).warned == [case_id]
    clock.advance(days=14, seconds=-1)
    assert _run(database, settings).expired == []
    clock.advance(seconds=1)
    assert _run(database, settings).expired == [case_id]
    with database.session_factory() as session:
        assert _count(session, Notification, Notification.case_id == case_id) == 0


def test_a_reopened_case_is_not_deleted(
    database: TestDatabase, settings: Settings, lead: Principal
) -> None:
    reopened = _closed_case(database, lead)
    unwired = _closed_case(database, lead)
    clock.advance(days=80)
    assert sorted(_run(database, settings).warned) == sorted([reopened, unwired])
    with database.session_factory() as session, session.begin():
        for case_id in (reopened, unwired):
            workflow.change_status(
                session=session, actor=lead, case_id=case_id, status=CaseStatus.IN_PROGRESS
            )
        retention.cancel(session=session, case_id=reopened)
        retention.cancel(session=session, case_id=reopened)  # a second call changes nothing
        # `unwired` keeps its retention row, as if cancel() had been forgotten: still safe.
    clock.advance(days=60)
    report = _run(database, settings)
    assert (report.expired, report.failed) == ([], [])
    assert _exists(database, reopened)
    assert _exists(database, unwired)
    with database.session_factory() as session:
        assert session.get(CaseRetention, reopened) is None
        assert _actions(session, reopened).count("case.retention_cancel") == 1


def test_a_hold_outlives_reopening_and_closing_again(
    database: TestDatabase, settings: Settings, lead: Principal
) -> None:
    case_id = _closed_case(database, lead)
    with database.session_factory() as session, session.begin():
        retention.set_legal_hold(
            session=session,
            actor=lead,
            case_id=case_id,
            until=T0 + timedelta(days=400),
            reason="Litigation",
        )
        workflow.change_status(
            session=session, actor=lead, case_id=case_id, status=CaseStatus.IN_PROGRESS
        )
        retention.cancel(session=session, case_id=case_id)
        row = session.get(CaseRetention, case_id)
        assert row is not None
        assert (row.expires_at, row.legal_hold_until) == (None, T0 + timedelta(days=400))
        workflow.change_status(
            session=session, actor=lead, case_id=case_id, status=CaseStatus.CLOSED
        )
        retention.schedule(session=session, case_id=case_id, policy=POLICY)
    clock.advance(days=200)
    assert _run(database, settings).expired == []
    assert _exists(database, case_id)


def test_a_case_closed_without_a_schedule_is_scheduled_by_the_round(
    database: TestDatabase, settings: Settings, lead: Principal
) -> None:
    case_id = _closed_case(database, lead, schedule=False)
    report = _run(database, settings)
    assert report.scheduled == [case_id]
    assert _run(database, settings).scheduled == []
    with database.session_factory() as session:
        row = session.get(CaseRetention, case_id)
        assert row is not None
        assert row.expires_at == EXPIRY


def test_a_late_round_warns_first_and_deletes_only_after_the_notice(
    database: TestDatabase, settings: Settings, lead: Principal
) -> None:
    case_id = _closed_case(database, lead, defender=False)  # anonymous: nobody to notify
    clock.advance(days=300)  # the task did not run for months
    report = _run(database, settings)
    assert (report.warned, report.expired) == ([case_id], [])
    clock.advance(days=13)
    assert _run(database, settings).expired == []
    clock.advance(days=1)
    assert _run(database, settings).expired == [case_id]


def test_a_failed_deletion_keeps_rows_and_files_and_is_retried(
    database: TestDatabase, settings: Settings, lead: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = _closed_case(database, lead)
    name = _add_file(database, settings, lead, case_id)
    clock.advance(days=76)
    _run(database, settings)
    clock.advance(days=14)
    original = retention.audit.record

    def failing(session: Session, **entry: Any) -> Any:
        if entry["action"] == "case.expire":
            raise RuntimeError("database went away")
        return original(session, **entry)

    monkeypatch.setattr(retention.audit, "record", failing)
    report = _run(database, settings)
    assert (report.expired, report.failed) == ([], [case_id])
    assert _exists(database, case_id)
    assert storage.exists(settings.uploads_dir, name)  # the row still points at its file
    with database.session_factory() as session:
        item = session.scalars(select(Evidence).where(Evidence.case_id == case_id)).one()
        assert item.deleted_at is None

    monkeypatch.setattr(retention.audit, "record", original)
    assert _run(database, settings).expired == [case_id]
    assert not storage.exists(settings.uploads_dir, name)


def test_a_file_that_cannot_be_unlinked_is_left_as_an_orphan_and_swept(
    database: TestDatabase, settings: Settings, lead: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = _closed_case(database, lead)
    name = _add_file(database, settings, lead, case_id)
    clock.advance(days=90)
    _run(database, settings)
    clock.advance(days=14)

    def failing(uploads_dir: Path, stored: str) -> bool:
        raise PermissionError(stored)

    monkeypatch.setattr(storage, "delete", failing)
    report = _run(database, settings)
    monkeypatch.undo()
    # The rows went first, so no row points at a missing file; the file is an orphan.
    assert report.expired == [case_id]
    assert report.files_left == 1
    assert not _exists(database, case_id)
    path = storage.folder(settings.uploads_dir) / name
    assert path.exists()
    an_hour_ago = path.stat().st_mtime - 2 * 3600
    os.utime(path, (an_hour_ago, an_hour_ago))
    assert _run(database, settings).orphans_swept == 1
    assert not path.exists()


def test_legal_holds_refuse_bad_input_and_cases_the_actor_cannot_see(
    database: TestDatabase, lead: Principal
) -> None:
    case_id = _closed_case(database, lead)
    later = T0 + timedelta(days=30)
    with database.session_factory() as session:
        partner = factories.principal(factories.user(session, Role.PARTNER))
        for until, reason in (
            (later, "  "),
            (later, "x" * (retention.MAX_HOLD_REASON + 1)),
            (T0 - timedelta(seconds=1), "Court order"),
            (T0 + timedelta(days=20 * 366), "Court order"),
            (later.replace(tzinfo=None), "Court order"),
        ):
            with pytest.raises(ValidationProblem):
                retention.set_legal_hold(
                    session=session, actor=lead, case_id=case_id, until=until, reason=reason
                )
        with pytest.raises(NotFound):
            retention.set_legal_hold(
                session=session, actor=partner, case_id=case_id, until=later, reason="Order"
            )
        with pytest.raises(NotFound):
            retention.release_legal_hold(session=session, actor=partner, case_id=case_id)
        session.rollback()


def test_legal_hold_routes(
    app: Any, database: TestDatabase, settings: Settings, lead: Principal
) -> None:
    app.include_router(api.router, prefix=API_PREFIX)  # app.py wiring belongs to its owner
    case_id = _closed_case(database, lead)
    with database.session_factory() as session, session.begin():
        reviewer = factories.user(session, Role.REVIEWER)
        partner = factories.user(session, Role.PARTNER)
    path = f"{API_PREFIX}/cases/{case_id}/legal-hold"
    body = {"until": (T0 + timedelta(days=200)).isoformat(), "reason": "Preservation order"}
    with TestClient(app, base_url="http://testserver") as client:
        factories.sign_in(client, partner)
        assert client.put(path, json=body).status_code == 403
    with TestClient(app, base_url="http://testserver") as client:
        factories.sign_in(client, reviewer)
        held = client.put(path, json=body)
        assert held.status_code == 200, held.text
        assert held.json()["legal_hold_until"].startswith("2027-07-23")
        assert held.json()["expires_at"].startswith(EXPIRY.date().isoformat())
        assert client.put(path, json={**body, "until": "2020-01-01T00:00:00Z"}).status_code == 422
        assert client.put(f"{API_PREFIX}/cases/{'0' * 32}/legal-hold", json=body).status_code == 404
        assert client.delete(path).status_code == 204
        assert client.delete(path).status_code == 204
    with database.session_factory() as session:
        row = session.get(CaseRetention, case_id)
        assert row is not None
        assert row.legal_hold_until is None
        assert row.legal_hold_reason is None
