"""Enqueuing into the outbox, its validation, status on the case, the inbox, and the texts."""

from __future__ import annotations

import string
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from hrdshield.cases import service as cases
from hrdshield.cases.enums import CaseCategory
from hrdshield.cases.schemas import CaseCreate
from hrdshield.defenders import service as defenders
from hrdshield.defenders.enums import ConsentScope, ContactChannel
from hrdshield.errors import Conflict, NotFound, ValidationProblem
from hrdshield.notify import service, templates
from hrdshield.notify.channels import in_app_address
from hrdshield.notify.enums import NotificationChannel, NotificationStatus, TemplateKey
from hrdshield.notify.models import InboxMessage, Notification
from hrdshield.notify.schemas import NotificationRead
from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Role
from hrdshield.web.i18n import SUPPORTED_LANGUAGES
from tests import factories
from tests.conftest import TestDatabase
from tests.notify.conftest import NOW

ADDRESS = "defender-qz@example.test"
REFERENCE = {"reference": "R-7K2P"}
ALERT = {
    **REFERENCE,
    "what": "a sudden wave of replies and mentions from many accounts",
    "guide": "https://shield.example.org/guides/documenting-attacks?lang=en",
}


def _enqueue(session: Session, **overrides: object) -> Notification:
    values: dict[str, object] = {
        "session": session,
        "channel": NotificationChannel.EMAIL,
        "address": ADDRESS,
        "language": "es",
        "template": TemplateKey.RECEIPT,
        "context": REFERENCE,
    }
    values.update(overrides)
    return service.enqueue(**values)  # type: ignore[arg-type]


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Notification)) or 0


def test_enqueue_adds_a_pending_row_in_the_callers_transaction(session: Session) -> None:
    notification = _enqueue(session)
    assert notification.status is NotificationStatus.PENDING
    assert notification.attempts == 0
    assert notification.next_attempt_at == notification.created_at
    assert _count(session) == 1
    session.rollback()
    assert _count(session) == 0  # and gone with the caller's rollback


def test_address_and_context_are_encrypted_at_rest(session: Session) -> None:
    notification = _enqueue(session)
    session.commit()
    raw = session.execute(
        text("SELECT address, context FROM notifications WHERE id = :id"), {"id": notification.id}
    ).one()
    assert all(value.startswith("hse1.") for value in raw)
    assert ADDRESS not in "".join(raw)
    assert "R-7K2P" not in "".join(raw)
    session.expire_all()
    reread = session.get(Notification, notification.id)
    assert reread is not None
    assert reread.address == ADDRESS


def test_same_idempotency_key_enqueues_once(database: TestDatabase, session: Session) -> None:
    first = _enqueue(session, idempotency_key="case:abc:receipt")
    again = _enqueue(session, idempotency_key="case:abc:receipt")
    assert again.id == first.id
    session.commit()
    with database.session_factory() as later, later.begin():
        third = _enqueue(later, idempotency_key="case:abc:receipt", language="ar")
        assert third.id == first.id
        assert third.language == "es"  # the first enqueue wins
    assert _count(session) == 1
    other = _enqueue(session)
    assert other.id != first.id  # no key: every enqueue is its own notification


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"address": "not-an-address"}, "e-mail"),
        ({"address": "a@example.test\nBcc: x@example.test"}, "e-mail"),
        ({"address": "  "}, "address"),
        ({"channel": NotificationChannel.WEBHOOK, "address": "http://hooks.example.test"}, "https"),
        ({"channel": NotificationChannel.IN_APP, "address": ADDRESS}, "in-app"),
        ({"channel": ContactChannel.NONE}, "not to be contacted"),
        ({"context": {}}, "needs reference"),
        ({"context": {"reference": "R-1", "name": "Ana"}}, "does not use name"),
        ({"context": {"reference": "R-1\r\nX: y"}}, "single-line"),
        ({"context": {"reference": "R" * 201}}, "single-line"),
        ({"idempotency_key": "receipt for ana@example.test"}, "idempotency key"),
        ({"case_id": "0" * 32}, "does not exist"),
    ],
)
def test_bad_input_is_refused_and_adds_nothing(
    session: Session, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationProblem, match=message):
        _enqueue(session, **overrides)
    assert _count(session) == 0


def test_language_falls_back_to_what_we_can_write(session: Session) -> None:
    assert _enqueue(session, language="es-MX").language == "es"
    assert _enqueue(session, language="AR").language == "ar"
    assert _enqueue(session, language="pt-BR").language == "pt"
    assert _enqueue(session, language="ru_RU").language == "ru"
    assert _enqueue(session, language="sw").language == "en"


def test_contact_channel_values_are_accepted(session: Session) -> None:
    notification = _enqueue(session, channel=ContactChannel.EMAIL)
    assert notification.channel is NotificationChannel.EMAIL


def test_list_for_case_shows_status_without_personal_data(session: Session) -> None:
    lead = factories.principal(factories.user(session, Role.LEAD))
    case = cases.create(
        session=session,
        actor=lead,
        case_in=CaseCreate(category=CaseCategory.HARASSMENT, summary="Pile-on after an article"),
    )
    other = cases.create(
        session=session,
        actor=lead,
        case_in=CaseCreate(category=CaseCategory.DOXXING, summary="Address posted"),
    )
    first = _enqueue(session, case_id=case.id, context={"reference": case.reference})
    second = _enqueue(
        session, case_id=case.id, template=TemplateKey.TRIAGED, context={"reference": "R-2"}
    )
    _enqueue(session, case_id=other.id)
    second.last_error = "SMTP 451"

    listed = service.list_for_case(session=session, case_id=case.id)
    assert [row.id for row in listed] == [first.id, second.id]
    shown = [NotificationRead.model_validate(row).model_dump(mode="json") for row in listed]
    assert shown[1]["last_error"] == "SMTP 451"
    assert shown[1]["template"] == "triaged"
    assert all("address" not in row and "context" not in row for row in shown)

    session.delete(case)
    session.flush()
    session.expire_all()
    assert service.list_for_case(session=session, case_id=case.id) == []
    assert _count(session) == 1  # the case's notifications went with it


def test_enqueue_for_defender_uses_their_channel_language_and_consent(session: Session) -> None:
    lead = factories.principal(factories.user(session, Role.LEAD))
    defender = factories.defender(session, lead, languages=["sw", "fr"])
    notification = service.enqueue_for_defender(
        session=session, defender=defender, template=TemplateKey.PROACTIVE_ALERT, context=ALERT
    )
    assert notification is not None
    assert notification.channel is NotificationChannel.EMAIL
    assert notification.address == "contact@example.test"
    assert notification.language == "fr"
    assert notification.defender_id == defender.id

    defenders.set_consent(
        session=session,
        actor=lead,
        defender_id=defender.id,
        scope=ConsentScope.PROACTIVE_NOTIFICATION,
        granted=False,
    )
    assert (
        service.enqueue_for_defender(
            session=session,
            defender=defender,
            template=TemplateKey.PROACTIVE_ALERT,
            context=ALERT,
        )
        is None
    )
    receipt = service.enqueue_for_defender(
        session=session, defender=defender, template=TemplateKey.RECEIPT, context=REFERENCE
    )
    assert receipt is not None  # a receipt answers their own report: no standing consent needed


def test_enqueue_for_defender_respects_in_app_and_none(session: Session) -> None:
    lead = factories.principal(factories.user(session, Role.LEAD))
    in_app = factories.defender(session, lead, contact_channel="in_app", contact_address=None)
    silent = factories.defender(session, lead, contact_channel="none", contact_address=None)
    notification = service.enqueue_for_defender(
        session=session, defender=in_app, template=TemplateKey.RECEIPT, context=REFERENCE
    )
    assert notification is not None
    assert notification.address == in_app_address(defender_id=in_app.id)
    assert (
        service.enqueue_for_defender(
            session=session, defender=silent, template=TemplateKey.RECEIPT, context=REFERENCE
        )
        is None
    )


def test_requeue_gives_a_failed_notification_new_attempts(session: Session) -> None:
    lead = factories.principal(factories.user(session, Role.LEAD))
    notification = _enqueue(session)
    with pytest.raises(Conflict):
        service.requeue(session=session, actor=lead, notification_id=notification.id)
    notification.status, notification.attempts = NotificationStatus.FAILED, 8
    notification.last_error = "SMTP 550 recipient refused"
    service.requeue(session=session, actor=lead, notification_id=notification.id)
    assert notification.status is NotificationStatus.PENDING
    assert notification.attempts == 0
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.action == "notification.requeue")
    ).one()
    assert entry.entity_id == notification.id
    assert ADDRESS not in entry.detail
    with pytest.raises(NotFound):
        service.requeue(session=session, actor=lead, notification_id="missing")


def test_inbox_lists_newest_first_and_marks_read(session: Session) -> None:
    defender = factories.defender(session)
    stranger = factories.defender(session)
    for minutes, subject in ((0, "first"), (5, "second")):
        session.add(
            InboxMessage(
                defender_id=defender.id,
                language="en",
                subject=subject,
                body="...",
                created_at=NOW + timedelta(minutes=minutes),
            )
        )
    session.add(InboxMessage(defender_id=stranger.id, language="en", subject="x", body="..."))
    session.flush()
    messages = service.inbox(session=session, defender_id=defender.id)
    assert [message.subject for message in messages] == ["second", "first"]
    assert messages[0].read_at is None
    read = service.mark_read(session=session, defender_id=defender.id, message_id=messages[0].id)
    assert read.read_at is not None
    theirs = service.inbox(session=session, defender_id=stranger.id)[0]
    with pytest.raises(NotFound):
        service.mark_read(session=session, defender_id=defender.id, message_id=theirs.id)


# --- texts ---------------------------------------------------------------------------------------


def test_notifications_can_be_written_in_every_interface_language() -> None:
    # A report sent from a page in any language is answered in that language, never in English.
    assert set(SUPPORTED_LANGUAGES) <= set(templates.LANGUAGES)
    assert all(templates.FOOTERS[language].strip() for language in templates.LANGUAGES)


@pytest.mark.parametrize("template", list(TemplateKey))
def test_every_template_exists_in_every_language_with_the_same_placeholders(
    template: TemplateKey,
) -> None:
    assert set(templates.TEMPLATES[template]) == set(templates.LANGUAGES)
    needed = templates.placeholders(template)
    # every message about a case names it; the one about an account names nothing at all
    assert needed == set() if template is TemplateKey.ACCOUNT_EXISTS else "reference" in needed
    for language, text_ in templates.TEMPLATES[template].items():
        found = {
            name
            for part in text_
            for _, name, _, _ in string.Formatter().parse(part)
            if name is not None
        }
        assert found == needed, (template, language)
        assert "\n" not in text_.subject


def test_render_in_each_language() -> None:
    context = {"reference": "R-7K2P", "date": "2027-05-01"}
    rendered = {
        language: templates.render(TemplateKey.RETENTION_WARNING, language, context)
        for language in templates.LANGUAGES
    }
    assert rendered["es"].subject == "Su denuncia R-7K2P se eliminará el 2027-05-01"
    assert rendered["fr"].subject == "Votre signalement R-7K2P sera supprimé le 2027-05-01"
    assert rendered["ar"].subject == "سيُحذف بلاغكم R-7K2P بتاريخ 2027-05-01"
    assert rendered["ru"].subject == "Ваше обращение R-7K2P будет удалено 2027-05-01"
    assert rendered["pt"].subject == "A sua denúncia R-7K2P será apagada em 2027-05-01"
    assert rendered["ru"].body.endswith(f"-- \n{templates.FOOTERS['ru']}\n")
    assert all("2027-05-01" in message.body for message in rendered.values())
    assert templates.render(TemplateKey.RECEIPT, "de", REFERENCE).language == "en"


def test_values_are_not_expanded_twice() -> None:
    rendered = templates.render(TemplateKey.RECEIPT, "en", {"reference": "{reference}!"})
    assert "{reference}!" in rendered.subject
