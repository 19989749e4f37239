"""Protective actions end to end on the demo platform: who may, approvals, reversal, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from hrdshield import clock
from hrdshield.cases import service as cases
from hrdshield.cases.enums import CaseCategory, CaseEventKind
from hrdshield.cases.models import CaseEvent
from hrdshield.cases.schemas import CaseCreate
from hrdshield.defenders import service as defenders
from hrdshield.defenders.enums import ConsentScope
from hrdshield.demo_platform import service as platform
from hrdshield.demo_platform.enums import EventType
from hrdshield.demo_platform.events import account_ref, content_section, make_event
from hrdshield.demo_platform.models import DemoAccount
from hrdshield.errors import Conflict, Forbidden, NotFound, ValidationProblem
from hrdshield.notify.enums import TemplateKey
from hrdshield.notify.models import Notification
from hrdshield.protection import service, tasks
from hrdshield.protection.adapters.base import AdapterCommand, AdapterError, AdapterResult
from hrdshield.protection.adapters.demo import DemoAdapter
from hrdshield.protection.enums import (
    ActionKind,
    ActionState,
    CommandOperation,
    CommandStatus,
    Initiator,
)
from hrdshield.protection.models import PlatformCommand, ProtectiveAction
from hrdshield.security.models import AuditEntry
from tests.conftest import TestDatabase
from tests.protection.conftest import FlakyAdapter, World, build_world

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _deliver(database: TestDatabase, adapter: object | None = None) -> tasks.DeliveryReport:
    adapters = {"demo": adapter or DemoAdapter(database.session_factory)}
    return tasks.deliver_due(session_factory=database.session_factory, adapters=adapters)  # type: ignore[arg-type]


def _account(database: TestDatabase, world: World) -> DemoAccount:
    with database.session_factory() as session:
        account = session.get(DemoAccount, world.account_id)
        assert account is not None
        return account


def _state(database: TestDatabase, action_id: str) -> ActionState:
    with database.session_factory() as session:
        action = session.get(ProtectiveAction, action_id)
        assert action is not None
        return action.state


def _request(database: TestDatabase, actor: object, kind: ActionKind, **kw: object) -> str:
    with database.session_factory() as session, session.begin():
        return service.request(
            session=session,
            actor=actor,
            defender_id=kw.pop("defender_id"),
            kind=kind,
            **kw,  # type: ignore[arg-type]
        ).id


def test_the_panic_button_locks_the_account_down_and_reverting_restores_it(
    database: TestDatabase, world: World
) -> None:
    action_id = _request(database, world.hrd, ActionKind.LOCKDOWN, defender_id=world.defender_id)
    assert _state(database, action_id) is ActionState.REQUESTED
    assert _deliver(database).done == 1
    account = _account(database, world)
    assert account.is_private
    assert account.followers_hidden
    assert account.two_factor_required
    assert account.replies_from.value == "followers"
    assert account.dms_from.value == "followers"
    assert account.mute_younger_than_days == 7
    assert account.sessions_revoked_at is not None
    assert _state(database, action_id) is ActionState.APPLIED

    with database.session_factory() as session, session.begin():
        service.revert(session=session, actor=world.hrd, action_id=action_id)
    assert _state(database, action_id) is ActionState.REVERTING
    assert _deliver(database).done == 1
    account = _account(database, world)
    assert not account.is_private
    assert not account.followers_hidden
    assert account.replies_from.value == "everyone"
    assert account.mute_younger_than_days is None
    assert _state(database, action_id) is ActionState.REVERTED
    with database.session_factory() as session:
        actions = set(session.scalars(select(AuditEntry.action)))
        assert {"protection.request", "protection.apply", "protection.revert"} <= actions
        # the defender pressed the button themselves: no message about it
        assert not session.scalars(
            select(Notification).where(Notification.template == TemplateKey.PROTECTION_ON)
        ).all()


def test_reverting_one_action_leaves_another_in_force(database: TestDatabase, world: World) -> None:
    lockdown = _request(database, world.hrd, ActionKind.LOCKDOWN, defender_id=world.defender_id)
    _deliver(database)
    _request(database, world.hrd, ActionKind.ENHANCED_PRIVACY, defender_id=world.defender_id)
    _deliver(database)
    with database.session_factory() as session, session.begin():
        service.revert(session=session, actor=world.hrd, action_id=lockdown)
    _deliver(database)
    account = _account(database, world)
    assert not account.is_private  # the lockdown is undone
    assert account.location_hidden
    assert not account.discoverable


def test_a_partner_with_standing_consent_acts_at_once_and_the_defender_is_told(
    database: TestDatabase, world: World
) -> None:
    action_id = _request(
        database,
        world.partner,
        ActionKind.SHIELD,
        defender_id=world.defender_id,
        duration=timedelta(hours=6),
    )
    _deliver(database)
    with database.session_factory() as session:
        action = session.get(ProtectiveAction, action_id)
        assert action is not None
        assert action.initiator is Initiator.PARTNER_CONSENT
        assert action.state is ActionState.APPLIED
        assert session.scalars(
            select(Notification.template).where(Notification.defender_id == world.defender_id)
        ).all() == [TemplateKey.PROTECTION_ON]
    assert _account(database, world).shield_until is not None


def test_without_consent_a_second_officer_of_the_same_partner_must_approve(
    database: TestDatabase,
) -> None:
    world = build_world(database, standing_consent=False)
    action_id = _request(
        database, world.partner, ActionKind.LOCKDOWN, defender_id=world.defender_id
    )
    assert _state(database, action_id) is ActionState.AWAITING_APPROVAL
    assert _deliver(database).done == 0  # nothing goes to the platform yet
    with (
        database.session_factory() as session,
        session.begin(),
        pytest.raises(Forbidden, match="second person"),
    ):
        service.approve(session=session, actor=world.partner, action_id=action_id)
    # another organisation cannot even see it
    with database.session_factory() as session, session.begin(), pytest.raises(NotFound):
        service.approve(session=session, actor=world.other_partner, action_id=action_id)
    with (
        database.session_factory() as session,
        session.begin(),
        pytest.raises(Forbidden, match="same partner"),
    ):
        service.approve(session=session, actor=world.reviewer, action_id=action_id)
    with database.session_factory() as session, session.begin():
        waiting = service.awaiting_approval(session=session, actor=world.second_partner)
        assert [item.id for item in waiting] == [action_id]
        service.approve(session=session, actor=world.second_partner, action_id=action_id)
    _deliver(database)
    assert _state(database, action_id) is ActionState.APPLIED
    assert _account(database, world).is_private


def test_a_refused_request_never_reaches_the_platform(database: TestDatabase) -> None:
    world = build_world(database, standing_consent=False)
    action_id = _request(
        database, world.partner, ActionKind.LOCKDOWN, defender_id=world.defender_id
    )
    with database.session_factory() as session, session.begin():
        service.refuse(session=session, actor=world.second_partner, action_id=action_id)
    assert _deliver(database).done == 0
    assert _state(database, action_id) is ActionState.REFUSED
    assert not _account(database, world).is_private


def test_staff_disabling_an_account_needs_a_second_reviewer(
    database: TestDatabase, world: World
) -> None:
    action_id = _request(
        database,
        world.reviewer,
        ActionKind.DISABLE_ACCOUNT,
        defender_id=world.defender_id,
        duration=timedelta(days=2),
    )
    assert _state(database, action_id) is ActionState.AWAITING_APPROVAL
    with database.session_factory() as session, session.begin():
        service.approve(session=session, actor=world.second_reviewer, action_id=action_id)
    _deliver(database)
    assert _account(database, world).deactivated


def test_bad_requests_are_refused_and_change_nothing(database: TestDatabase, world: World) -> None:
    with database.session_factory() as session, session.begin():
        with pytest.raises(ValidationProblem, match="temporary"):
            service.request(
                session=session,
                actor=world.hrd,
                defender_id=world.defender_id,
                kind=ActionKind.DISABLE_ACCOUNT,
            )
        with pytest.raises(ValidationProblem, match="minute to a year"):
            service.request(
                session=session,
                actor=world.hrd,
                defender_id=world.defender_id,
                kind=ActionKind.SHIELD,
                duration=timedelta(days=400),
            )
        with pytest.raises(NotFound):
            service.request(
                session=session,
                actor=world.other_partner,
                defender_id=world.defender_id,
                kind=ActionKind.LOCKDOWN,
            )
        with pytest.raises(NotFound):
            service.request(
                session=session, actor=world.hrd, defender_id="0" * 32, kind=ActionKind.LOCKDOWN
            )
        with pytest.raises(Forbidden):
            service.request(
                session=session,
                actor=world.hrd,
                defender_id=world.defender_id,
                kind=ActionKind.ACCOUNT_RECOVERY,
            )
    _request(database, world.hrd, ActionKind.LOCKDOWN, defender_id=world.defender_id)
    with (
        database.session_factory() as session,
        session.begin(),
        pytest.raises(Conflict, match="already on"),
    ):
        service.request(
            session=session,
            actor=world.hrd,
            defender_id=world.defender_id,
            kind=ActionKind.LOCKDOWN,
        )
    with database.session_factory() as session:
        kinds = session.scalars(select(ProtectiveAction.kind)).all()
        assert sorted(kind.value for kind in kinds) == ["hold_takedowns", "lockdown"]


def test_a_shield_expires_on_its_own(database: TestDatabase, world: World) -> None:
    with clock.frozen(NOW):
        action_id = _request(
            database,
            world.partner,
            ActionKind.SHIELD,
            defender_id=world.defender_id,
            duration=timedelta(hours=48),
        )
        _deliver(database)
    with (
        clock.frozen(NOW + timedelta(hours=47)),
        database.session_factory() as session,
        session.begin(),
    ):
        assert service.expire_due(session=session) == []
    with clock.frozen(NOW + timedelta(hours=48, minutes=1)):
        with database.session_factory() as session, session.begin():
            assert [a.id for a in service.expire_due(session=session)] == [action_id]
        _deliver(database)
    assert _state(database, action_id) is ActionState.REVERTED
    assert _account(database, world).shield_until is None


def test_a_failing_platform_is_retried_with_backoff_then_succeeds_once(
    database: TestDatabase, world: World
) -> None:
    adapter = FlakyAdapter(failures=2)
    with clock.frozen(NOW):
        action_id = _request(
            database, world.hrd, ActionKind.LOCKDOWN, defender_id=world.defender_id
        )
        assert _deliver(database, adapter).retrying == 1
        assert _deliver(database, adapter).done == 0  # not due again yet
    with clock.frozen(NOW + timedelta(seconds=3)):
        assert _deliver(database, adapter).retrying == 1
    with clock.frozen(NOW + timedelta(seconds=10)):
        assert _deliver(database, adapter).done == 1
        assert _deliver(database, adapter).done == 0
    assert len(adapter.calls) == 3
    assert len({call.idempotency_key for call in adapter.calls}) == 1  # the same key each time
    assert _state(database, action_id) is ActionState.APPLIED


def test_a_platform_that_never_recovers_fails_the_action_visibly(
    database: TestDatabase, world: World
) -> None:
    adapter = FlakyAdapter(failures=100)
    at = NOW
    with clock.frozen(at):
        action_id = _request(
            database, world.hrd, ActionKind.LOCKDOWN, defender_id=world.defender_id
        )
    for _ in range(tasks.MAX_ATTEMPTS):
        with clock.frozen(at):
            _deliver(database, adapter)
        at += tasks.MAX_BACKOFF * 2
    with database.session_factory() as session:
        action = session.get(ProtectiveAction, action_id)
        assert action is not None
        assert action.state is ActionState.FAILED
        assert action.last_error == "the platform answered 503"
        command = session.scalars(
            select(PlatformCommand).where(PlatformCommand.action_id == action_id)
        ).one()
        assert command.status is CommandStatus.DEAD
        assert command.attempts == tasks.MAX_ATTEMPTS
        failed = session.scalars(select(Notification.template)).all()
        assert failed == [TemplateKey.PROTECTION_FAILED]


def test_a_permanent_refusal_is_not_retried(database: TestDatabase, world: World) -> None:
    adapter = FlakyAdapter(failures=1, retryable=False)
    action_id = _request(database, world.hrd, ActionKind.LOCKDOWN, defender_id=world.defender_id)
    assert _deliver(database, adapter).dead == 1
    assert _state(database, action_id) is ActionState.FAILED


def test_account_recovery_runs_its_steps_in_order_on_the_case(
    database: TestDatabase, world: World
) -> None:
    with database.session_factory() as session, session.begin():
        case = cases.create(
            session=session,
            actor=world.reviewer,
            case_in=CaseCreate(
                category=CaseCategory.ACCOUNT_COMPROMISE,
                summary="takeover",
                defender_id=world.defender_id,
            ),
        )
        action = service.request(
            session=session,
            actor=world.reviewer,
            defender_id=world.defender_id,
            kind=ActionKind.ACCOUNT_RECOVERY,
            case_id=case.id,
        )
        action_id, case_id = action.id, case.id
    report = _deliver(database)
    assert report.done == 3
    with database.session_factory() as session:
        steps = [
            c.operation.value for c in service.commands_of(session=session, action_id=action_id)
        ]
        assert steps == ["sign_out_sessions", "reset_credentials", "restore_lockdown"]
        done = [c.done_at for c in service.commands_of(session=session, action_id=action_id)]
        assert all(done)
        assert done == sorted(done)  # one step after another
        events = session.scalars(
            select(CaseEvent).where(
                CaseEvent.case_id == case_id, CaseEvent.kind == CaseEventKind.PROTECTION
            )
        ).all()
        assert len(events) == 4  # requested, then each of the three steps
    account = _account(database, world)
    assert account.sessions_revoked_at is not None
    assert account.is_private
    assert _state(database, action_id) is ActionState.APPLIED


def test_enrolment_holds_takedowns_and_withdrawal_releases_them(
    database: TestDatabase, world: World
) -> None:
    with database.session_factory() as session:
        held = service.active(
            session=session, defender_id=world.defender_id, kind=ActionKind.HOLD_TAKEDOWNS
        )
        assert held is not None
        assert held.initiator is Initiator.PROTECTED_STATUS
        assert held.state is ActionState.APPLIED
        assert held.expires_at is None  # until the enrolment ends
    assert _account(database, world).takedowns_held
    with database.session_factory() as session, session.begin():
        defenders.set_consent(
            session=session,
            actor=world.hrd,
            defender_id=world.defender_id,
            scope=ConsentScope.PROCESSING,
            granted=False,
        )
    _deliver(database)
    assert not _account(database, world).takedowns_held


def test_takedowns_held_for_a_protected_defender_are_refused_by_the_demo_platform(
    database: TestDatabase, world: World
) -> None:
    post = make_event(
        event_id="post-1",
        event_type=EventType.POST,
        occurred_at=clock.now(),
        actor=account_ref(world.account_id, "@demo_hrd_amara"),
        sections={"content": content_section("A report on land rights.", "en", post_id="p1")},
    )
    removal = make_event(
        event_id="removal-1",
        event_type=EventType.CONTENT_REMOVED,
        occurred_at=clock.now(),
        actor=account_ref(world.account_id, "@demo_hrd_amara"),
        targets=[account_ref(world.account_id, "@demo_hrd_amara")],
        sections={"content": {"post_id": "p1"}},
    )
    with database.session_factory() as session, session.begin():
        platform.apply(session=session, events=[post])
    assert _account(database, world).takedowns_held  # protected status, from enrolment
    with database.session_factory() as session, session.begin():
        result = platform.apply(session=session, events=[removal])
    assert result.rejected == {
        "removal-1": "held for human review: the author is a protected defender"
    }


class _NoCredentialReset:
    """The demo platform, except that it cannot reset credentials (as on Mastodon)."""

    name = "demo"

    def __init__(self, database: TestDatabase) -> None:
        self.demo = DemoAdapter(database.session_factory)

    def execute(self, command: AdapterCommand) -> AdapterResult:
        if command.operation is CommandOperation.RESET_CREDENTIALS:
            raise AdapterError("not possible on this platform", retryable=False)
        return self.demo.execute(command)


def test_a_recovery_with_a_step_the_platform_cannot_do_stays_failed(
    database: TestDatabase, world: World
) -> None:
    action_id = _request(
        database, world.reviewer, ActionKind.ACCOUNT_RECOVERY, defender_id=world.defender_id
    )
    report = _deliver(database, _NoCredentialReset(database))
    assert (report.done, report.dead) == (2, 1)  # the other steps still ran
    with database.session_factory() as session:
        action = session.get(ProtectiveAction, action_id)
        assert action is not None
        assert action.state is ActionState.FAILED
        assert action.last_error == "partly done; not done: reset_credentials"
        templates = session.scalars(
            select(Notification.template).where(Notification.defender_id == world.defender_id)
        ).all()
        assert templates == [TemplateKey.PROTECTION_FAILED]  # told once, never "it is on"
    assert _account(database, world).is_private  # the lockdown step was still carried out


def test_holding_takedowns_tells_the_platform_how_many_reviewers_each_measure_needs(
    database: TestDatabase, world: World
) -> None:
    with database.session_factory() as session, session.begin():
        held = service.active(
            session=session, defender_id=world.defender_id, kind=ActionKind.HOLD_TAKEDOWNS
        )
        assert held is not None
        service.revert(session=session, actor=world.reviewer, action_id=held.id)
    _deliver(database)
    adapter = FlakyAdapter()
    _request(database, world.reviewer, ActionKind.HOLD_TAKEDOWNS, defender_id=world.defender_id)
    _deliver(database, adapter)
    (command,) = adapter.calls
    assert command.options == {
        "automated_enforcement": "hold",
        "content_measures": {"human_reviewers": 1},
        "account_measures": {"human_reviewers": 2},
    }
