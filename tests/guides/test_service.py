"""Checklist progress: saved as the defender ticked it, audited without saying which guide, kept
to its owner, and unchanged by a save that is refused."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdshield.errors import Forbidden, ValidationProblem
from hrdshield.guides import service
from hrdshield.guides.loader import Guide, GuideLibrary, default_library
from hrdshield.guides.models import ChecklistProgress
from hrdshield.security import audit
from hrdshield.security.crypto import current_keyring
from hrdshield.security.models import AuditEntry
from hrdshield.security.rbac import Principal, Role
from tests import factories


@pytest.fixture(name="library")
def library_fixture() -> GuideLibrary:
    """Return the shipped guides."""
    return default_library()


def _guide(library: GuideLibrary, slug: str = "securing-your-account") -> Guide:
    found = library.find(slug, "en")
    assert found is not None
    return found.guide


def _defender(session: Session) -> Principal:
    return factories.principal(factories.user(session, Role.HRD))


def _progress_entries(session: Session) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.action == "guide.progress.save")
    return list(session.scalars(query.order_by(AuditEntry.seq)))


def test_save_ticks_and_clears_and_is_audited(session: Session, library: GuideLibrary) -> None:
    guide = _guide(library)
    actor = _defender(session)
    change = service.save_progress(
        session=session, actor=actor, guide=guide, checked=["enable-2fa", "password-manager"]
    )
    assert change.checked == ("enable-2fa", "password-manager")
    assert change.cleared == ()
    assert service.checked_items(session=session, actor=actor) == {
        guide.slug: frozenset({"enable-2fa", "password-manager"})
    }

    change = service.save_progress(
        session=session, actor=actor, guide=guide, checked=["enable-2fa", "review-sessions"]
    )
    assert change.checked == ("review-sessions",)
    assert change.cleared == ("password-manager",)
    rows = session.scalars(
        select(ChecklistProgress).where(ChecklistProgress.user_id == actor.user_id)
    )
    assert {row.item_id for row in rows} == {"enable-2fa", "review-sessions"}

    entries = _progress_entries(session)
    assert len(entries) == 2
    assert [json.loads(entry.detail) for entry in entries] == [
        {"checked": 2, "cleared": 0},
        {"checked": 1, "cleared": 1},
    ]
    last = entries[-1]
    assert (last.actor_id, last.actor_role, last.entity_id) == (actor.user_id, "hrd", actor.user_id)
    # The entry proves the state without naming the guide or the items.
    assert last.after_digest == audit.digest(
        {"guide": guide.slug, "items": ["enable-2fa", "review-sessions"]}
    )
    assert guide.slug not in last.detail
    assert "enable-2fa" not in last.detail
    assert audit.verify(session, current_keyring()).ok


def test_a_save_that_changes_nothing_adds_no_audit_entry(
    session: Session, library: GuideLibrary
) -> None:
    guide = _guide(library)
    actor = _defender(session)
    service.save_progress(session=session, actor=actor, guide=guide, checked=["enable-2fa"])
    change = service.save_progress(
        session=session, actor=actor, guide=guide, checked=["enable-2fa", "enable-2fa"]
    )
    assert not change.changed
    assert len(_progress_entries(session)) == 1


@pytest.mark.parametrize(
    "checked",
    [
        ["enable-2fa", "not-an-item"],
        ["find-the-button"],  # an item of another guide
        [f"item-{n}" for n in range(service.MAX_ITEMS + 1)],
    ],
)
def test_unknown_items_are_refused_and_nothing_changes(
    session: Session, library: GuideLibrary, checked: list[str]
) -> None:
    guide = _guide(library)
    actor = _defender(session)
    service.save_progress(session=session, actor=actor, guide=guide, checked=["password-manager"])
    with pytest.raises(ValidationProblem):
        service.save_progress(session=session, actor=actor, guide=guide, checked=checked)
    assert service.checked_items(session=session, actor=actor) == {
        guide.slug: frozenset({"password-manager"})
    }
    assert len(_progress_entries(session)) == 1


def test_progress_is_kept_per_person_and_per_guide(session: Session, library: GuideLibrary) -> None:
    first, second = _defender(session), _defender(session)
    accounts, lockdown = _guide(library), _guide(library, "using-lockdown")
    service.save_progress(session=session, actor=first, guide=accounts, checked=["enable-2fa"])
    service.save_progress(session=session, actor=first, guide=lockdown, checked=["decide-when"])
    service.save_progress(session=session, actor=second, guide=accounts, checked=[])
    assert service.checked_items(session=session, actor=second) == {}
    counts = service.progress_counts(
        session=session, actor=first, guides=[found.guide for found in library.listing("en")]
    )
    assert counts[accounts.slug] == service.Progress(done=1, total=len(accounts.checklist))
    assert counts[lockdown.slug] == service.Progress(done=1, total=len(lockdown.checklist))
    assert counts["protecting-devices"].done == 0


def test_items_no_longer_in_a_guide_are_not_counted_and_are_cleared_on_save(
    session: Session, library: GuideLibrary
) -> None:
    guide = _guide(library)
    actor = _defender(session)
    session.add(
        ChecklistProgress(user_id=actor.user_id, guide_slug=guide.slug, item_id="retired-item")
    )
    session.flush()
    counts = service.progress_counts(session=session, actor=actor, guides=[guide])
    assert counts[guide.slug].done == 0
    change = service.save_progress(session=session, actor=actor, guide=guide, checked=[])
    assert change.cleared == ("retired-item",)


def test_only_a_signed_in_person_has_progress(session: Session, library: GuideLibrary) -> None:
    with pytest.raises(Forbidden):
        service.checked_items(session=session, actor=Principal.system("rule"))
    with pytest.raises(Forbidden):
        service.save_progress(
            session=session, actor=Principal.system(), guide=_guide(library), checked=[]
        )


def test_progress_goes_with_the_account(session: Session, library: GuideLibrary) -> None:
    user = factories.user(session, Role.HRD)
    service.save_progress(
        session=session,
        actor=factories.principal(user),
        guide=_guide(library),
        checked=["enable-2fa"],
    )
    session.delete(user)
    session.flush()
    assert session.scalar(select(ChecklistProgress.item_id)) is None
