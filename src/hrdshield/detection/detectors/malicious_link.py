"""Spyware and phishing links sent to defenders, from the indicator feeds (STIX 2.1).

Messages, replies and mentions aimed at a protected defender are matched against the active
indicators (`exchange.matcher`: domains and their subdomains, full links, addresses and e-mail
addresses, however defanged). A match is an alert for that defender: high, critical for a
defender at high risk, since a targeted spyware link is often the first step of surveillance.
A link through a URL shortener cannot be followed offline; it is named in the explanation of an
alert that has a real match, but never raises one by itself (shortened links are everywhere).
The matcher is rebuilt by its provider after each import; this detector keeps no other state.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from hrdshield.detection.enums import AlertSeverity, DetectorKind, EventType
from hrdshield.detection.pipeline import AlertDraft, DetectorContext, Routed, Scope
from hrdshield.detection.schema import TEXT_EVENTS, TextEvent
from hrdshield.exchange.enums import MatchKind
from hrdshield.exchange.matcher import IndicatorHit, IndicatorMatcher

SEEN_EVENTS = 200_000


@dataclass(frozen=True)
class MaliciousLinkThresholds:
    """Whether a defender at high risk makes a match critical."""

    critical_for_high_risk: bool = True


DEFAULTS = MaliciousLinkThresholds()


class MaliciousLinkDetector:
    """Alert when a text sent to a defender carries a known spyware or phishing indicator."""

    kind: ClassVar[DetectorKind] = DetectorKind.MALICIOUS_LINK
    event_types: ClassVar[frozenset[EventType]] = frozenset(
        {EventType.DIRECT_MESSAGE, EventType.REPLY, EventType.MENTION}
    )
    scope: ClassVar[Scope] = Scope.TARGETED

    def __init__(self, matcher: Callable[[], IndicatorMatcher]) -> None:
        self.matcher = matcher
        self.seen: OrderedDict[str, None] = OrderedDict()

    def process(self, batch: Sequence[Routed], context: DetectorContext) -> list[AlertDraft]:
        """Match the batch's texts in one call; one draft per event and targeted defender."""
        fresh = [
            item
            for item in batch
            if isinstance(item.event, TEXT_EVENTS) and item.event.id not in self.seen
        ]
        if not fresh:
            return []
        matcher = self.matcher()
        texts = [item.event.content.text for item in fresh]  # type: ignore[union-attr]
        drafts = []
        senders = []
        for item, hits in zip(fresh, matcher.match_texts(texts), strict=True):
            confirmed = [hit for hit in hits if hit.kind is not MatchKind.SHORTENED_LINK]
            if not confirmed:
                continue
            event: TextEvent = item.event  # type: ignore[assignment]
            if event.actor is not None:
                senders.append(event.actor.account_id)
            for defender in item.targets:
                limits = context.thresholds.get(self.kind.value, DEFAULTS, defender.country)
                critical = limits.critical_for_high_risk and defender.high_risk
                drafts.append(
                    _draft(event, defender.defender_id, defender.pseudonym, hits, critical=critical)
                )
        for item in fresh:  # only once the whole batch is read (a failed batch is read again)
            self.seen[item.event.id] = None
            if len(self.seen) > SEEN_EVENTS:
                self.seen.popitem(last=False)
        for account_id in senders:
            context.accounts.flag(account_id)
        return drafts

    def snapshot(self) -> dict[str, Any]:
        """Return the ids of the events already read (the matcher comes from the feeds)."""
        return {"seen": list(self.seen)}

    def restore(self, state: dict[str, Any]) -> None:
        """Take back the ids of `snapshot`."""
        self.seen = OrderedDict.fromkeys(state.get("seen", []))


def _draft(
    event: TextEvent,
    defender_id: str,
    pseudonym: str,
    hits: list[IndicatorHit],
    *,
    critical: bool,
) -> AlertDraft:
    confirmed = [hit for hit in hits if hit.kind is not MatchKind.SHORTENED_LINK]
    shortened = [hit for hit in hits if hit.kind is MatchKind.SHORTENED_LINK]
    defanged = any(hit.defanged for hit in confirmed)
    return AlertDraft(
        detector=DetectorKind.MALICIOUS_LINK,
        rule="known_indicator",
        dedup_key=f"malicious_link:{event.id}:{defender_id}",
        severity=AlertSeverity.CRITICAL if critical else AlertSeverity.HIGH,
        score=1.0,
        summary=(
            f"A {event.type.replace('_', ' ')} to {pseudonym} carries "
            f"{len(confirmed)} known spyware or phishing indicator(s)"
            + (", written disguised" if defanged else "")
        ),
        explanation={
            "rule": "known_indicator",
            "indicators": [
                {
                    "indicator_id": hit.indicator_id,
                    "type": hit.indicator_type.value if hit.indicator_type else None,
                    "value": hit.value,
                    "matched_as": hit.kind.value,
                    "defanged": hit.defanged,
                }
                for hit in confirmed
            ],
            "shortened_links": [hit.value for hit in shortened],
        },
        events=[event],
        defender_id=defender_id,
        triggered_at=event.occurred_at,
    )
