"""What a bus is to its publishers: somewhere accepted events are durably handed to detection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.orm import Session

from hrdshield.detection.enums import IngestChannel
from hrdshield.detection.schema import Event

if TYPE_CHECKING:
    from hrdshield.detection.ingest import IngestReport


class BusUnavailableError(Exception):
    """The bus did not confirm the events in time: none of them counts as accepted.

    Publishers answer with back-pressure (HTTP 503 and Retry-After); a retried batch is safe,
    since copies of events the bus did keep are recognised as duplicates.
    """


class EventBus(Protocol):
    """Takes validated events; returning means every one of them is durably kept."""

    def accept(
        self, *, session: Session, events: Sequence[Event], channel: IngestChannel
    ) -> IngestReport:
        """Hand `events` on (the inbox writes them in `session`'s transaction)."""

    def close(self) -> None:
        """Release connections (on shutdown)."""


class InboxBus:
    """The in-process default: the inbox table, consumed by the server's detection loop."""

    def accept(
        self, *, session: Session, events: Sequence[Event], channel: IngestChannel
    ) -> IngestReport:
        """Write `events` to the inbox in the caller's transaction."""
        from hrdshield.detection.ingest import accept_events  # noqa: PLC0415  (import cycle)

        return accept_events(session=session, events=events, channel=channel)

    def close(self) -> None:
        """Nothing to release."""
