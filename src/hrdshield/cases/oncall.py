"""The on-call roster, and the alerts the escalation ladder sends through it.

Leads and administrators put people on duty: an on-call lead for a time range, a head of
response usually with no end. At any moment the holder of a duty is the person whose shift
covers that moment and started last. When the ladder climbs, the holder of the matching duty is
alerted through the notification outbox, by e-mail and in the service's inbox, in their language,
with the case reference only. With no on-call lead the head of response is alerted, and with
nobody on either duty every active lead is, so an escalation never goes unheard.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.accounts.models import User
from hrdshield.cases.enums import OnCallDuty
from hrdshield.cases.models import Case
from hrdshield.cases.oncall_models import OnCallShift
from hrdshield.db import split_list
from hrdshield.errors import N_, NotFound, ValidationProblem
from hrdshield.notify import service as notifications
from hrdshield.notify import templates
from hrdshield.notify.channels import in_app_address
from hrdshield.notify.enums import NotificationChannel, TemplateKey
from hrdshield.security import audit
from hrdshield.security.rbac import Principal, Role

log = logging.getLogger("hrdshield.cases")

# Who may hold each duty: leads run the response; an administrator may also head it.
ELIGIBLE: dict[OnCallDuty, frozenset[Role]] = {
    OnCallDuty.LEAD: frozenset({Role.LEAD}),
    OnCallDuty.HEAD_OF_RESPONSE: frozenset({Role.LEAD, Role.ADMIN}),
}
LONGEST_SHIFT = timedelta(days=31)
ALERTS = {OnCallDuty.LEAD: TemplateKey.ESCALATION_LEAD}
ALERTS[OnCallDuty.HEAD_OF_RESPONSE] = TemplateKey.ESCALATION_HEAD


def snapshot(shift: OnCallShift) -> dict[str, Any]:
    """Return the audited state of a shift."""
    return {
        "id": shift.id,
        "duty": shift.duty.value,
        "user_id": shift.user_id,
        "starts_at": shift.starts_at.isoformat(),
        "ends_at": shift.ends_at.isoformat() if shift.ends_at else None,
    }


def eligible_people(*, session: Session) -> list[User]:
    """Return the active users who may hold a duty, oldest account first."""
    roles = set().union(*ELIGIBLE.values())
    query = select(User).where(User.role.in_(roles), User.is_active.is_(True))
    return list(session.scalars(query.order_by(User.created_at, User.id)))


def add_shift(
    *,
    session: Session,
    actor: Principal,
    duty: OnCallDuty,
    user_id: str,
    starts_at: datetime,
    ends_at: datetime | None,
) -> OnCallShift:
    """Put somebody on duty from `starts_at` until `ends_at` (None: until replaced)."""
    person = session.get(User, user_id)
    if person is None or not person.is_active or person.role not in ELIGIBLE[duty]:
        raise NotFound(N_("no active person who may hold this duty has that id"))
    if starts_at.tzinfo is None or (ends_at is not None and ends_at.tzinfo is None):
        raise ValidationProblem(N_("give the times of a shift with their time zone"))
    if ends_at is not None and ends_at <= starts_at:
        raise ValidationProblem(N_("a shift must end after it starts"))
    if duty is OnCallDuty.LEAD and (ends_at is None or ends_at - starts_at > LONGEST_SHIFT):
        raise ValidationProblem(
            N_("an on-call shift needs an end, at most 31 days after its start")
        )
    shift = OnCallShift(
        duty=duty,
        user_id=person.id,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=actor.user_id,
        created_at=clock.now(),
    )
    session.add(shift)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="oncall.add",
        entity_type="oncall_shift",
        entity_id=shift.id,
        after=snapshot(shift),
        detail={"duty": duty.value},
    )
    return shift


def remove_shift(*, session: Session, actor: Principal, shift_id: str) -> None:
    """Take a shift off the roster."""
    shift = session.get(OnCallShift, shift_id)
    if shift is None:
        raise NotFound(N_("no such shift"))
    before = snapshot(shift)
    session.delete(shift)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="oncall.remove",
        entity_type="oncall_shift",
        entity_id=shift_id,
        before=before,
        detail={"duty": before["duty"]},
    )


def roster(*, session: Session, now: datetime | None = None) -> list[OnCallShift]:
    """Return the shifts that have not ended, soonest first."""
    now = now or clock.now()
    query = select(OnCallShift).where(or_(OnCallShift.ends_at.is_(None), OnCallShift.ends_at > now))
    return list(session.scalars(query.order_by(OnCallShift.starts_at, OnCallShift.id)))


def on_duty(*, session: Session, duty: OnCallDuty, at: datetime | None = None) -> User | None:
    """Return who holds `duty` at `at`: the active holder of the latest shift that covers it."""
    at = at or clock.now()
    query = (
        select(User)
        .join(OnCallShift, OnCallShift.user_id == User.id)
        .where(
            OnCallShift.duty == duty,
            OnCallShift.starts_at <= at,
            or_(OnCallShift.ends_at.is_(None), OnCallShift.ends_at > at),
            User.is_active.is_(True),
            User.role.in_(ELIGIBLE[duty]),
        )
        .order_by(OnCallShift.starts_at.desc(), OnCallShift.id)
        .limit(1)
    )
    return session.scalar(query)


def recipients(*, session: Session, duty: OnCallDuty, at: datetime) -> list[User]:
    """Return whom an escalation of `duty` reaches, falling back so that somebody always hears."""
    holder = on_duty(session=session, duty=duty, at=at)
    if holder is None and duty is OnCallDuty.LEAD:
        holder = on_duty(session=session, duty=OnCallDuty.HEAD_OF_RESPONSE, at=at)
    if holder is not None:
        return [holder]
    leads = select(User).where(User.role == Role.LEAD, User.is_active.is_(True))
    return list(session.scalars(leads.order_by(User.created_at, User.id)))


def language_of(user: User) -> str:
    """Return the language to write to a member of staff in: their interface, else their first."""
    for code in [user.ui_language or "", *split_list(user.languages)]:
        if code and templates.primary_subtag(code) in templates.LANGUAGES:
            return templates.primary_subtag(code)
    return templates.DEFAULT_LANGUAGE


def alert(*, session: Session, escalated: Case, duty: OnCallDuty, level: int, at: datetime) -> int:
    """Queue the escalation alert for `duty` by e-mail and in-app; return how many people.

    The idempotency keys name the case, the level and the channel, so a ladder run twice (or
    by two servers) alerts each person once.
    """
    people = recipients(session=session, duty=duty, at=at)
    for person in people:
        for channel, address in (
            (NotificationChannel.EMAIL, person.email),
            (NotificationChannel.IN_APP, in_app_address(user_id=person.id)),
        ):
            key = f"case-{escalated.id}-escalation-{level}-{person.id}-{channel.value}"
            try:
                notifications.enqueue(
                    session=session,
                    channel=channel,
                    address=address,
                    language=language_of(person),
                    template=ALERTS[duty],
                    context={"reference": escalated.reference},
                    case_id=escalated.id,
                    idempotency_key=key,
                )
            except ValidationProblem:  # an unusable address must not stop the other alerts
                log.warning(
                    "case %s: user %s cannot be alerted by %s",
                    escalated.id,
                    person.id,
                    channel.value,
                )
    if not people:
        log.warning("case %s escalated with nobody on duty and no active lead", escalated.id)
    return len(people)
