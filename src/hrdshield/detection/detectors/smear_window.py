"""One defender's window of texts for the smear-campaign detector, and the clusters in it.

A cluster is the campaign entity: texts joined because they are near-duplicates (MinHash-LSH,
verified by estimated Jaccard similarity) or because they carry the same link, domain or hashtag
in a synchronised burst (many accounts within minutes, holding most of that signal's use in the
window, so a popular hashtag used all day joins nobody). Clusters are kept as explicit sets that
merge (union by size, the older cluster's key surviving) and shrink as texts expire; a cluster
joined through a text that has since expired stays one until its remaining texts expire.

Bounded: texts older than the window expire, a defender keeps at most ``max_texts`` texts and
an account at most ``max_texts_per_account``; an LSH bucket keeps the few most recent texts, one
per account, so one account's flood cannot crowd the others out. Redelivered events are known
by id. The state serialises to JSON values: the events themselves, cluster membership and keys;
signatures are recomputed from the texts on restore.
"""

from __future__ import annotations

import hashlib
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from hrdshield.detection import schema
from hrdshield.detection.detectors import minhash
from hrdshield.detection.detectors.smear_text import TextFeatures, features
from hrdshield.detection.enums import EventType
from hrdshield.detection.pipeline import MAX_EVIDENCE
from hrdshield.detection.schema import Event, TextEvent

if TYPE_CHECKING:
    from hrdshield.detection.detectors.smear import SmearThresholds

BUCKET_DEPTH = 6  # most recent texts (one per account) an LSH bucket offers as candidates
MAX_OWN_TEXTS = 20  # the defender's own recent texts, to recognise quotes of them
SHARED_SHOWN = 5  # links, domains and hashtags named in an explanation
SEEN_PER_TEXT = 4  # event ids remembered (for redelivery) per text the window may hold
EVIDENCE_HALF = MAX_EVIDENCE // 2


@dataclass(slots=True, eq=False)
class Text:
    """One text about the defender, by one account, in the window."""

    number: int
    at: float
    account: str
    event: TextEvent
    features: TextFeatures
    compared: bool  # long enough to be compared for near-duplicates
    young: bool
    abusive: bool
    cluster: int | None = None
    linked: bool = False  # a near-duplicate of another account's text
    repeats: int = 0  # the same account posting the same text again


@dataclass(slots=True, eq=False)
class Cluster:
    """Texts, and so accounts, that act together: the campaign entity."""

    number: int
    key: str  # the alert's dedup key, from the oldest text
    created: float
    texts: set[int] = field(default_factory=set)
    accounts: Counter[str] = field(default_factory=Counter)
    linked_accounts: Counter[str] = field(default_factory=Counter)
    pairs: int = 0  # near-duplicate pairs across accounts found while the cluster grew
    similarity_sum: float = 0.0
    similarity_min: float = 1.0
    bursts: dict[str, list[float]] = field(default_factory=dict)  # group -> [accounts, share]
    alerted: bool = False
    absorbed: list[str] = field(default_factory=list)  # keys of alerted clusters merged in


@dataclass(slots=True, eq=False)
class Group:
    """Texts sharing one link, domain or hashtag: all in the window, and the recent burst."""

    accounts: Counter[str] = field(default_factory=Counter)
    recent: deque[tuple[float, int, str]] = field(default_factory=deque)
    recent_accounts: Counter[str] = field(default_factory=Counter)
    burst: bool = False


@dataclass(frozen=True)
class CampaignReading:
    """What a cluster holds now, for the rule, the severity and the explanation."""

    accounts: list[str]  # in order of their first text
    linked_accounts: int
    texts: int
    repeats: int
    young: int
    abusive: int
    suspicious: int  # accounts young or known for abuse (or both)
    links: list[tuple[str, int]]
    domains: list[tuple[str, int]]
    hashtags: list[tuple[str, int]]
    first_at: float
    last_at: float
    sync_accounts: int  # most distinct accounts within the sync span
    representative: str  # the original text of the first near-duplicate (or first text)
    evidence: list[Event]
    addressed: bool  # replies or mentions among the texts (a shield can filter those)


class CampaignWindow:
    """The texts about one defender within the window, their LSH buckets, groups and clusters."""

    def __init__(self, defender_id: str) -> None:
        self.defender_id = defender_id
        self.texts: dict[int, Text] = {}
        self.seen: dict[str, float] = {}
        self.buckets: list[dict[int, int | list[int]]] = [{} for _ in range(minhash.BANDS)]
        self.clusters: dict[int, Cluster] = {}
        self.groups: dict[str, Group] = {}
        self.own: deque[tuple[float, str, NDArray[np.uint64]]] = deque(maxlen=MAX_OWN_TEXTS)
        self.per_account: Counter[str] = Counter()
        self.repeats_of: dict[tuple[str, str, tuple[str, ...]], int] = {}  # same account, text
        self.newest = float("-inf")
        self.span = 0.0
        self.next_text = 0
        self.next_cluster = 0
        self.dirty: set[int] = set()  # clusters that gained texts since the last reading

    def add(
        self,
        event: TextEvent,
        found: TextFeatures,
        *,
        young: bool,
        abusive: bool,
        limits: SmearThresholds,
    ) -> bool:
        """Take one text by another account; return whether the window changed."""
        at = event.occurred_at.timestamp()
        if event.id in self.seen or not self._advance(at, limits):
            return False
        actor = event.actor
        assert actor is not None  # noqa: S101  (the detector checks it)
        account = actor.account_id
        compared = len(found.text) >= limits.min_text_chars
        if compared and self._quotes_defender(found, limits.similarity):
            self._remember(event.id, at, limits)
            return False  # amplifying the defender's own words is not a smear
        repeat = self.repeats_of.get((account, found.text, found.groups))
        if repeat is not None or self.per_account[account] >= limits.max_texts_per_account:
            self._remember(event.id, at, limits)
            if repeat is not None:
                self.texts[repeat].repeats += 1
            return False
        self._remember(event.id, at, limits)
        text = Text(self.next_text, at, account, event, found, compared, young, abusive)
        self.next_text += 1
        self.texts[text.number] = text
        self.per_account[account] += 1
        self.repeats_of[(account, found.text, found.groups)] = text.number
        if compared:
            self._match(text, limits.similarity)
        for group in found.groups:
            self._group(text, group, limits)
        while len(self.texts) > limits.max_texts:
            self._drop(next(iter(self.texts)))
        return True

    def remember_own(self, event: TextEvent, found: TextFeatures, limits: SmearThresholds) -> None:
        """Keep a recent text of the defender's own, so quotes of it are not taken for a smear."""
        at = event.occurred_at.timestamp()
        if event.id in self.seen or not self._advance(at, limits):
            return
        self._remember(event.id, at, limits)
        if len(found.text) >= limits.min_text_chars:
            self.own.append((at, found.text, found.signature()))

    def _advance(self, at: float, limits: SmearThresholds) -> bool:
        self.span = limits.window_minutes * 60.0
        if at < self.newest - self.span:
            return False  # arrived after its window closed: too late to count
        if at > self.newest:
            self.newest = at
            self.expire(at - self.span)
        return True

    def _remember(self, event_id: str, at: float, limits: SmearThresholds) -> None:
        self.seen[event_id] = at
        if len(self.seen) > SEEN_PER_TEXT * limits.max_texts:
            del self.seen[next(iter(self.seen))]

    def _quotes_defender(self, found: TextFeatures, threshold: float) -> bool:
        if not self.own:
            return False
        own = np.stack([signed for _, _, signed in self.own])
        return bool((minhash.similarity(found.signature(), own) >= threshold).any())

    def _match(self, text: Text, threshold: float) -> None:
        """Find near-duplicates through the LSH buckets, verify them, join their clusters."""
        signed = text.features.signature()
        candidates = self._bucket(text, minhash.band_keys(signed))
        if not candidates:
            return
        others = list(candidates.values())
        similar = minhash.similarity(signed, np.stack([t.features.signature() for t in others]))
        for other, score in zip(others, similar.tolist(), strict=True):
            if score >= threshold:
                self._pair(text, other, score)

    def _bucket(self, text: Text, bands: list[int]) -> dict[int, Text]:
        """Offer `text` in its bands and return the texts already there (its candidates).

        A bucket keeps the BUCKET_DEPTH latest texts, one per account: an account's newer
        text replaces its older one, so one account's flood cannot crowd the others out. Most
        buckets hold one text, kept as a bare number to save a list per band and text.
        """
        texts, account, number = self.texts, text.account, text.number
        candidates: dict[int, Text] = {}
        for buckets, key in zip(self.buckets, bands, strict=True):
            bucket = buckets.get(key)
            if bucket is None:
                buckets[key] = number
            elif isinstance(bucket, int):
                found = candidates[bucket] = texts[bucket]
                buckets[key] = number if found.account == account else [bucket, number]
            else:
                same = None
                for position, other in enumerate(bucket):
                    found = candidates[other] = texts[other]
                    if found.account == account:
                        same = position
                if same is not None:
                    del bucket[same]
                bucket.append(number)
                if len(bucket) > BUCKET_DEPTH:
                    del bucket[0]
        return candidates

    def _pair(self, text: Text, other: Text, score: float) -> None:
        cluster = self._join(text, other)
        if other.account == text.account:
            return  # one account repeating itself: part of the cluster, no proof of coordination
        cluster.pairs += 1
        cluster.similarity_sum += score
        cluster.similarity_min = min(cluster.similarity_min, score)
        for linked in (text, other):
            if not linked.linked:
                linked.linked = True
                cluster.linked_accounts[linked.account] += 1

    def _group(self, text: Text, key: str, limits: SmearThresholds) -> None:
        """Count a shared link, domain or hashtag; join the texts of a synchronised burst."""
        group = self.groups.setdefault(key, Group())
        group.accounts[text.account] += 1
        recent = group.recent
        sync = limits.sync_minutes * 60.0
        if recent and text.at < recent[-1][0] - sync:
            return  # a late text: counted in the window, too late for the burst
        recent.append((text.at, text.number, text.account))
        group.recent_accounts[text.account] += 1
        while recent[0][0] < text.at - sync:
            _, _, account = recent.popleft()
            _decrement(group.recent_accounts, account)
        bursting = len(group.recent_accounts)
        share = bursting / len(group.accounts)
        if bursting < limits.sync_min_accounts or share < limits.min_sync_share:
            group.burst = False
            return
        if group.burst:  # the burst's texts are joined already: the latest one suffices
            partner = next((n for _, n, _ in reversed(recent) if self._other(n, text)), None)
            joined = [] if partner is None else [partner]
        else:
            joined = [number for _, number, _ in recent if self._other(number, text)]
        for number in joined:
            self._join(text, self.texts[number])
        group.burst = True
        if text.cluster is not None:
            cluster = self.clusters[text.cluster]
            best = cluster.bursts.get(key)
            if best is None or bursting > best[0]:
                cluster.bursts[key] = [bursting, round(share, 3)]

    def _other(self, number: int, text: Text) -> bool:
        return number != text.number and number in self.texts

    def _join(self, text: Text, other: Text) -> Cluster:
        """Put two texts in one cluster (making or merging clusters) and return it."""
        first, second = text.cluster, other.cluster
        if first is not None and second is not None:
            if first == second:
                return self.clusters[first]
            return self._merge(self.clusters[first], self.clusters[second])
        if first is not None:
            cluster = self.clusters[first]
            self._enter(cluster, other)
        elif second is not None:
            cluster = self.clusters[second]
            self._enter(cluster, text)
        else:
            cluster = self._new_cluster(min(text, other, key=_age))
            self._enter(cluster, text)
            self._enter(cluster, other)
        return cluster

    def _new_cluster(self, oldest: Text) -> Cluster:
        digest = hashlib.sha256(
            f"{oldest.event.platform}\x1f{oldest.event.id}".encode()
        ).hexdigest()
        key = f"smear_campaign:{self.defender_id}:{int(oldest.at)}:{digest[:12]}"
        cluster = Cluster(self.next_cluster, key, oldest.at)
        self.next_cluster += 1
        self.clusters[cluster.number] = cluster
        return cluster

    def _enter(self, cluster: Cluster, text: Text, *, dirty: bool = True) -> None:
        text.cluster = cluster.number
        cluster.texts.add(text.number)
        cluster.accounts[text.account] += 1
        if text.linked:
            cluster.linked_accounts[text.account] += 1
        if dirty:
            self.dirty.add(cluster.number)

    def _merge(self, first: Cluster, second: Cluster) -> Cluster:
        """Merge two clusters; the larger keeps its members, the alerted or older gives the key.

        An alert already raised keeps growing under its key; when both were alerted (or
        neither), the older key survives and the other is listed as absorbed.
        """
        keep, gone = (first, second) if len(first.texts) >= len(second.texts) else (second, first)
        older, younger = sorted(
            (first, second), key=lambda item: (not item.alerted, item.created, item.key)
        )
        for number in gone.texts:
            self.texts[number].cluster = keep.number
        keep.texts |= gone.texts
        keep.accounts.update(gone.accounts)
        keep.linked_accounts.update(gone.linked_accounts)
        keep.pairs += gone.pairs
        keep.similarity_sum += gone.similarity_sum
        keep.similarity_min = min(keep.similarity_min, gone.similarity_min)
        for key, best in gone.bursts.items():
            if key not in keep.bursts or best[0] > keep.bursts[key][0]:
                keep.bursts[key] = best
        absorbed = [*older.absorbed, *younger.absorbed]
        if younger.alerted:
            absorbed.append(younger.key)
        keep.absorbed = absorbed[-20:]
        keep.key, keep.created = older.key, older.created
        keep.alerted = first.alerted or second.alerted
        del self.clusters[gone.number]
        self.dirty.discard(gone.number)
        self.dirty.add(keep.number)
        return keep

    def expire(self, cutoff: float) -> None:
        """Forget texts, event ids and the defender's own texts older than `cutoff`."""
        while self.texts:
            oldest = next(iter(self.texts.values()))
            if oldest.at >= cutoff:
                break
            self._drop(oldest.number)
        while self.seen and next(iter(self.seen.values())) < cutoff:
            del self.seen[next(iter(self.seen))]
        while self.own and self.own[0][0] < cutoff:
            self.own.popleft()

    def _drop(self, number: int) -> None:
        text = self.texts.pop(number)
        _decrement(self.per_account, text.account)
        repeat = (text.account, text.features.text, text.features.groups)
        if self.repeats_of.get(repeat) == number:
            del self.repeats_of[repeat]
        self._unbucket(text)
        for key in text.features.groups:
            group = self.groups.get(key)
            if group is not None:
                _decrement(group.accounts, text.account)
                if not group.accounts:
                    del self.groups[key]
        if text.cluster is not None:
            cluster = self.clusters[text.cluster]
            cluster.texts.discard(number)
            _decrement(cluster.accounts, text.account)
            if text.linked:
                _decrement(cluster.linked_accounts, text.account)
            if not cluster.texts:
                del self.clusters[cluster.number]
                self.dirty.discard(cluster.number)

    def _unbucket(self, text: Text) -> None:
        if not text.compared:
            return
        bands = minhash.band_keys(text.features.signature())  # recomputed: cheaper than kept
        for buckets, key in zip(self.buckets, bands, strict=True):
            bucket = buckets.get(key)
            if bucket == text.number:
                del buckets[key]
            elif isinstance(bucket, list) and text.number in bucket:
                bucket.remove(text.number)
                if len(bucket) == 1:
                    buckets[key] = bucket[0]

    def reading(self, cluster: Cluster, sync_minutes: int) -> CampaignReading:
        """Return what `cluster` holds now: accounts, shared signals, timing, evidence."""
        members = sorted((self.texts[number] for number in cluster.texts), key=_age)
        first_by_account: dict[str, Text] = {}
        young: set[str] = set()
        abusive: set[str] = set()
        for text in members:
            first_by_account.setdefault(text.account, text)
            if text.young:
                young.add(text.account)
            if text.abusive:
                abusive.add(text.account)
        linked = [text for text in members if text.linked]
        representative = (linked or members)[0].event.content.text
        evidence = list(first_by_account.values())
        if len(evidence) > MAX_EVIDENCE:  # the first accounts, and the latest to join
            evidence = evidence[:EVIDENCE_HALF] + evidence[-EVIDENCE_HALF:]
        return CampaignReading(
            accounts=list(first_by_account),
            linked_accounts=len(cluster.linked_accounts),
            texts=len(members),
            repeats=sum(text.repeats for text in members),
            young=len(young),
            abusive=len(abusive),
            suspicious=len(young | abusive),
            links=_shared(members, lambda text: text.features.links),
            domains=_shared(members, lambda text: text.features.domains),
            hashtags=_shared(members, lambda text: text.features.hashtags),
            first_at=members[0].at,
            last_at=members[-1].at,
            sync_accounts=_most_within(members, sync_minutes * 60.0),
            representative=representative,
            evidence=[text.event for text in sorted(evidence, key=_age)],
            addressed=any(text.event.event_type is not EventType.POST for text in members),
        )

    def snapshot(self) -> dict[str, Any]:
        """Return the window as JSON values (events, membership, keys; no signatures)."""
        return {
            "newest": None if self.newest == float("-inf") else self.newest,
            "span": self.span,
            "next_text": self.next_text,
            "next_cluster": self.next_cluster,
            "texts": [
                [
                    text.number,
                    text.at,
                    text.account,
                    text.compared,
                    text.young,
                    text.abusive,
                    text.cluster,
                    text.linked,
                    text.repeats,
                    schema.to_dict(text.event),
                ]
                for text in self.texts.values()
            ],
            "clusters": [
                [
                    cluster.number,
                    cluster.key,
                    cluster.created,
                    cluster.alerted,
                    cluster.pairs,
                    cluster.similarity_sum,
                    cluster.similarity_min,
                    cluster.bursts,
                    cluster.absorbed,
                ]
                for cluster in self.clusters.values()
            ],
            "groups": {
                key: [group.burst, [list(entry) for entry in group.recent]]
                for key, group in self.groups.items()
                if group.recent
            },
            "seen": [[event_id, at] for event_id, at in self.seen.items()],
            "own": [[at, text] for at, text, _ in self.own],
        }

    @classmethod
    def restore(cls, defender_id: str, state: dict[str, Any]) -> CampaignWindow:
        """Rebuild a window from `snapshot`'s output, recomputing signatures from the texts."""
        window = cls(defender_id)
        window.newest = float("-inf") if state["newest"] is None else float(state["newest"])
        window.span = float(state["span"])
        window.next_text = int(state["next_text"])
        window.next_cluster = int(state["next_cluster"])
        for entry in state["clusters"]:
            cluster = _restore_cluster(entry)
            window.clusters[cluster.number] = cluster
        for entry in state["texts"]:
            window._restore_text(entry)
        for key, (burst, recent) in state["groups"].items():
            group = window.groups.setdefault(key, Group())
            group.burst = burst
            for at, number, account in recent:
                group.recent.append((float(at), int(number), account))
                group.recent_accounts[account] += 1
        window.seen = {event_id: float(at) for event_id, at in state["seen"]}
        for at, text in state["own"]:
            window.own.append((float(at), text, minhash.signature(text)))
        return window

    def _restore_text(self, entry: list[Any]) -> None:
        number, at, account, compared, young, abusive, cluster, linked, repeats, raw = entry
        event = schema.convert(raw)
        assert isinstance(event, schema.TEXT_EVENTS)  # noqa: S101  (only text events are stored)
        found = features(event.content.text)
        text = Text(int(number), float(at), account, event, found, compared, young, abusive)
        text.linked, text.repeats = linked, int(repeats)
        self.texts[text.number] = text
        self.per_account[account] += 1
        self.repeats_of[(account, found.text, found.groups)] = text.number
        if compared:
            self._bucket(text, minhash.band_keys(found.signature()))  # compared when it came
        for group in found.groups:
            self.groups.setdefault(group, Group()).accounts[account] += 1
        if cluster is not None:
            self._enter(self.clusters[cluster], text, dirty=False)


def _restore_cluster(entry: list[Any]) -> Cluster:
    number, key, created, alerted, pairs, total, lowest, bursts, absorbed = entry
    return Cluster(
        int(number),
        key,
        float(created),
        pairs=int(pairs),
        similarity_sum=float(total),
        similarity_min=float(lowest),
        bursts=bursts,
        alerted=bool(alerted),
        absorbed=list(absorbed),
    )


def _age(text: Text) -> tuple[float, int]:
    return (text.at, text.number)


def _decrement(counter: Counter[str], key: str) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]


def _shared(
    members: list[Text], signals: Callable[[Text], tuple[str, ...]]
) -> list[tuple[str, int]]:
    """Return the signals used by two accounts or more, most used first, with their counts."""
    accounts: dict[str, set[str]] = {}
    for text in members:
        for signal in signals(text):
            accounts.setdefault(signal, set()).add(text.account)
    shared = [(signal, len(users)) for signal, users in accounts.items() if len(users) >= 2]
    shared.sort(key=lambda item: (-item[1], item[0]))
    return shared[:SHARED_SHOWN]


def _most_within(members: Iterable[Text], span: float) -> int:
    """Return the most distinct accounts whose texts fall within any `span` seconds."""
    window: deque[Text] = deque()
    counts: Counter[str] = Counter()
    best = 0
    for text in members:  # in time order
        window.append(text)
        counts[text.account] += 1
        while window[0].at < text.at - span:
            _decrement(counts, window.popleft().account)
        best = max(best, len(counts))
    return best
