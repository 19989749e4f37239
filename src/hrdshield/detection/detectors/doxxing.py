"""Doxxing: a post, reply, mention or message that exposes a protected defender's personal data.

A leak need not name the defender, so this detector reads every text event (scope EVERYONE).
Most texts stop at `personal_data.prepare`, a microsecond check for digits, at signs and spelled
out numbers. The rest are searched for the identifiers defenders enrolled, which the index holds
only as keyed hashes: phone numbers (parsed by ``phonenumbers`` in every written form, read in the
regions of the defenders addressed and of the countries where defenders are enrolled), e-mail
addresses (also "name at domain dot org"), national ids and home addresses (windows of words
around each number, canonicalised as at enrolment). A match alerts the defender who owns the
identifier, whether or not the post is aimed at them: critical for a home address, high for the
rest. When a text is aimed at a defender (a reply, mention or message to them), personal data
that was not enrolled counts too, with less confidence: precise coordinates (critical), a
street address (high), a phone number or an id number (medium, high for a defender at high risk).

The explanation names the kind of identifier and the rule, never the value. One alert per event,
defender and kind; a redelivered event changes nothing. A defender's own posts never alert.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from hrdshield.defenders import identifiers
from hrdshield.defenders.enums import IdentifierKind
from hrdshield.detection.detectors import personal_data
from hrdshield.detection.detectors.personal_data import PhoneCandidate, Prepared
from hrdshield.detection.enums import AlertSeverity, DetectorKind, EventType
from hrdshield.detection.index import DefenderIndex, ProtectedDefender
from hrdshield.detection.pipeline import AlertDraft, DetectorContext, Routed, Scope
from hrdshield.detection.schema import TEXT_EVENTS, TextEvent

SEEN_EVENTS = 100_000  # event ids remembered against redelivery


@dataclass(frozen=True)
class DoxxingThresholds:
    """Defaults: every enrolled identifier; personal data in texts aimed at a defender."""

    phone_regions: int = 40  # enrolled countries tried for numbers written in national form
    address_max_words: int = 10  # longest home address looked for, in words
    national_id_max_words: int = 5  # longest national id looked for, in words
    generic_personal_data: bool = True  # also look for data not enrolled, in texts aimed at one
    coordinate_decimals: int = 3  # decimals of a degree that make a place precise (~100 m)
    id_number_min_digits: int = 6  # digits after "ID", "DNI"... that make an id number


DEFAULTS = DoxxingThresholds()

_ENROLLED = {
    IdentifierKind.PHONE: ("phone number", AlertSeverity.HIGH, 0.9),
    IdentifierKind.EMAIL: ("e-mail address", AlertSeverity.HIGH, 0.9),
    IdentifierKind.NATIONAL_ID: ("national id number", AlertSeverity.HIGH, 0.9),
    IdentifierKind.ADDRESS: ("home address", AlertSeverity.CRITICAL, 0.95),
}
_SHAPES = {
    "coordinates": ("precise coordinates", AlertSeverity.CRITICAL, 0.7),
    "street_address": ("a street address", AlertSeverity.HIGH, 0.55),
    "phone_number": ("a phone number", AlertSeverity.MEDIUM, 0.45),
    "id_number": ("an id number", AlertSeverity.MEDIUM, 0.4),
}
# A shape is not reported again when the same defender's enrolled identifier of its kind matched.
_SHAPE_OF = {
    "street_address": IdentifierKind.ADDRESS,
    "phone_number": IdentifierKind.PHONE,
    "id_number": IdentifierKind.NATIONAL_ID,
}
_EVENT_WORDS = {
    "post": "A post",
    "reply": "A reply",
    "mention": "A mention",
    "direct_message": "A direct message",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One kind of personal data of one defender found in one event."""

    defender: ProtectedDefender
    kind: str  # an IdentifierKind value, or a shape of _SHAPES
    forms: tuple[str, ...]  # how it was written: international, spelled_out, obfuscated...
    enrolled: bool
    aimed: bool  # the text is a reply, mention or message to the defender


def _canonical_address(text: str) -> str:
    return identifiers.canonical(IdentifierKind.ADDRESS, text)


class DoxxingDetector:
    """Alert when a text exposes a defender's enrolled identifiers or, aimed at them, a place."""

    kind: ClassVar[DetectorKind] = DetectorKind.DOXXING
    event_types: ClassVar[frozenset[EventType]] = frozenset(
        {EventType.POST, EventType.REPLY, EventType.MENTION, EventType.DIRECT_MESSAGE}
    )
    scope: ClassVar[Scope] = Scope.EVERYONE

    def __init__(self) -> None:
        self.seen: OrderedDict[str, None] = OrderedDict()
        self._ranked: tuple[DefenderIndex | None, tuple[str, ...]] = (None, ())

    def process(self, batch: Sequence[Routed], context: DetectorContext) -> list[AlertDraft]:
        """Look for personal data in each new text; one draft per event, defender and kind."""
        scan = context.thresholds.get(self.kind.value, DEFAULTS)
        drafts: dict[str, AlertDraft] = {}
        read: dict[str, None] = {}
        leakers: list[str] = []
        for item in batch:
            event = item.event
            if not isinstance(event, TEXT_EVENTS) or event.id in self.seen or event.id in read:
                continue
            read[event.id] = None
            prepared = personal_data.prepare(event.content.text)
            if prepared is None:
                continue  # the common case: nothing in the text can be personal data
            findings, leaked = self._findings(event, item, prepared, context, scan)
            if leaked and event.actor is not None:
                leakers.append(event.actor.account_id)
            for finding in findings:
                draft = _draft(event, finding, context)
                drafts[draft.dedup_key] = draft
        # Only now, with the whole batch read: a batch that fails is retried event by event by
        # the pipeline, and must then be read again, not skipped as already seen.
        for event_id in read:
            self.seen[event_id] = None
            if len(self.seen) > SEEN_EVENTS:
                self.seen.popitem(last=False)
        for account_id in leakers:
            context.accounts.flag(account_id)
        return list(drafts.values())

    def _findings(
        self,
        event: TextEvent,
        item: Routed,
        prepared: Prepared,
        context: DetectorContext,
        scan: DoxxingThresholds,
    ) -> tuple[list[Finding], bool]:
        """Return what the text exposes, and whether its author leaked an enrolled identifier."""
        index = context.index
        phones: list[PhoneCandidate] = []
        if prepared.digits and (item.targets or index.digests.get(IdentifierKind.PHONE)):
            regions = self._regions(item, index, scan.phone_regions)
            phones = personal_data.phones(prepared, regions)
        enrolled = self._enrolled(prepared, phones, index, scan)
        author = index.defender_for(event.actor) if event.actor else None
        aimed = {defender.defender_id for defender in item.targets}
        findings = [
            Finding(index.defenders[owner], kind.value, tuple(sorted(forms)), True, owner in aimed)
            for (owner, kind), forms in enrolled.items()
            if owner in index.defenders and (author is None or author.defender_id != owner)
        ]
        for defender in item.targets:
            if author is not None and author.defender_id == defender.defender_id:
                continue  # the defender in their own thread
            limits = context.thresholds.get(self.kind.value, DEFAULTS, defender.country)
            if not (limits.generic_personal_data and prepared.digits):
                continue
            for kind, forms in _shapes(prepared, phones, defender, limits).items():
                matched = _SHAPE_OF.get(kind)
                if matched is None or (defender.defender_id, matched) not in enrolled:
                    findings.append(Finding(defender, kind, forms, enrolled=False, aimed=True))
        return findings, author is None and any(finding.enrolled for finding in findings)

    @staticmethod
    def _enrolled(
        prepared: Prepared,
        phones: list[PhoneCandidate],
        index: DefenderIndex,
        scan: DoxxingThresholds,
    ) -> dict[tuple[str, IdentifierKind], set[str]]:
        """Return the (defender, kind) of every enrolled identifier in the text, with forms."""
        found: dict[tuple[str, IdentifierKind], set[str]] = {}
        for kind, value, form in _candidates(prepared, phones, index, scan):
            for owner in _owners(index, kind, value):
                found.setdefault((owner, kind), set()).add(form)
        return found

    def _regions(self, item: Routed, index: DefenderIndex, limit: int) -> list[str]:
        """Return the regions to read national numbers in: the targets', then the enrolled."""
        if self._ranked[0] is not index:
            counts = Counter(defender.country for defender in index.defenders.values())
            self._ranked = (index, tuple(country for country, _ in counts.most_common()))
        regions = dict.fromkeys(defender.country for defender in item.targets)
        for country in self._ranked[1]:
            if len(regions) >= max(limit, len(item.targets)):
                break
            regions.setdefault(country)
        return list(regions)

    def snapshot(self) -> dict[str, Any]:
        """Return the ids of the events already read (the detector keeps nothing else)."""
        return {"seen": list(self.seen)}

    def restore(self, state: dict[str, Any]) -> None:
        """Take back the ids of `snapshot`."""
        self.seen = OrderedDict.fromkeys(state.get("seen", []))


def _owners(index: DefenderIndex, kind: IdentifierKind, value: str) -> frozenset[str]:
    """Return the owners of an identifier: `index.owners`, skipping work for canonical values.

    Phones (E.164), ids and address windows are built in canonical form already, and a text
    may give hundreds of windows: hashing them directly gives the digest `owners` would.
    """
    if kind is IdentifierKind.EMAIL:
        return index.owners(kind, value)
    return index.digests[kind].get(index.hasher(kind.value, value), frozenset())


def _canonical_id(text: str) -> str:
    return identifiers.canonical(IdentifierKind.NATIONAL_ID, text)


def _candidates(
    prepared: Prepared,
    phones: list[PhoneCandidate],
    index: DefenderIndex,
    scan: DoxxingThresholds,
) -> Iterator[tuple[IdentifierKind, str, str]]:
    """Yield ``(kind, value, form)`` for each identifier the text may hold, of enrolled kinds."""
    if index.digests.get(IdentifierKind.PHONE):
        yield from ((IdentifierKind.PHONE, phone.e164, phone.form) for phone in phones)
    if index.digests.get(IdentifierKind.EMAIL):
        for address, form in personal_data.emails(prepared).items():
            yield IdentifierKind.EMAIL, address, form
    if not prepared.digits:
        return
    if index.digests.get(IdentifierKind.NATIONAL_ID):
        for value in personal_data.id_windows(prepared, scan.national_id_max_words, _canonical_id):
            yield IdentifierKind.NATIONAL_ID, value, "written"
    if index.digests.get(IdentifierKind.ADDRESS):
        windows = personal_data.address_windows(
            prepared, scan.address_max_words, _canonical_address
        )
        for value in windows:
            yield IdentifierKind.ADDRESS, value, "written"


def _shapes(
    prepared: Prepared,
    phones: list[PhoneCandidate],
    defender: ProtectedDefender,
    limits: DoxxingThresholds,
) -> dict[str, tuple[str, ...]]:
    """Return the shapes of personal data in a text aimed at `defender`, with their forms."""
    shapes: dict[str, tuple[str, ...]] = {}
    text = prepared.text
    places = personal_data.coordinates(text, limits.coordinate_decimals)
    if places:
        shapes["coordinates"] = tuple(sorted(set(places)))
    streets = personal_data.street_addresses(text)
    if streets:
        shapes["street_address"] = tuple(streets)
    written = {phone.raw: phone for phone in phones}.values()  # one per number, not per reading
    numbers = {
        phone.form
        for phone in written
        if personal_data.phone_shaped(phone, prepared.phone_text, defender.country)
    }
    if numbers:
        shapes["phone_number"] = tuple(sorted(numbers))
    if personal_data.id_numbers(text, limits.id_number_min_digits):
        shapes["id_number"] = ("after_an_id_word",)
    return shapes


def _draft(event: TextEvent, finding: Finding, context: DetectorContext) -> AlertDraft:
    defender = finding.defender
    limits = context.thresholds.get(DetectorKind.DOXXING.value, DEFAULTS, defender.country)
    opening = _EVENT_WORDS.get(event.type, "A text")
    if finding.enrolled:
        label, severity, score = _ENROLLED[IdentifierKind(finding.kind)]
        rule = "enrolled_identifier"
        summary = f"{opening} exposes the protected {label} of {defender.pseudonym}"
        if finding.aimed:
            summary += " and is aimed at them"
    else:
        label, severity, score = _SHAPES[finding.kind]
        rule = "personal_data_aimed_at_defender"
        if severity is AlertSeverity.MEDIUM and defender.high_risk:
            severity = AlertSeverity.HIGH
        summary = (
            f"{opening} aimed at {defender.pseudonym} contains {label}"
            " (possible personal data about a defender)"
        )
    return AlertDraft(
        detector=DetectorKind.DOXXING,
        rule=rule,
        dedup_key=f"doxxing:{event.platform}:{event.id}:{defender.defender_id}:{finding.kind}",
        severity=severity,
        score=score,
        summary=summary,
        explanation={
            "rule": rule,
            "kind": finding.kind,
            "written_forms": list(finding.forms),
            "matched": "enrolled identifier (keyed hash)" if finding.enrolled else "shape only",
            "aimed_at_defender": finding.aimed,
            "event_type": event.type,
            "thresholds": asdict(limits),
        },
        events=[event],
        defender_id=defender.defender_id,
    )
