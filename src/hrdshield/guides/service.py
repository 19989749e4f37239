"""Which guide answers which attack, and each defender's own checklist progress.

Progress belongs to the defender who ticked it: every function here reads and writes only the
rows of the acting user, and no function takes another user's id. Each saved change is in the
audit log as digests of the before and after state and counts of items ticked and cleared, so
the log proves that something changed without telling its readers which guide a defender is
working through.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.errors import Forbidden, ValidationProblem
from hrdshield.guides.loader import Guide
from hrdshield.guides.models import ChecklistProgress
from hrdshield.security import audit
from hrdshield.security.rbac import Principal

# The guide a notification about each kind of detected attack points to ("what you can do now").
DETECTOR_GUIDES = {
    "targeted_abuse": "documenting-attacks",
    "pile_on": "documenting-attacks",
    "smear_campaign": "documenting-attacks",
    "doxxing": "responding-to-doxxing",
    "impersonation": "securing-your-account",
    "account_takeover": "securing-your-account",
    "malicious_link": "phishing-and-spyware",
    "mass_reporting": "documenting-attacks",
    "shutdown": "protecting-devices",
}
# For a kind of attack added later and not yet mapped: keeping a record helps in every attack.
DEFAULT_GUIDE = "documenting-attacks"
MAX_ITEMS = 200  # more ticked boxes than any checklist has: the form was not ours


def guide_for(detector_kind: str) -> str:
    """Return the slug of the guide for an attack of `detector_kind` (a detector's name)."""
    return DETECTOR_GUIDES.get(detector_kind, DEFAULT_GUIDE)


def guide_path(slug: str) -> str:
    """Return the address of a guide's page on this site."""
    return f"/guides/{slug}"


@dataclass(frozen=True)
class Progress:
    """How much of one checklist is done."""

    done: int
    total: int


@dataclass(frozen=True)
class ProgressChange:
    """What one save ticked and cleared."""

    checked: tuple[str, ...]
    cleared: tuple[str, ...]

    @property
    def changed(self) -> bool:
        """Return whether the save changed anything."""
        return bool(self.checked or self.cleared)


def _owner(actor: Principal) -> str:
    if actor.kind != "user" or actor.user_id is None:
        raise Forbidden("checklist progress is kept only for a signed-in person")
    return actor.user_id


def checked_items(*, session: Session, actor: Principal) -> dict[str, frozenset[str]]:
    """Return the acting user's ticked item ids, by guide slug."""
    rows = session.execute(
        select(ChecklistProgress.guide_slug, ChecklistProgress.item_id).where(
            ChecklistProgress.user_id == _owner(actor)
        )
    )
    found: dict[str, set[str]] = {}
    for slug, item_id in rows:
        found.setdefault(slug, set()).add(item_id)
    return {slug: frozenset(items) for slug, items in found.items()}


def progress_counts(
    *, session: Session, actor: Principal, guides: Iterable[Guide]
) -> dict[str, Progress]:
    """Return, per guide, how many of its current checklist items the acting user has ticked."""
    ticked = checked_items(session=session, actor=actor)
    return {
        guide.slug: Progress(
            done=len(ticked.get(guide.slug, frozenset()) & set(guide.item_ids)),
            total=len(guide.checklist),
        )
        for guide in guides
    }


def save_progress(
    *, session: Session, actor: Principal, guide: Guide, checked: Iterable[str]
) -> ProgressChange:
    """Make `checked` the acting user's ticked items of `guide`: tick the new, clear the rest."""
    owner = _owner(actor)
    wanted = set(checked)
    if len(wanted) > MAX_ITEMS or not wanted <= set(guide.item_ids):
        raise ValidationProblem("the checklist has changed; reload the page and tick again")
    before = checked_items(session=session, actor=actor).get(guide.slug, frozenset())
    change = ProgressChange(
        checked=tuple(sorted(wanted - before)), cleared=tuple(sorted(before - wanted))
    )
    if not change.changed:
        return change
    if change.cleared:
        session.execute(
            delete(ChecklistProgress).where(
                ChecklistProgress.user_id == owner,
                ChecklistProgress.guide_slug == guide.slug,
                ChecklistProgress.item_id.in_(change.cleared),
            )
        )
    now = clock.now()
    session.add_all(
        ChecklistProgress(user_id=owner, guide_slug=guide.slug, item_id=item_id, checked_at=now)
        for item_id in change.checked
    )
    audit.record(
        session,
        actor=actor,
        action="guide.progress.save",
        entity_type="checklist_progress",
        entity_id=owner,
        before={"guide": guide.slug, "items": sorted(before)},
        after={"guide": guide.slug, "items": sorted(wanted)},
        detail={"checked": len(change.checked), "cleared": len(change.cleared)},
    )
    session.flush()
    return change
