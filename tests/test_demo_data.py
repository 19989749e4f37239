"""The demo data: what `make run` seeds for people trying the service."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdshield import demo_data
from hrdshield.accounts.models import User
from hrdshield.db import split_list
from hrdshield.web.i18n import SUPPORTED_LANGUAGES


def test_demo_staff_see_reports_sent_in_every_interface_language(session: Session) -> None:
    assert demo_data.seed_demo(session=session)
    staff = [user for user in session.scalars(select(User)) if user.role.is_staff]
    assert staff
    for user in staff:
        # The queue shows a reviewer only the cases in their languages.
        assert set(SUPPORTED_LANGUAGES) <= set(split_list(user.languages)), user.role
