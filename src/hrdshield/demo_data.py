"""Synthetic demo data for `make run` and the tests: an organisation, one user per role, three
enrolled defenders and a few cases. Every name, handle and number here is invented.

The passwords and the two-step key are published in the README, which is why the `demo` command
refuses to run in production.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.accounts import service as accounts
from hrdshield.accounts.models import Organisation
from hrdshield.cases import oncall
from hrdshield.cases import service as cases
from hrdshield.cases.enums import CaseCategory, OnCallDuty
from hrdshield.cases.schemas import CaseCreate
from hrdshield.defenders import service as defenders
from hrdshield.defenders.enums import (
    ConsentScope,
    ContactChannel,
    DefenderGroup,
    DefenderStatus,
    IdentifierKind,
    RiskLevel,
)
from hrdshield.defenders.schemas import DefenderCreate, DefenderUpdate, IdentifierIn
from hrdshield.security.rbac import Principal, Role

DEMO_PASSWORD = "demo-password-2026"
DEMO_TOTP_SECRET = "DEMOKEYDEMOKEYDEMOKEYDEMOKEYDEMO"
DEMO_ORGANISATION = "Demo Defenders Network"
DEMO_USERS = [
    ("admin@demo.hrdshield.test", "Demo Admin", Role.ADMIN),
    ("lead@demo.hrdshield.test", "Demo Lead", Role.LEAD),
    ("reviewer@demo.hrdshield.test", "Demo Reviewer", Role.REVIEWER),
    ("auditor@demo.hrdshield.test", "Demo Auditor", Role.AUDITOR),
    ("partner@demo.hrdshield.test", "Demo Partner Officer", Role.PARTNER),
    ("defender@demo.hrdshield.test", "Amara (demo)", Role.HRD),
]
DEMO_DEFENDERS = [
    DefenderCreate(
        display_name="Amara (demo)",
        handles=["@demo_hrd_amara"],
        country="KE",
        languages=["en", "sw"],
        groups=[DefenderGroup.JOURNALIST, DefenderGroup.WOMEN_HRD],
        risk_level=RiskLevel.HIGH,
        contact_channel=ContactChannel.IN_APP,
        identifiers=[
            IdentifierIn(kind=IdentifierKind.PHONE, value="+44 7700 900123"),
            IdentifierIn(kind=IdentifierKind.ADDRESS, value="12 Example Lane, Testville"),
        ],
        consents=[
            ConsentScope.PROCESSING,
            ConsentScope.PROACTIVE_NOTIFICATION,
            ConsentScope.PARTNER_ACTIONS,
        ],
    ),
    DefenderCreate(
        display_name="Lucía (demo)",
        handles=["@demo_hrd_lucia"],
        country="MX",
        languages=["es"],
        groups=[DefenderGroup.ENVIRONMENTAL_LAND, DefenderGroup.INDIGENOUS],
        risk_level=RiskLevel.CRITICAL,
        contact_channel=ContactChannel.EMAIL,
        contact_address="lucia@demo.hrdshield.test",
        identifiers=[IdentifierIn(kind=IdentifierKind.PHONE, value="+1 555 0100")],
        consents=[ConsentScope.PROCESSING, ConsentScope.PROACTIVE_NOTIFICATION],
    ),
    DefenderCreate(
        display_name="Karim (demo)",
        handles=["@demo_hrd_karim"],
        country="TN",
        languages=["ar", "fr"],
        groups=[DefenderGroup.LAWYER, DefenderGroup.LGBTI],
        risk_level=RiskLevel.MEDIUM,
        contact_channel=ContactChannel.IN_APP,
        consents=[ConsentScope.PROCESSING],
    ),
]


def seed_demo(*, session: Session) -> bool:
    """Create the demo data unless it exists; return whether anything was created."""
    if accounts.find_by_email(session=session, email=DEMO_USERS[0][0]) is not None:
        return False
    system = Principal.system("demo")
    organisation = session.scalar(
        select(Organisation).where(Organisation.name == DEMO_ORGANISATION)
    )
    if organisation is None:
        organisation = accounts.create_organisation(
            session=session, actor=system, name=DEMO_ORGANISATION, country="KE"
        )
    users = {}
    for email, name, role in DEMO_USERS:
        created = accounts.create_user(
            session=session,
            actor=system,
            email=email,
            display_name=name,
            password=DEMO_PASSWORD,
            role=role,
            organisation_id=organisation.id if role is Role.PARTNER else None,
            languages="en,es,fr,ar,ru,pt",  # reports arrive in every interface language
            regions="KE,MX,TN",
        )
        if role.is_staff:
            created.totp_secret = DEMO_TOTP_SECRET
        users[role] = created
    partner = Principal(users[Role.PARTNER].id, Role.PARTNER, organisation.id)
    hrd = Principal(users[Role.HRD].id, Role.HRD)
    lead = Principal(users[Role.LEAD].id, Role.LEAD)
    amara = defenders.enrol(session=session, actor=hrd, defender_in=DEMO_DEFENDERS[0])
    defenders.update(
        session=session,
        actor=lead,
        defender_id=amara.id,
        defender_in=DefenderUpdate(status=DefenderStatus.ACTIVE),
    )
    lucia = defenders.enrol(session=session, actor=partner, defender_in=DEMO_DEFENDERS[1])
    defenders.enrol(session=session, actor=lead, defender_in=DEMO_DEFENDERS[2])
    cases.create(
        session=session,
        actor=partner,
        case_in=CaseCreate(
            category=CaseCategory.THREAT_OF_VIOLENCE,
            defender_id=lucia.id,
            summary="Replies threatening violence after a river-protection post (synthetic)",
        ),
    )
    enrolled_hrd = Principal(hrd.user_id, Role.HRD, defender_id=amara.id)
    cases.create(
        session=session,
        actor=enrolled_hrd,
        case_in=CaseCreate(
            category=CaseCategory.IMPERSONATION,
            summary="An account copying my name and photo (synthetic)",
        ),
    )
    # the demo lead heads the response, so the ladder's alerts reach somebody on the roster
    oncall.add_shift(
        session=session,
        actor=system,
        duty=OnCallDuty.HEAD_OF_RESPONSE,
        user_id=users[Role.LEAD].id,
        starts_at=clock.now(),
        ends_at=None,
    )
    _seed_platform(session)
    return True


def _seed_platform(session: Session) -> None:
    try:
        from hrdshield.demo_platform import generator  # noqa: PLC0415
    except ImportError:  # the platform simulator is optional for the core demo data
        return
    import random  # noqa: PLC0415

    generator.seed_platform(session=session, rng=random.Random(2026))  # noqa: S311  (synthetic data)


def credentials_text() -> str:
    """Return the demo sign-in details to print for a newcomer."""
    lines = ["Demo sign-in (all accounts): password " + DEMO_PASSWORD]
    lines += [f"  {role.value:<9} {email}" for email, _, role in DEMO_USERS]
    lines.append("Staff accounts ask for a two-step code: run `.venv/bin/hrdshield demo code`,")
    lines.append(f"or add the key {DEMO_TOTP_SECRET} to an authenticator app.")
    return "\n".join(lines)
