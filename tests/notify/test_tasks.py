"""Delivery from the outbox: retries with backoff, exactly-once arrival, concurrency, audit, CLI."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hrdshield import clock
from hrdshield.cli import Runtime
from hrdshield.config import Settings
from hrdshield.notify import service, tasks
from hrdshield.notify.channels import (
    Channel,
    DeliveryError,
    FakeChannel,
    OutgoingMessage,
    in_app_address,
)
from hrdshield.notify.cli import notify
from hrdshield.notify.enums import NotificationChannel, NotificationStatus, TemplateKey
from hrdshield.notify.models import InboxMessage, Notification
from hrdshield.security import audit
from hrdshield.security.models import AuditEntry
from tests import factories
from tests.conftest import TestDatabase
from tests.notify.conftest import NOW, SmtpServer

EMAIL = NotificationChannel.EMAIL
NAME_IN_CONTEXT = "R-QZ-7781"  # stands in for anything personal that must not reach the logs


def _enqueue(
    factory: sessionmaker[Session],
    count: int = 1,
    *,
    language: str = "en",
    channel: NotificationChannel = EMAIL,
    address: str | None = None,
    template: TemplateKey = TemplateKey.RECEIPT,
) -> list[str]:
    """Enqueue and commit `count` notifications; return their ids."""
    ids = []
    with factory() as session, session.begin():
        for number in range(count):
            notification = service.enqueue(
                session=session,
                channel=channel,
                address=address or f"defender{number}@example.test",
                language=language,
                template=template,
                context={"reference": NAME_IN_CONTEXT},
            )
            ids.append(notification.id)
    return ids


def _rows(factory: sessionmaker[Session]) -> dict[str, Notification]:
    with factory() as session:
        return {row.id: row for row in session.scalars(select(Notification))}


def _audit_actions(factory: sessionmaker[Session]) -> Counter[str]:
    with factory() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_type == "notification")
        )
        return Counter(actions)


def _our_logs(caplog: pytest.LogCaptureFixture) -> str:
    """Return what HRD Shield's own loggers wrote (the test SMTP server logs whole messages)."""
    return "\n".join(
        record.getMessage() for record in caplog.records if record.name.startswith("hrdshield")
    )


def _deliver(database: TestDatabase, channels: dict[NotificationChannel, Any], **kwargs: Any):  # type: ignore[no-untyped-def]
    return tasks.deliver_due(session_factory=database.session_factory, channels=channels, **kwargs)


# --- the reliability test ------------------------------------------------------------------------


def test_server_down_then_up_delivers_each_message_exactly_once(
    database: TestDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    smtp = SmtpServer()  # created down: connections are refused
    channels: dict[NotificationChannel, Channel] = {EMAIL: smtp.channel()}
    try:
        with clock.frozen(NOW):
            ids = _enqueue(database.session_factory, 4, language="es")

            report = _deliver(database, channels)
            assert (report.sent, report.retrying, report.failed) == (0, 4, 0)
            for row in _rows(database.session_factory).values():
                assert row.status is NotificationStatus.PENDING
                assert row.attempts == 1
                assert row.last_error == "connection refused"
                assert row.next_attempt_at is not None
                assert (
                    NOW + timedelta(seconds=30) <= row.next_attempt_at <= NOW + timedelta(minutes=1)
                )
            assert _deliver(database, channels).attempted == 0  # nothing due yet

            smtp.up()
            assert _deliver(database, channels).attempted == 0  # still backing off
            clock.advance(minutes=1)
            report = _deliver(database, channels)
            assert (report.sent, report.retrying, report.failed) == (4, 0, 0)

            clock.advance(hours=24)
            assert _deliver(database, channels).attempted == 0  # sent is final
        rows = _rows(database.session_factory)
        assert {row.status for row in rows.values()} == {NotificationStatus.SENT}
        assert all(row.last_error is None and row.sent_at is not None for row in rows.values())
        assert all(row.attempts == 2 for row in rows.values())
        channel = channels[EMAIL]
        assert smtp.message_ids() == {channel.message_id(i): 1 for i in ids}  # type: ignore[attr-defined]
        assert {message["Content-Language"] for message in smtp.messages} == {"es"}
        assert _audit_actions(database.session_factory) == {"notification.sent": 4}
    finally:
        smtp.down()
    logged = _our_logs(caplog)
    assert "connection refused" in logged
    for personal in ("@example.test", NAME_IN_CONTEXT, "denuncia"):
        assert personal not in logged


def test_delivery_in_the_recipients_language_end_to_end(
    database: TestDatabase, smtp_server: SmtpServer
) -> None:
    with clock.frozen(NOW):
        [spanish] = _enqueue(database.session_factory, language="es-ES")
        [arabic] = _enqueue(database.session_factory, language="ar", template=TemplateKey.QUESTION)
        report = _deliver(database, {EMAIL: smtp_server.channel()})
    assert report.sent == 2
    by_id = {str(message["Message-ID"]): message for message in smtp_server.messages}
    channel = smtp_server.channel()
    es, ar = by_id[channel.message_id(spanish)], by_id[channel.message_id(arabic)]
    assert es["Content-Language"] == "es"
    assert es["Subject"] == f"Hemos recibido su denuncia {NAME_IN_CONTEXT}"
    assert ar["Content-Language"] == "ar"
    assert ar["Subject"] == f"سؤال بشأن بلاغكم {NAME_IN_CONTEXT}"
    assert "تسجيل الدخول" in ar.get_content()


# --- concurrency ---------------------------------------------------------------------------------


def _race(database: TestDatabase, channels: dict[NotificationChannel, Channel]) -> list[Any]:
    barrier = threading.Barrier(2)
    reports: list[Any] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            reports.append(_deliver(database, channels))
        except BaseException as error:  # noqa: BLE001  (surfaced by the assertion below)
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return reports


def test_two_concurrent_runs_never_send_one_notification_twice(database: TestDatabase) -> None:
    fake = FakeChannel(delay_seconds=0.01)
    with clock.frozen(NOW):
        ids = _enqueue(database.session_factory, 20)
        reports = _race(database, {EMAIL: fake})
    assert sum(report.sent for report in reports) == 20
    assert Counter(message.notification_id for message in fake.sent) == dict.fromkeys(ids, 1)
    assert all(row.attempts == 1 for row in _rows(database.session_factory).values())


def test_two_concurrent_runs_over_smtp_deliver_once_each(
    database: TestDatabase, smtp_server: SmtpServer
) -> None:
    channel = smtp_server.channel()
    with clock.frozen(NOW):
        ids = _enqueue(database.session_factory, 12)
        _race(database, {EMAIL: channel})
    assert smtp_server.message_ids() == {channel.message_id(i): 1 for i in ids}


# --- failures ------------------------------------------------------------------------------------


def test_gives_up_after_max_attempts_and_audits_it(database: TestDatabase) -> None:
    fake = FakeChannel()
    fake.fail(reason="SMTP 451")
    with clock.frozen(NOW):
        [ident] = _enqueue(database.session_factory)
        outcomes = []
        for _ in range(5):
            report = _deliver(database, {EMAIL: fake}, max_attempts=3)
            outcomes.append((report.retrying, report.failed))
            clock.advance(hours=7)  # longer than the longest backoff
    assert outcomes == [(1, 0), (1, 0), (0, 1), (0, 0), (0, 0)]
    row = _rows(database.session_factory)[ident]
    assert row.status is NotificationStatus.FAILED
    assert (row.attempts, row.last_error, row.next_attempt_at) == (3, "SMTP 451", None)
    assert fake.attempts == 3
    assert _audit_actions(database.session_factory) == {"notification.failed": 1}
    with database.session_factory() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "notification.failed")
        ).one()
        assert entry.actor_id == "notifier"
        assert '"error":"SMTP 451"' in entry.detail
        assert "@example.test" not in entry.detail
        assert audit.verify(session, database.keyring).ok


def test_a_permanent_failure_is_not_retried(database: TestDatabase) -> None:
    fake = FakeChannel()
    fake.fail(retryable=False, reason="SMTP 550 recipient refused")
    with clock.frozen(NOW):
        [ident] = _enqueue(database.session_factory)
        assert _deliver(database, {EMAIL: fake}).failed == 1
        clock.advance(days=2)
        assert _deliver(database, {EMAIL: fake}).attempted == 0
    row = _rows(database.session_factory)[ident]
    assert (row.status, row.attempts) == (NotificationStatus.FAILED, 1)


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    class Fixed:
        def __init__(self, value: float) -> None:
            self.value = value

        def random(self) -> float:
            return self.value

    low, high = Fixed(0.0), Fixed(1.0)
    assert tasks.retry_delay(1, rng=low) == timedelta(seconds=30)  # type: ignore[arg-type]
    assert tasks.retry_delay(1, rng=high) == timedelta(minutes=1)  # type: ignore[arg-type]
    assert tasks.retry_delay(4, rng=high) == timedelta(minutes=8)  # type: ignore[arg-type]
    assert tasks.retry_delay(99, rng=high) == tasks.LONGEST_RETRY  # type: ignore[arg-type]
    delays = {tasks.retry_delay(3) for _ in range(20)}
    assert len(delays) > 1
    assert all(timedelta(minutes=2) <= delay <= timedelta(minutes=4) for delay in delays)


class _CrashAfterSending:
    """Delivers, then dies before the outcome is recorded, like a process killed mid-run."""

    def __init__(self, inner: Channel) -> None:
        self.inner = inner

    def send(self, message: OutgoingMessage) -> None:
        self.inner.send(message)
        raise KeyboardInterrupt  # not an Exception: nothing in deliver_due swallows it


def test_a_crash_after_sending_resends_after_the_lease_with_the_same_message_id(
    database: TestDatabase, smtp_server: SmtpServer
) -> None:
    channel = smtp_server.channel()
    with clock.frozen(NOW):
        [ident] = _enqueue(database.session_factory)
        with pytest.raises(KeyboardInterrupt):
            _deliver(database, {EMAIL: _CrashAfterSending(channel)})
        assert _deliver(database, {EMAIL: channel}).attempted == 0  # leased, not due
        clock.advance(seconds=tasks.LEASE.total_seconds() + 1)
        assert _deliver(database, {EMAIL: channel}).sent == 1
    assert smtp_server.message_ids() == {channel.message_id(ident): 2}  # recognisable repeat
    assert _rows(database.session_factory)[ident].status is NotificationStatus.SENT


def test_a_notification_without_a_configured_channel_waits(database: TestDatabase) -> None:
    fake = FakeChannel()
    with clock.frozen(NOW):
        [ident] = _enqueue(database.session_factory)
        assert _deliver(database, {NotificationChannel.WEBHOOK: fake}).attempted == 0
        assert _deliver(database, {}).attempted == 0
    row = _rows(database.session_factory)[ident]
    assert (row.status, row.attempts) == (NotificationStatus.PENDING, 0)


def test_a_channel_bug_is_retried_and_logged_without_its_message(
    database: TestDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def send(self, message: OutgoingMessage) -> None:
            raise RuntimeError(f"could not reach {message.address}")

    caplog.set_level(logging.DEBUG)
    with clock.frozen(NOW):
        [ident] = _enqueue(database.session_factory, address="qz-secret@example.test")
        assert _deliver(database, {EMAIL: Broken()}).retrying == 1
    assert _rows(database.session_factory)[ident].last_error == "unexpected RuntimeError"
    assert "qz-secret" not in _our_logs(caplog)
    assert "RuntimeError" in _our_logs(caplog)


def test_batch_limits_one_run(database: TestDatabase) -> None:
    fake = FakeChannel()
    with clock.frozen(NOW):
        _enqueue(database.session_factory, 5)
        assert _deliver(database, {EMAIL: fake}, batch=2).sent == 2
        assert _deliver(database, {EMAIL: fake}, batch=10).sent == 3


# --- in-app through the outbox -------------------------------------------------------------------


def test_in_app_notifications_reach_the_inbox(database: TestDatabase, session: Session) -> None:
    defender = factories.defender(session)
    session.commit()
    channels = tasks.channels_from_settings(
        _settings(database), session_factory=database.session_factory
    )
    with clock.frozen(NOW):
        [ident] = _enqueue(
            database.session_factory,
            channel=NotificationChannel.IN_APP,
            address=in_app_address(defender_id=defender.id),
            language="ar",
        )
        assert _deliver(database, channels).sent == 1
    with database.session_factory() as reader:
        [message] = service.inbox(session=reader, defender_id=defender.id)
        assert message.notification_id == ident
        assert message.language == "ar"
        assert NAME_IN_CONTEXT in message.subject
        assert reader.scalars(select(InboxMessage)).all() == [message]


# --- wiring --------------------------------------------------------------------------------------


def _settings(database: TestDatabase, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"database_url": database.url, "environment": "test"}
    values.update(overrides)
    return Settings(**values)


def test_channels_from_settings(database: TestDatabase) -> None:
    bare = tasks.channels_from_settings(_settings(database))
    assert set(bare) == {NotificationChannel.WEBHOOK}
    full = tasks.channels_from_settings(
        _settings(database, smtp_host="127.0.0.1", smtp_port=2525, smtp_from="n@shield.example"),
        session_factory=database.session_factory,
    )
    assert set(full) == set(NotificationChannel)
    email = full[EMAIL]
    assert (email.host, email.port, email.sender) == ("127.0.0.1", 2525, "n@shield.example")  # type: ignore[attr-defined]


def test_delivery_loop_runs_until_stopped(database: TestDatabase) -> None:
    fake = FakeChannel()
    _enqueue(database.session_factory, 3)
    thread, stop = tasks.start_delivery_thread(
        database.session_factory, {EMAIL: fake}, interval_seconds=0.02
    )
    try:
        deadline = time.monotonic() + 10
        while len(fake.sent) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(fake.sent) == 3


def test_delivery_loop_survives_errors(database: TestDatabase) -> None:
    calls = {"count": 0}
    stop = threading.Event()

    def flaky_factory() -> Session:
        calls["count"] += 1
        if calls["count"] == 1:
            raise DeliveryError(True, "simulated outage")  # any error, not only the database's
        stop.set()
        return database.session_factory()

    tasks.run_delivery_loop(
        flaky_factory,  # type: ignore[arg-type]
        {EMAIL: FakeChannel()},
        interval_seconds=0.01,
        stop_event=stop,
    )
    assert calls["count"] == 2


def test_cli_deliver(database: TestDatabase, tmp_path: Any, settings: Settings) -> None:
    @click.group()
    @click.pass_context
    def root(context: click.Context) -> None:
        context.obj = Runtime(
            overrides={
                "environ": {},
                "data_dir": str(tmp_path / "cli"),
                "database_url": database.url,
                "master_key": settings.master_key.get_secret_value(),  # type: ignore[union-attr]
                "environment": "test",
            }
        )
        context.call_on_close(context.obj.close)

    root.add_command(notify)
    runner = CliRunner()
    help_result = runner.invoke(root, ["notify", "deliver", "--help"])
    assert help_result.exit_code == 0
    assert "Deliver the notifications that are due" in help_result.output

    with database.session_factory() as session, session.begin():
        defender = factories.defender(session)
        defender_id = defender.id
    _enqueue(
        database.session_factory,
        channel=NotificationChannel.IN_APP,
        address=in_app_address(defender_id=defender_id),
    )
    result = runner.invoke(root, ["notify", "deliver"])
    assert result.exit_code == 0, result.output
    assert "sent 1, will retry 0, failed 0" in result.output
