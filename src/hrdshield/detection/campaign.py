"""The target-centred campaign view: everything aimed at one defender, across attacking accounts.

Built from the evidence of the defender's alerts (never from raw platform data): a timeline of
events, the accounts behind them grouped by the keyed hash of their account id, the clusters a
smear detector found, and the texts. This is read by reviewers only; it decrypts what it shows
and keeps nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hrdshield.detection.enums import DetectorKind
from hrdshield.detection.models import Alert, AlertEvent
from hrdshield.detection.service import short_digest

MAX_EVENTS = 2000
MAX_BARS = 48
MAX_SAMPLES = 3
_STEPS = (timedelta(hours=1), timedelta(hours=6), timedelta(days=1), timedelta(days=7))


@dataclass
class AttackingAccount:
    """One account seen in the evidence against the defender."""

    label: str  # short stable label from the keyed hash; the platform's id is never shown
    handle: str
    events: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    detectors: set[DetectorKind] = field(default_factory=set)
    samples: list[str] = field(default_factory=list)


@dataclass
class Campaign:
    """The campaign against one defender."""

    alerts: list[Alert]
    accounts: list[AttackingAccount]
    clusters: list[tuple[Alert, list[str]]]  # smear alerts and the handles in their cluster
    timeline: list[tuple[str, int]]  # (bucket label, events)
    bucket: timedelta
    events: int


def build(*, session: Session, defender_id: str) -> Campaign:
    """Gather the alerts, accounts, clusters and timeline of attacks on `defender_id`."""
    alerts = list(
        session.scalars(
            select(Alert).where(Alert.defender_id == defender_id).order_by(Alert.first_event_at)
        )
    )
    detector_of = {alert.id: alert.detector for alert in alerts}
    rows = session.scalars(
        select(AlertEvent)
        .join(Alert, Alert.id == AlertEvent.alert_id)
        .where(Alert.defender_id == defender_id)
        .order_by(AlertEvent.occurred_at.desc())
        .limit(MAX_EVENTS)
    ).all()
    accounts: dict[str, AttackingAccount] = {}
    handles_by_account_id: dict[str, str] = {}
    times: dict[tuple[str, str], datetime] = {}
    for row in rows:
        times[(row.platform, row.event_id)] = row.occurred_at
        event = json.loads(row.payload)
        actor = event.get("actor") or {}
        if row.actor_digest is None or not actor:
            continue
        handles_by_account_id[actor.get("account_id", "")] = actor.get("handle", "")
        account = accounts.setdefault(
            row.actor_digest,
            AttackingAccount(label=short_digest(row.actor_digest), handle=actor.get("handle", "")),
        )
        _count(account, row.occurred_at, detector_of[row.alert_id], event)
    clusters = [
        (alert, _cluster_handles(alert, handles_by_account_id))
        for alert in alerts
        if alert.detector is DetectorKind.SMEAR_CAMPAIGN
    ]
    bucket, timeline = _timeline(sorted(times.values()))
    return Campaign(
        alerts=list(reversed(alerts)),
        accounts=sorted(accounts.values(), key=lambda item: (-item.events, item.label)),
        clusters=clusters,
        timeline=timeline,
        bucket=bucket,
        events=len(times),
    )


def _count(
    account: AttackingAccount, at: datetime, detector: DetectorKind, event: dict[str, Any]
) -> None:
    account.events += 1
    account.first_at = at if account.first_at is None else min(account.first_at, at)
    account.last_at = at if account.last_at is None else max(account.last_at, at)
    account.detectors.add(detector)
    text = (event.get("content") or {}).get("text")
    if text and len(account.samples) < MAX_SAMPLES and text not in account.samples:
        account.samples.append(text)


def _cluster_handles(alert: Alert, handles: dict[str, str]) -> list[str]:
    explanation = json.loads(alert.explanation)
    members = explanation.get("accounts") or explanation.get("account_ids") or []
    return sorted({handles.get(str(member), str(member)) for member in members})


def _timeline(times: list[datetime]) -> tuple[timedelta, list[tuple[str, int]]]:
    if not times:
        return _STEPS[0], []
    span = times[-1] - times[0]
    step = next((step for step in _STEPS if span / step < MAX_BARS), _STEPS[-1])
    start = _floor(times[0], step)
    counts = Counter(int((at - start) / step) for at in times)
    fmt = "%Y-%m-%d %H:%M" if step < timedelta(days=1) else "%Y-%m-%d"
    return step, [
        ((start + index * step).strftime(fmt), counts.get(index, 0))
        for index in range(max(counts) + 1)
    ]


def _floor(at: datetime, step: timedelta) -> datetime:
    if step >= timedelta(days=1):
        return at.replace(hour=0, minute=0, second=0, microsecond=0)
    hours = int(step.total_seconds() // 3600)
    return at.replace(hour=at.hour - at.hour % hours, minute=0, second=0, microsecond=0)
