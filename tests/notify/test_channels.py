"""Channels against real loopback servers: SMTP (aiosmtpd), an HTTP receiver, the inbox table."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.db import new_id
from hrdshield.notify import service, templates
from hrdshield.notify.channels import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    DeliveryError,
    FakeChannel,
    InAppChannel,
    OutgoingMessage,
    WebhookChannel,
    check_webhook_url,
    in_app_address,
    sign,
    verify_signature,
    webhook_signing_secret,
)
from hrdshield.notify.enums import NotificationChannel, TemplateKey
from hrdshield.notify.models import InboxMessage
from tests import factories
from tests.conftest import TestDatabase
from tests.notify.conftest import NOW, SENDER, SmtpServer, WebhookServer, free_port

ADDRESS = "defender-qz@example.test"


def _message(
    *,
    channel: NotificationChannel = NotificationChannel.EMAIL,
    address: str = ADDRESS,
    language: str = "en",
    template: TemplateKey = TemplateKey.RECEIPT,
    context: dict[str, str] | None = None,
) -> OutgoingMessage:
    rendered = templates.render(template, language, context or {"reference": "R-7K2P"})
    return OutgoingMessage(
        notification_id=new_id(),
        channel=channel,
        template=template,
        language=rendered.language,
        address=address,
        subject=rendered.subject,
        body=rendered.body,
        created_at=NOW,
    )


# --- e-mail --------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["es", "ar", "fr", "en"])
def test_email_arrives_in_the_recipients_language_with_headers(
    smtp_server: SmtpServer, language: str
) -> None:
    message = _message(language=language, template=TemplateKey.OUTCOME)
    smtp_server.channel().send(message)

    [received] = smtp_server.messages
    expected = templates.TEMPLATES[TemplateKey.OUTCOME][language]
    assert received["Subject"] == expected.subject.format(reference="R-7K2P")
    assert received["Content-Language"] == language
    assert received["Message-ID"] == f"<{message.notification_id}.notify@shield.example.test>"
    assert received["From"] == SENDER
    assert received["To"] == ADDRESS
    assert received["Auto-Submitted"] == "auto-generated"
    assert received.get_content_type() == "text/plain"
    assert received.get_content_charset() == "utf-8"
    body = received.get_content()
    assert expected.body.format(reference="R-7K2P").split("\n")[0] in body
    assert templates.FOOTERS[language] in body
    assert smtp_server.handler.envelopes == [(SENDER, [ADDRESS])]


def test_arabic_email_keeps_arabic_script(smtp_server: SmtpServer) -> None:
    smtp_server.channel().send(_message(language="ar"))
    [received] = smtp_server.messages
    assert "بلاغكم" in received["Subject"]
    assert "بلاغكم" in received.get_content()


def test_same_notification_sent_twice_has_the_same_message_id(smtp_server: SmtpServer) -> None:
    message = _message()
    channel = smtp_server.channel()
    channel.send(message)
    channel.send(message)
    assert smtp_server.message_ids() == {channel.message_id(message.notification_id): 2}


def test_server_down_is_retryable_and_names_no_one() -> None:
    channel = SmtpServer().channel()  # never started: nothing listens
    with pytest.raises(DeliveryError) as caught:
        channel.send(_message())
    assert caught.value.retryable
    assert caught.value.reason == "connection refused"


@pytest.mark.parametrize(
    ("reply", "retryable", "reason"),
    [
        ("451 4.3.0 Mail server temporarily rejected message", True, "SMTP 451"),
        ("552 5.3.4 Message too big for defender-qz@example.test", False, "SMTP 552"),
    ],
)
def test_smtp_replies_decide_whether_to_retry(
    smtp_server: SmtpServer, reply: str, retryable: bool, reason: str
) -> None:
    smtp_server.handler.data_reply = reply
    with pytest.raises(DeliveryError) as caught:
        smtp_server.channel().send(_message())
    assert (caught.value.retryable, caught.value.reason) == (retryable, reason)
    assert ADDRESS not in str(caught.value)
    assert caught.value.__cause__ is None  # the server's words are not carried along


def test_header_injection_is_refused_before_connecting() -> None:
    channel = SmtpServer().channel()
    with pytest.raises(DeliveryError) as caught:
        channel.send(_message(address="a@example.test\r\nBcc: spy@example.test"))
    assert not caught.value.retryable


# --- webhook -------------------------------------------------------------------------------------


def test_webhook_posts_signed_json_that_the_receiver_verifies(
    database: TestDatabase, webhook_server: WebhookServer
) -> None:
    message = _message(channel=NotificationChannel.WEBHOOK, address=webhook_server.url)
    with clock.frozen(NOW):
        WebhookChannel(timeout_seconds=5).send(message)

        [request] = webhook_server.receiver.requests
        headers = {name.lower(): value for name, value in request["headers"].items()}
        secret = webhook_signing_secret(database.keyring)
        assert verify_signature(secret, headers[SIGNATURE_HEADER.lower()], request["body"])
        assert not verify_signature(secret, headers[SIGNATURE_HEADER.lower()], b"{}")
        assert not verify_signature("wrong", headers[SIGNATURE_HEADER.lower()], request["body"])
    assert request["path"] == "/hooks/hrd"
    assert headers[DELIVERY_HEADER.lower()] == message.notification_id
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers[SIGNATURE_HEADER.lower()].startswith(f"t={int(NOW.timestamp())},v1=")
    document = json.loads(request["body"])
    assert document["id"] == message.notification_id
    assert document["template"] == "receipt"
    assert document["subject"] == message.subject
    assert document["body"] == message.body


def test_signature_expires_and_binds_the_timestamp() -> None:
    body = b'{"id": "x"}'
    header = sign("secret", int(NOW.timestamp()), body)
    assert verify_signature("secret", header, body, now=NOW + timedelta(seconds=299))
    assert not verify_signature("secret", header, body, now=NOW + timedelta(seconds=301))
    forged = header.replace(f"t={int(NOW.timestamp())}", f"t={int(NOW.timestamp()) + 60}")
    assert not verify_signature("secret", forged, body, now=NOW)
    assert not verify_signature("secret", "garbage", body, now=NOW)


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (503, True), (429, True), (408, True), (400, False), (404, False), (410, False)],
)
def test_webhook_status_decides_whether_to_retry(
    database: TestDatabase, webhook_server: WebhookServer, status: int, retryable: bool
) -> None:
    webhook_server.receiver.status = status
    message = _message(channel=NotificationChannel.WEBHOOK, address=webhook_server.url)
    with pytest.raises(DeliveryError) as caught:
        WebhookChannel(timeout_seconds=5).send(message)
    assert (caught.value.retryable, caught.value.reason) == (retryable, f"HTTP {status}")


def test_webhook_redirect_is_not_followed(
    database: TestDatabase, webhook_server: WebhookServer
) -> None:
    webhook_server.receiver.status = 307
    webhook_server.receiver.location = "http://127.0.0.1:9/elsewhere"
    message = _message(channel=NotificationChannel.WEBHOOK, address=webhook_server.url)
    with pytest.raises(DeliveryError) as caught:
        WebhookChannel(timeout_seconds=5).send(message)
    assert (caught.value.retryable, caught.value.reason) == (False, "HTTP 307")
    assert len(webhook_server.receiver.requests) == 1


def test_webhook_timeout_is_retryable(
    database: TestDatabase, webhook_server: WebhookServer
) -> None:
    webhook_server.receiver.delay_seconds = 1.0
    message = _message(channel=NotificationChannel.WEBHOOK, address=webhook_server.url)
    with pytest.raises(DeliveryError) as caught:
        WebhookChannel(timeout_seconds=0.2).send(message)
    assert (caught.value.retryable, caught.value.reason) == (True, "timeout")


def test_webhook_connection_refused_is_retryable(database: TestDatabase) -> None:
    url = f"http://127.0.0.1:{free_port()}/hook"
    with pytest.raises(DeliveryError) as caught:
        WebhookChannel(timeout_seconds=2).send(
            _message(channel=NotificationChannel.WEBHOOK, address=url)
        )
    assert (caught.value.retryable, caught.value.reason) == (True, "connection refused")


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.test/hrd",  # plain http off loopback
        "ftp://hooks.example.test/hrd",
        "https://user:pw@hooks.example.test/hrd",
        "not a url",
    ],
)
def test_unsafe_webhook_addresses_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="webhook address"):
        check_webhook_url(url)
    with pytest.raises(DeliveryError) as caught:
        WebhookChannel(secret=lambda: "s").send(
            _message(channel=NotificationChannel.WEBHOOK, address=url)
        )
    assert not caught.value.retryable


def test_https_and_loopback_http_webhooks_are_allowed() -> None:
    check_webhook_url("https://hooks.example.test/hrd")
    check_webhook_url("http://127.0.0.1:8080/hook")
    check_webhook_url("http://[::1]:8080/hook")
    check_webhook_url("http://localhost/hook")


# --- in-app --------------------------------------------------------------------------------------


def test_in_app_writes_the_inbox_once_even_when_sent_twice(
    database: TestDatabase, session: Session
) -> None:
    defender = factories.defender(session)
    address = in_app_address(defender_id=defender.id)
    notification = service.enqueue(
        session=session,
        channel=NotificationChannel.IN_APP,
        address=address,
        language="fr",
        template=TemplateKey.RECEIPT,
        context={"reference": "R-7K2P"},
        defender_id=defender.id,
    )
    session.commit()
    message = replace(
        _message(channel=NotificationChannel.IN_APP, address=address, language="fr"),
        notification_id=notification.id,
    )
    channel = InAppChannel(database.session_factory)
    channel.send(message)
    channel.send(message)

    with database.session_factory() as reader:
        rows = list(reader.scalars(select(InboxMessage)))
        raw = reader.execute(text("SELECT subject, body FROM inbox_messages")).one()
    assert len(rows) == 1
    assert rows[0].defender_id == defender.id
    assert rows[0].notification_id == notification.id
    assert rows[0].subject == message.subject
    assert rows[0].body == message.body
    assert rows[0].language == "fr"
    assert all(value.startswith("hse1.") for value in raw)  # encrypted at rest
    assert service.inbox(session=session, defender_id=defender.id)[0].id == rows[0].id


def test_in_app_to_an_unknown_recipient_is_a_permanent_failure(database: TestDatabase) -> None:
    channel = InAppChannel(database.session_factory)
    for address in (in_app_address(defender_id=new_id()), "someone@example.test"):
        with pytest.raises(DeliveryError) as caught:
            channel.send(_message(channel=NotificationChannel.IN_APP, address=address))
        assert not caught.value.retryable
    with database.session_factory() as reader:
        assert reader.scalar(select(func.count()).select_from(InboxMessage)) == 0


# --- fake ----------------------------------------------------------------------------------------


def test_fake_records_and_fails_when_told() -> None:
    fake = FakeChannel()
    first, second, third = _message(), _message(), _message()
    fake.send(first)
    fake.fail(reason="SMTP 451", times=1)
    with pytest.raises(DeliveryError, match="SMTP 451") as caught:
        fake.send(second)
    assert caught.value.retryable
    fake.send(third)
    fake.fail(retryable=False, reason="HTTP 410")
    for _ in range(2):
        with pytest.raises(DeliveryError, match="HTTP 410"):
            fake.send(second)
    fake.recover()
    fake.send(second)
    assert fake.sent == [first, third, second]
    assert fake.attempts == 6


def test_outgoing_message_repr_hides_personal_fields() -> None:
    message = _message()
    assert ADDRESS not in repr(message)
    assert message.subject not in repr(message)
    assert message.notification_id in repr(message)
