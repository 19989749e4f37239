"""Defenders service: enrolment per role, scoping, updates, identifiers as keyed hashes, consent."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from hrdshield.db import new_id
from hrdshield.defenders import identifiers, service
from hrdshield.defenders.enums import (
    ConsentScope,
    DefenderStatus,
    EnrolmentRoute,
    IdentifierKind,
    RiskLevel,
)
from hrdshield.defenders.models import Defender, ProtectedIdentifier
from hrdshield.defenders.schemas import DefenderUpdate, IdentifierIn
from hrdshield.errors import Conflict, Forbidden, NotFound, ValidationProblem
from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Principal, Role
from tests import factories

PHONE = "+44 7700 900456"
PHONE_FORMS = [("+44 7700 900456", None), ("+44 (0)7700 900456", "GB"), ("0044-7700-900456", None)]
SQL_LOOKING = "Robert'); DROP TABLE defenders;--"


def _acting(session: Session, role: Role) -> Principal:
    """Return a principal of `role`; services need a user row only for an HRD's own enrolment."""
    organisation_id = factories.organisation(session).id if role is Role.PARTNER else None
    return Principal(new_id(), role, organisation_id)


def _actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


def _phone(value: str = PHONE) -> list[IdentifierIn]:
    return [IdentifierIn(kind=IdentifierKind.PHONE, value=value)]


@pytest.fixture
def lead(session: Session) -> Principal:
    """Return a lead who enrols defenders."""
    return _acting(session, Role.LEAD)


@dataclass
class World:
    """Two partner organisations, a principal of each role and a defender per route."""

    staff: Principal
    partner_a: Principal
    partner_b: Principal
    hrd: Principal
    auditor: Principal
    by_partner_a: Defender
    by_partner_b: Defender
    by_staff: Defender
    by_self: Defender


@pytest.fixture
def world(session: Session) -> World:
    """Enrol one defender through each route."""
    staff = _acting(session, Role.REVIEWER)
    partner_a = _acting(session, Role.PARTNER)
    partner_b = _acting(session, Role.PARTNER)
    hrd = factories.principal(factories.user(session, Role.HRD))
    auditor = _acting(session, Role.AUDITOR)
    return World(
        staff=staff,
        partner_a=partner_a,
        partner_b=partner_b,
        hrd=hrd,
        auditor=auditor,
        by_partner_a=factories.defender(session, partner_a),
        by_partner_b=factories.defender(session, partner_b),
        by_staff=factories.defender(session, staff),
        by_self=factories.defender(session, hrd, identifiers=[]),
    )


# --- enrolment ----------------------------------------------------------------------------------


def test_staff_enrolment_is_active_with_consent_and_audit(
    lead: Principal, session: Session
) -> None:
    defender = factories.defender(session, lead)

    assert defender.status is DefenderStatus.ACTIVE
    assert defender.enrolled_via is EnrolmentRoute.STAFF
    assert defender.user_id is None
    assert "Test Defender" not in defender.pseudonym
    scopes = {consent.scope for consent in defender.consents}
    assert scopes == {ConsentScope.PROCESSING, ConsentScope.PROACTIVE_NOTIFICATION}
    assert all(consent.policy_version and consent.is_active for consent in defender.consents)
    assert {item.kind for item in defender.identifiers} == {
        IdentifierKind.PHONE,
        IdentifierKind.HANDLE,
    }
    assert "defender.enrol" in _actions(session)


def test_self_enrolment_waits_for_verification_and_happens_once(session: Session) -> None:
    user = factories.user(session, Role.HRD)
    actor = factories.principal(user)
    other = factories.organisation(session)

    defender = factories.defender(session, actor, organisation_id=other.id)

    assert defender.status is DefenderStatus.PENDING
    assert defender.enrolled_via is EnrolmentRoute.SELF
    assert defender.user_id == user.id
    assert defender.organisation_id is None
    with pytest.raises(Conflict):
        factories.defender(session, actor)


def test_partner_enrols_for_its_own_organisation_only(session: Session) -> None:
    partner = _acting(session, Role.PARTNER)
    other = factories.organisation(session)

    defender = factories.defender(session, partner)
    explicit = factories.defender(session, partner, organisation_id=partner.organisation_id)

    assert defender.enrolled_via is EnrolmentRoute.PARTNER
    assert defender.status is DefenderStatus.ACTIVE
    assert defender.organisation_id == explicit.organisation_id == partner.organisation_id
    with pytest.raises(Forbidden):
        factories.defender(session, partner, organisation_id=other.id)


def test_staff_may_attach_an_existing_organisation(lead: Principal, session: Session) -> None:
    organisation = factories.organisation(session)
    assert factories.defender(session, lead, organisation_id=organisation.id).organisation_id == (
        organisation.id
    )
    with pytest.raises(NotFound):
        factories.defender(session, lead, organisation_id="0" * 32)


@pytest.mark.parametrize("role", [Role.AUDITOR, None])
def test_roles_without_enrolment_rights_are_refused(session: Session, role: Role | None) -> None:
    actor = _acting(session, role) if role else Principal.system("rule")
    with pytest.raises(Forbidden):
        factories.defender(session, actor)


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"consents": [ConsentScope.PROACTIVE_NOTIFICATION]}, ValidationProblem),
        ({"identifiers": _phone("not a phone number")}, ValidationProblem),
        ({"identifiers": _phone("+44 12")}, ValidationProblem),
        ({"identifiers": _phone("07700 900456")}, ValidationProblem),
        ({"handles": ["@"]}, ValidationProblem),
    ],
    ids=[
        "no-processing-consent",
        "bad-phone",
        "too-short-phone",
        "foreign-phone-in-national-form",
        "empty-handle",
    ],
)
def test_bad_enrolments_are_refused(
    lead: Principal, session: Session, overrides: dict[str, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        factories.defender(session, lead, **overrides)


def test_a_national_form_that_is_not_a_number_of_the_country_asks_for_the_code(
    lead: Principal, session: Session
) -> None:
    with pytest.raises(ValidationProblem, match=r"phone: not a valid number in KE.*country code"):
        factories.defender(session, lead, country="KE", identifiers=_phone("07700 900456"))
    local = factories.defender(session, lead, country="GB", identifiers=_phone("020 7946 0456"))
    assert service.match_identifier(
        session=session, kind=IdentifierKind.PHONE, value="+44 20 7946 0456"
    ) == [local.id]


def test_blank_display_name_is_refused() -> None:
    with pytest.raises(ValueError, match="name"):
        factories.defender_in(display_name="   ")


def test_hostile_strings_are_stored_verbatim(lead: Principal, session: Session) -> None:
    defender = factories.defender(
        session, lead, display_name=SQL_LOOKING, contact_address="<b>x</b>"
    )
    session.commit()
    session.expire_all()
    reloaded = session.get(Defender, defender.id)
    assert reloaded is not None
    assert reloaded.display_name == SQL_LOOKING
    assert reloaded.contact_address == "<b>x</b>"


# --- personal data at rest ----------------------------------------------------------------------


def _raw_database_text(session: Session) -> str:
    """Return every cell of every table as text, read without the ORM's decryption."""
    cells: list[str] = []
    for table in inspect(session.connection()).get_table_names():
        for row in session.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608  (known names)
            cells.extend(str(cell) for cell in row)
    return "\n".join(cells).casefold()


def test_personal_details_and_identifiers_are_never_stored_in_clear(
    lead: Principal, session: Session
) -> None:
    secrets = {
        "display_name": "Amara Synthetic-Defender",
        "handle": "amara_synthetic_handle",
        "contact": "amara.private@example.test",
        "address": "12 Synthetic Street, Nairobi",
        "national_id": "SYN-998877",
    }
    factories.defender(
        session,
        display_name=secrets["display_name"],
        handles=[f"@{secrets['handle']}"],
        contact_address=secrets["contact"],
        groups=["women_hrd"],
        identifiers=[
            *_phone(),
            IdentifierIn(kind=IdentifierKind.ADDRESS, value=secrets["address"]),
            IdentifierIn(kind=IdentifierKind.NATIONAL_ID, value=secrets["national_id"]),
        ],
    )
    session.flush()

    raw = _raw_database_text(session)

    for value in secrets.values():
        assert value.casefold() not in raw
    assert "women_hrd" not in raw
    for written in ("7700900456", "7700 900456"):
        assert written not in raw


def test_identifier_digests_are_keyed_not_plain_hashes(lead: Principal, session: Session) -> None:
    defender = factories.defender(session, lead, handles=[])
    digest = session.scalar(
        select(ProtectedIdentifier.digest).where(ProtectedIdentifier.defender_id == defender.id)
    )
    canonical = identifiers.canonical(IdentifierKind.PHONE, PHONE)
    assert digest is not None
    assert digest not in {
        hashlib.sha256(canonical.encode()).hexdigest(),
        hashlib.sha256(f"phone\x1f{canonical}".encode()).hexdigest(),
    }


# --- matching -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("written", "region"), PHONE_FORMS)
def test_match_finds_active_defenders_by_any_written_form(
    lead: Principal, session: Session, written: str, region: str | None
) -> None:
    defender = factories.defender(session, lead)
    factories.defender(session, lead, identifiers=_phone("+44 7700 900999"))

    found = service.match_identifier(
        session=session, kind=IdentifierKind.PHONE, value=written, region=region
    )

    assert found == [defender.id]


def test_match_by_handle_in_any_form(lead: Principal, session: Session) -> None:
    defender = factories.defender(session, lead, handles=["@Amara_Watch"])
    for written in ("amara_watch", "https://platform.example/@AMARA_WATCH"):
        assert service.match_identifier(
            session=session, kind=IdentifierKind.HANDLE, value=written
        ) == [defender.id]
    # The same string as another kind of identifier is not a match.
    assert service.match_identifier(session=session, kind=IdentifierKind.EMAIL, value="a@b.c") == []


def test_match_ignores_pending_and_withdrawn_defenders(lead: Principal, session: Session) -> None:
    pending = factories.defender(session, factories.principal(factories.user(session, Role.HRD)))
    withdrawn = factories.defender(session, lead)
    service.set_consent(
        session=session,
        actor=lead,
        defender_id=withdrawn.id,
        scope=ConsentScope.PROCESSING,
        granted=False,
    )
    assert pending.status is DefenderStatus.PENDING
    assert service.match_identifier(session=session, kind=IdentifierKind.PHONE, value=PHONE) == []


@pytest.mark.parametrize("value", ["", "not a phone", "07700 900456", "+" + "9" * 400])
def test_match_with_unusable_input_finds_nothing(
    lead: Principal, session: Session, value: str
) -> None:
    factories.defender(session, lead)
    assert service.match_identifier(session=session, kind=IdentifierKind.PHONE, value=value) == []


def test_adding_an_identifier_in_another_written_form_adds_nothing(
    lead: Principal, session: Session
) -> None:
    defender = factories.defender(session, lead)
    count = len(defender.identifiers)

    again = service.add_identifiers(
        session=session,
        actor=lead,
        defender_id=defender.id,
        entered=_phone("0044-7700-900456"),
    )
    new = service.add_identifiers(
        session=session,
        actor=lead,
        defender_id=defender.id,
        entered=[IdentifierIn(kind=IdentifierKind.EMAIL, value="Amara@Example.test")],
    )

    assert again == 0
    assert new == 1
    assert len(defender.identifiers) == count + 1
    assert _actions(session).count("defender.identifiers.add") == 2
    assert service.match_identifier(
        session=session, kind=IdentifierKind.EMAIL, value="amara@example.TEST"
    ) == [defender.id]


# --- scoping ------------------------------------------------------------------------------------


def _visible(session: Session, actor: Principal) -> set[str]:
    rows, total = service.list_page(session=session, actor=actor, limit=200)
    assert total == len(rows)
    return {row.id for row in rows}


def test_each_role_sees_only_its_defenders(session: Session, world: World) -> None:
    everyone = {
        world.by_partner_a.id,
        world.by_partner_b.id,
        world.by_staff.id,
        world.by_self.id,
    }
    assert _visible(session, world.staff) == everyone
    assert _visible(session, world.partner_a) == {world.by_partner_a.id}
    assert _visible(session, world.partner_b) == {world.by_partner_b.id}
    assert _visible(session, world.hrd) == {world.by_self.id}
    assert _visible(session, world.auditor) == set()
    assert _visible(session, Principal.system("rule")) == set()


def test_hidden_defenders_are_not_found_rather_than_forbidden(
    session: Session, world: World
) -> None:
    hidden = [
        (world.partner_a, world.by_partner_b),
        (world.partner_a, world.by_self),
        (world.hrd, world.by_partner_a),
        (world.auditor, world.by_staff),
    ]
    for actor, defender in hidden:
        with pytest.raises(NotFound):
            service.get(session=session, actor=actor, defender_id=defender.id)
        with pytest.raises(NotFound):
            service.update(
                session=session,
                actor=actor,
                defender_id=defender.id,
                defender_in=DefenderUpdate(display_name="Changed"),
            )
    assert service.get(session=session, actor=world.partner_a, defender_id=world.by_partner_a.id)


def test_list_filters_by_status_and_pages(session: Session, world: World) -> None:
    pending, pending_total = service.list_page(
        session=session, actor=world.staff, status=DefenderStatus.PENDING
    )
    assert pending_total == 1
    assert [row.id for row in pending] == [world.by_self.id]
    first, total = service.list_page(session=session, actor=world.staff, limit=2)
    second, _ = service.list_page(session=session, actor=world.staff, offset=2, limit=2)
    assert total == 4
    assert len(first) == len(second) == 2
    assert not {row.id for row in first} & {row.id for row in second}


# --- updates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [{"risk_level": RiskLevel.LOW}, {"status": DefenderStatus.ACTIVE}],
    ids=["risk", "status"],
)
def test_only_staff_change_risk_and_status(
    session: Session, world: World, change: dict[str, Any]
) -> None:
    for actor, defender in ((world.hrd, world.by_self), (world.partner_a, world.by_partner_a)):
        before = (defender.risk_level, defender.status)
        with pytest.raises(Forbidden):
            service.update(
                session=session,
                actor=actor,
                defender_id=defender.id,
                defender_in=DefenderUpdate(**change),
            )
        assert (defender.risk_level, defender.status) == before

    updated = service.update(
        session=session,
        actor=world.staff,
        defender_id=world.by_self.id,
        defender_in=DefenderUpdate(**change),
    )
    assert all(getattr(updated, name) == value for name, value in change.items())


def test_defender_updates_own_profile_and_it_is_audited(session: Session, world: World) -> None:
    updated = service.update(
        session=session,
        actor=world.hrd,
        defender_id=world.by_self.id,
        defender_in=DefenderUpdate(
            display_name="New Name",
            country="mx",
            languages=["es", "es", "en"],
            contact_address=None,
        ),
    )
    assert updated.display_name == "New Name"
    assert updated.country == "MX"
    assert updated.languages.split(",") == ["es", "en"]
    assert updated.contact_address is None
    assert updated.status is DefenderStatus.PENDING
    assert "defender.update" in _actions(session)


def test_nulls_in_an_update_leave_fields_as_they_are(session: Session, world: World) -> None:
    defender = world.by_partner_a
    before = service.snapshot(defender)
    service.update(
        session=session,
        actor=world.partner_a,
        defender_id=defender.id,
        defender_in=DefenderUpdate.model_validate(
            {
                "display_name": None,
                "handles": None,
                "groups": None,
                "languages": None,
                "country": None,
                "risk_level": None,
                "status": None,
                "contact_channel": None,
            }
        ),
    )
    assert service.snapshot(defender) == before


def test_new_handles_become_protected_identifiers(session: Session, world: World) -> None:
    service.update(
        session=session,
        actor=world.staff,
        defender_id=world.by_staff.id,
        defender_in=DefenderUpdate(handles=["@renamed_handle"]),
    )
    found = service.match_identifier(
        session=session, kind=IdentifierKind.HANDLE, value="renamed_handle"
    )
    assert found == [world.by_staff.id]


# --- consent ------------------------------------------------------------------------------------


def _consent(
    session: Session, actor: Principal, defender: Defender, scope: ConsentScope, *, on: bool
) -> Defender:
    return service.set_consent(
        session=session, actor=actor, defender_id=defender.id, scope=scope, granted=on
    )


def test_withdrawing_processing_consent_ends_protection(session: Session, world: World) -> None:
    defender = world.by_partner_a
    assert service.match_identifier(session=session, kind=IdentifierKind.PHONE, value=PHONE)

    _consent(session, world.partner_a, defender, ConsentScope.PROCESSING, on=False)

    assert defender.status is DefenderStatus.WITHDRAWN
    processing = [c for c in defender.consents if c.scope is ConsentScope.PROCESSING]
    assert processing
    assert all(not consent.is_active for consent in processing)
    assert all(consent.withdrawn_by == world.partner_a.user_id for consent in processing)
    assert defender.id not in service.match_identifier(
        session=session, kind=IdentifierKind.PHONE, value=PHONE
    )
    assert "defender.consent.withdraw" in _actions(session)


def test_other_consents_are_withdrawn_and_granted_on_their_own(
    session: Session, world: World
) -> None:
    defender = world.by_self
    _consent(session, world.hrd, defender, ConsentScope.PROACTIVE_NOTIFICATION, on=False)
    assert defender.status is DefenderStatus.PENDING

    _consent(session, world.hrd, defender, ConsentScope.THREAT_SHARING, on=True)
    _consent(session, world.hrd, defender, ConsentScope.THREAT_SHARING, on=True)
    _consent(session, world.hrd, defender, ConsentScope.PROACTIVE_NOTIFICATION, on=True)

    active = [c.scope for c in defender.consents if c.is_active]
    assert sorted(active, key=lambda scope: scope.value) == sorted(
        {ConsentScope.PROCESSING, ConsentScope.THREAT_SHARING, ConsentScope.PROACTIVE_NOTIFICATION},
        key=lambda scope: scope.value,
    )
    history = [c for c in defender.consents if c.scope is ConsentScope.PROACTIVE_NOTIFICATION]
    assert len(history) == 2  # the withdrawn record is kept, not erased
    assert "defender.consent.grant" in _actions(session)


def test_consent_of_a_hidden_defender_is_not_found(session: Session, world: World) -> None:
    with pytest.raises(NotFound):
        _consent(session, world.partner_b, world.by_partner_a, ConsentScope.PROCESSING, on=False)
    assert world.by_partner_a.status is DefenderStatus.ACTIVE
