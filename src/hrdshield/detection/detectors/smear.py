"""Coordinated smear campaign: many accounts posting the same texts, links or hashtags.

Disinformation against a defender is rarely written once: it is copied, lightly edited, by
dozens of accounts (often young ones, or known abusers) within hours, pointing at the same
article, pushing the same hashtag. Per defender, over a sliding window (six hours by default),
this detector clusters the texts aimed at or about them:

- near-duplicates: normalised texts (`smear_text`) compared by MinHash-LSH on character 5-grams
  (`minhash`), joined when the estimated Jaccard similarity passes a threshold;
- shared links (canonical URL, and domain) and hashtags, joined only in a synchronised burst
  that holds most of that signal's use in the window, because people sharing a news link or a
  popular hashtag over a day are not a campaign.

A cluster of accounts is the campaign entity (`smear_window`). It raises an alert when enough
distinct accounts are in it: one account repeating itself is spam, not coordination. The alert
lists the accounts, the shared signals, the similarity, the time spread and a short excerpt; its
key is stable per cluster, so the alert grows as accounts join, and two clusters that merge keep
the older (or already alerted) key. Quotes and retweets of the defender's own words are left
out. Whether the texts also threaten is the targeted-abuse detector's to judge.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, ClassVar

from hrdshield.defenders.enums import IdentifierKind
from hrdshield.detection import schema
from hrdshield.detection.detectors import minhash
from hrdshield.detection.detectors.smear_text import TextFeatures, excerpt, features
from hrdshield.detection.detectors.smear_window import CampaignReading, CampaignWindow, Cluster
from hrdshield.detection.enums import AlertSeverity, DetectorKind, EventType
from hrdshield.detection.index import ProtectedDefender
from hrdshield.detection.pipeline import AlertDraft, DetectorContext, Routed, Scope
from hrdshield.detection.schema import Mention, Post, Reply

MAX_DEFENDERS = 20_000  # defenders whose windows are kept; the least recently addressed go first
MAX_TEXTS_HELD = 250_000  # texts in all windows together (about 1 GB)
MAX_ACCOUNTS_LISTED = 200  # account ids named in one explanation; the count covers the rest
SUSPICIOUS_SHARE = 0.5  # young or known-abusive accounts making half a cluster strengthen it


@dataclass(frozen=True)
class SmearThresholds:
    """Defaults: 5 accounts with near-duplicates (Jaccard >= 0.5) in 6 hours (4 if high-risk)."""

    window_minutes: int = 360
    min_accounts: int = 5  # distinct accounts with near-duplicate texts
    high_risk_min_accounts: int = 4
    similarity: float = 0.5  # estimated Jaccard similarity of character 5-gram sets
    min_text_chars: int = 30  # shorter normalised texts ("thank you", "stay strong") not compared
    sync_minutes: int = 15  # a synchronised burst: accounts within this span
    sync_min_accounts: int = 8  # a shared link or hashtag needs this many accounts in a burst
    min_sync_share: float = 0.6  # ... holding this share of its accounts in the window
    medium_below_accounts: int = 8  # smaller clusters are medium unless strengthened
    critical_accounts: int = 20  # a cluster this large against a high-risk defender is critical
    young_account_days: float = 30.0
    max_texts: int = 5000  # texts kept per defender
    max_texts_per_account: int = 20  # texts kept per account and defender


DEFAULTS = SmearThresholds()
_TEXT_TYPES = (Post, Reply, Mention)
_RULES = {
    "link": ("shared_link_synchronised", "shared the same link"),
    "domain": ("shared_domain_synchronised", "shared links to the same site"),
    "tag": ("shared_hashtag_synchronised", "pushed the same hashtag"),
}


class SmearCampaignDetector:
    """Alert on clusters of accounts posting near-duplicate texts, links or hashtags."""

    kind: ClassVar[DetectorKind] = DetectorKind.SMEAR_CAMPAIGN
    event_types: ClassVar[frozenset[EventType]] = frozenset(
        {EventType.POST, EventType.REPLY, EventType.MENTION}
    )
    scope: ClassVar[Scope] = Scope.TARGETED

    def __init__(self) -> None:
        self.windows: OrderedDict[str, CampaignWindow] = OrderedDict()

    def process(self, batch: Sequence[Routed], context: DetectorContext) -> list[AlertDraft]:
        """Add each text to the windows of the defenders it targets; one draft per grown cluster."""
        touched: dict[str, ProtectedDefender] = {}
        for item in batch:
            event = item.event
            if not isinstance(event, _TEXT_TYPES) or event.actor is None or not item.targets:
                continue
            found = features(event.content.text)
            author = context.index.defender_for(event.actor)
            for defender in item.targets:
                limits = _limits(context, defender)
                window = self._window(defender.defender_id)
                if author is defender:
                    window.remember_own(event, found, limits)
                elif not _retweets(found, defender, context) and self._add(
                    window, event, found, limits, context
                ):
                    touched[defender.defender_id] = defender
        drafts = [
            draft
            for defender in touched.values()
            for draft in self._drafts(defender, _limits(context, defender))
        ]
        self._forget_idle()
        return drafts

    def _drafts(self, defender: ProtectedDefender, limits: SmearThresholds) -> list[AlertDraft]:
        """Return the alerts of the defender's clusters that grew in this batch."""
        window = self.windows.get(defender.defender_id)
        if window is None:
            return []  # evicted by the caps within this very batch
        drafts = []
        for number in sorted(window.dirty):
            draft = _draft(defender, window, window.clusters[number], limits)
            if draft is not None:
                drafts.append(draft)
        window.dirty.clear()
        return drafts

    @staticmethod
    def _add(
        window: CampaignWindow,
        event: Post | Reply | Mention,
        found: TextFeatures,
        limits: SmearThresholds,
        context: DetectorContext,
    ) -> bool:
        actor = event.actor
        assert actor is not None  # noqa: S101  (checked by the caller)
        age = context.accounts.age_days(actor, event.occurred_at)
        return window.add(
            event,
            found,
            young=age is not None and age < limits.young_account_days,
            abusive=context.accounts.abuse_count(actor.account_id) > 0,
            limits=limits,
        )

    def _window(self, defender_id: str) -> CampaignWindow:
        window = self.windows.get(defender_id)
        if window is None:
            window = self.windows[defender_id] = CampaignWindow(defender_id)
        self.windows.move_to_end(defender_id)
        while len(self.windows) > MAX_DEFENDERS:
            self.windows.popitem(last=False)
        return window

    def _forget_idle(self) -> None:
        """Drop windows whose texts all expired, then the least recently addressed over the caps.

        A window holds about 4 KB a text; past MAX_TEXTS_HELD texts in all, the defenders
        addressed longest ago lose their windows first (an active campaign is recent).
        """
        if not self.windows:
            return
        latest = next(reversed(self.windows.values())).newest
        while self.windows:
            oldest = next(iter(self.windows.values()))
            if oldest.newest >= latest - oldest.span:
                break
            self.windows.popitem(last=False)
        held = sum(len(window.texts) for window in self.windows.values())
        while held > MAX_TEXTS_HELD and len(self.windows) > 1:
            held -= len(self.windows.popitem(last=False)[1].texts)

    def snapshot(self) -> dict[str, Any]:
        """Return every defender's window (texts as events, clusters with their keys)."""
        return {"windows": [[key, window.snapshot()] for key, window in self.windows.items()]}

    def restore(self, state: dict[str, Any]) -> None:
        """Take back the windows of `snapshot`; signatures are recomputed from the texts."""
        self.windows = OrderedDict(
            (key, CampaignWindow.restore(key, window)) for key, window in state["windows"]
        )


def _limits(context: DetectorContext, defender: ProtectedDefender) -> SmearThresholds:
    limits = context.thresholds.get(DetectorKind.SMEAR_CAMPAIGN.value, DEFAULTS, defender.country)
    if defender.high_risk and limits.high_risk_min_accounts < limits.min_accounts:
        return replace(limits, min_accounts=limits.high_risk_min_accounts)
    return limits


def _retweets(found: TextFeatures, defender: ProtectedDefender, context: DetectorContext) -> bool:
    """Return whether the text is a retweet ("RT @handle") of the defender's own post."""
    if found.retweet_of is None:
        return False
    owners = context.index.owners(IdentifierKind.HANDLE, found.retweet_of)
    return defender.defender_id in owners


def _rule(
    cluster: Cluster, reading: CampaignReading, limits: SmearThresholds
) -> tuple[str, str, str | None] | None:
    """Return the rule a cluster meets, its words for the summary and its burst signal."""
    if reading.linked_accounts >= limits.min_accounts:
        return "near_duplicate_texts", "posted near-duplicate texts", None
    bursts = [
        (accounts, signal)
        for signal, (accounts, _share) in cluster.bursts.items()
        if accounts >= max(limits.sync_min_accounts, limits.min_accounts)
    ]
    if bursts:
        signal = max(bursts)[1]
        rule, words = _RULES[signal.split(":", 1)[0]]
        return rule, words, signal
    if cluster.alerted:  # an alert raised keeps growing, even as older texts expire
        if cluster.pairs:
            return "near_duplicate_texts", "posted near-duplicate texts", None
        strongest = max(cluster.bursts, key=lambda key: cluster.bursts[key][0], default=None)
        if strongest is not None:
            rule, words = _RULES[strongest.split(":", 1)[0]]
            return rule, words, strongest
    return None


def _draft(
    defender: ProtectedDefender,
    window: CampaignWindow,
    cluster: Cluster,
    limits: SmearThresholds,
) -> AlertDraft | None:
    if len(cluster.accounts) < limits.min_accounts and not cluster.alerted:
        return None
    reading = window.reading(cluster, limits.sync_minutes)
    found = _rule(cluster, reading, limits)
    if found is None:
        return None
    rule, words, signal = found
    cluster.alerted = True
    accounts = len(reading.accounts)
    suspicious = reading.suspicious / accounts if accounts else 0.0
    similarity = cluster.similarity_sum / cluster.pairs if cluster.pairs else None
    burst_share = cluster.bursts[signal][1] if signal is not None else None
    severity = _severity(defender, rule, reading, suspicious, limits)
    spread = round((reading.last_at - reading.first_at) / 60, 1)
    evidence_strength = similarity if similarity is not None else (burst_share or 0.0)
    score = (
        0.4 * min(1.0, accounts / limits.critical_accounts)
        + 0.25 * min(1.0, evidence_strength)
        + 0.2 * reading.sync_accounts / accounts
        + 0.15 * suspicious
    )
    summary = f"{accounts} accounts {words} about {defender.pseudonym} within {spread:g} minutes"
    if similarity is not None and rule == "near_duplicate_texts":
        summary += f" (similarity {similarity:.2f})"
    return AlertDraft(
        detector=DetectorKind.SMEAR_CAMPAIGN,
        rule=rule,
        dedup_key=cluster.key,
        severity=severity,
        score=round(min(1.0, score), 3),
        summary=summary,
        explanation=_explanation(
            rule=rule,
            cluster=cluster,
            reading=reading,
            similarity=similarity,
            signal=signal,
            limits=limits,
        ),
        events=list(reading.evidence),
        defender_id=defender.defender_id,
        actions=("shield",) if reading.addressed else (),
    )


def _severity(
    defender: ProtectedDefender,
    rule: str,
    reading: CampaignReading,
    suspicious: float,
    limits: SmearThresholds,
) -> AlertSeverity:
    accounts = len(reading.accounts)
    if defender.high_risk and accounts >= limits.critical_accounts:
        return AlertSeverity.CRITICAL
    synchronised = rule == "near_duplicate_texts" and reading.sync_accounts >= limits.min_accounts
    strengthened = synchronised or suspicious >= SUSPICIOUS_SHARE
    if accounts < limits.medium_below_accounts and not strengthened:
        return AlertSeverity.MEDIUM
    return AlertSeverity.HIGH


def _explanation(
    *,
    rule: str,
    cluster: Cluster,
    reading: CampaignReading,
    similarity: float | None,
    signal: str | None,
    limits: SmearThresholds,
) -> dict[str, Any]:
    return {
        "rule": rule,
        "accounts": len(reading.accounts),
        "account_ids": reading.accounts[:MAX_ACCOUNTS_LISTED],
        "texts": reading.texts,
        "repeated_texts": reading.repeats,
        "near_duplicate_accounts": reading.linked_accounts,
        "similarity": {
            "measure": f"estimated Jaccard of character {minhash.SHINGLE}-gram sets",
            "mean": None if similarity is None else round(similarity, 3),
            "min": round(cluster.similarity_min, 3) if cluster.pairs else None,
            "pairs": cluster.pairs,
        },
        "shared_links": _named("link", reading.links),
        "shared_domains": _named("domain", reading.domains),
        "shared_hashtags": _named("hashtag", reading.hashtags),
        "synchronised_bursts": [
            {"signal": key, "accounts": int(accounts), "share_of_window": share}
            for key, (accounts, share) in sorted(cluster.bursts.items())
        ],
        "burst_signal": signal,
        "first_at": _time(reading.first_at),
        "last_at": _time(reading.last_at),
        "spread_minutes": round((reading.last_at - reading.first_at) / 60, 1),
        "most_accounts_within_sync": reading.sync_accounts,
        "young_accounts": reading.young,
        "abusive_accounts": reading.abusive,
        "excerpt": excerpt(reading.representative),
        "merged_alerts": list(cluster.absorbed),
        "window_minutes": limits.window_minutes,
        "thresholds": {
            "min_accounts": limits.min_accounts,
            "similarity": limits.similarity,
            "min_text_chars": limits.min_text_chars,
            "sync_minutes": limits.sync_minutes,
            "sync_min_accounts": limits.sync_min_accounts,
            "min_sync_share": limits.min_sync_share,
            "young_account_days": limits.young_account_days,
        },
    }


def _named(name: str, shared: list[tuple[str, int]]) -> list[dict[str, Any]]:
    return [{name: value, "accounts": accounts} for value, accounts in shared]


def _time(at: float) -> str:
    return schema.format_time(datetime.fromtimestamp(at, tz=UTC))
