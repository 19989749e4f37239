"""The one table of the guides: which checklist items a defender has ticked.

It is the defender's own record: only the service functions read it, and only for the signed-in
user who wrote it. No staff page or report shows it; the audit log holds digests of each change.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from hrdshield import clock
from hrdshield.db import Base, UTCDateTime

SLUG_LENGTH = 64
ITEM_ID_LENGTH = 64


class ChecklistProgress(Base):
    """One ticked checklist item of one guide, for one user (an HRD's own account)."""

    __tablename__ = "checklist_progress"

    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    guide_slug: Mapped[str] = mapped_column(String(SLUG_LENGTH), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(ITEM_ID_LENGTH), primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
