"""Alerts into incidents into cases: storing what the detectors found, and reviewers' verdicts.

`store` is called in the transaction that marks the events processed, so an alert is stored
exactly once per detection however often its events are delivered: the alert's dedup key finds
the row to extend. Alerts against one defender that arrive while an incident is open belong to
that incident (one campaign, one case); the first opens a case through the case service, later
ones are added to its timeline, and the defender is told through the outbox, in their language,
when the incident opens and again if it becomes critical. Everything is in the audit log as the
work of the detection rule that fired.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from hashlib import sha256
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hrdshield import clock
from hrdshield.cases import service as cases
from hrdshield.cases.enums import CaseCategory, CaseEventKind, CaseStatus, Severity
from hrdshield.cases.models import Case, CaseEvent
from hrdshield.cases.schemas import CaseCreate
from hrdshield.cases.sla import SlaPolicy
from hrdshield.defenders.models import Defender
from hrdshield.detection import schema
from hrdshield.detection.enums import AlertSeverity, AlertVerdict, DetectorKind
from hrdshield.detection.models import Alert, AlertEvent, Incident
from hrdshield.detection.pipeline import MAX_EVIDENCE, AlertDraft
from hrdshield.errors import NotFound
from hrdshield.guides import service as guides
from hrdshield.notify import service as notifications
from hrdshield.notify.attack_texts import describe
from hrdshield.notify.enums import TemplateKey
from hrdshield.protection import service as protection
from hrdshield.security import audit
from hrdshield.security.crypto import Purpose, current_keyring
from hrdshield.security.rbac import Principal

DETECTION = Principal.system("detection")
INCIDENT_GAP = timedelta(hours=72)  # alerts this close together belong to one incident
_RANK = {
    AlertSeverity.LOW: 0,
    AlertSeverity.MEDIUM: 1,
    AlertSeverity.HIGH: 2,
    AlertSeverity.CRITICAL: 3,
}
CATEGORY = {
    DetectorKind.TARGETED_ABUSE: CaseCategory.HARASSMENT,
    DetectorKind.DOXXING: CaseCategory.DOXXING,
    DetectorKind.PILE_ON: CaseCategory.HARASSMENT,
    DetectorKind.SMEAR_CAMPAIGN: CaseCategory.SMEAR_DISINFORMATION,
    DetectorKind.IMPERSONATION: CaseCategory.IMPERSONATION,
    DetectorKind.MASS_REPORTING: CaseCategory.TAKEDOWN,
    DetectorKind.ACCOUNT_TAKEOVER: CaseCategory.ACCOUNT_COMPROMISE,
    DetectorKind.MALICIOUS_LINK: CaseCategory.PHISHING_SPYWARE,
    DetectorKind.SHUTDOWN: CaseCategory.OTHER,
}
THREAT_RULES = frozenset({"threat", "doxxing", "incitement"})  # threats to physical safety
_CLOSED = (CaseStatus.CLOSED, CaseStatus.DUPLICATE)


@dataclass(frozen=True)
class StoredAlert:
    """What `store` did with one draft."""

    alert: Alert
    created: bool
    incident_opened: bool


def more_severe(first: AlertSeverity, second: AlertSeverity) -> AlertSeverity:
    """Return the more urgent of two severities."""
    return first if _RANK[first] >= _RANK[second] else second


def actor_digest(account_id: str) -> str:
    """Return the keyed hash under which an acting account is grouped (never in clear)."""
    return current_keyring().keyed_hash(Purpose.BLIND_INDEX, f"account\x1f{account_id}")


@dataclass(frozen=True)
class AlertSetup:
    """What storing alerts needs from the configuration: response targets, the public address."""

    policy: SlaPolicy = field(default_factory=SlaPolicy)
    public_url: str = "http://127.0.0.1:8000"  # where links in messages to defenders point


def store(
    *, session: Session, drafts: Sequence[AlertDraft], setup: AlertSetup | None = None
) -> list[StoredAlert]:
    """Create or extend the alerts of `drafts`, group them into incidents and cases."""
    setup = setup or AlertSetup()
    return [_store_one(session, draft, setup) for draft in _merged(drafts)]


def _merged(drafts: Sequence[AlertDraft]) -> list[AlertDraft]:
    """Keep the last draft per dedup key (a detector may extend an alert twice in a batch)."""
    latest: dict[str, AlertDraft] = {}
    for draft in drafts:
        latest[draft.dedup_key] = draft
    return list(latest.values())


def _store_one(session: Session, draft: AlertDraft, setup: AlertSetup) -> StoredAlert:
    alert = session.scalar(select(Alert).where(Alert.dedup_key == draft.dedup_key))
    created = alert is None
    times = [event.occurred_at for event in draft.events]
    if alert is None:
        alert = Alert(
            dedup_key=draft.dedup_key,
            detector=draft.detector,
            rule=draft.rule,
            defender_id=draft.defender_id,
            region=draft.region,
            severity=draft.severity,
            score=draft.score,
            summary=draft.summary,
            explanation=_json(draft.explanation, draft.actions),
            event_count=0,
            first_event_at=min(times),
            last_event_at=max(times),
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        session.add(alert)
        session.flush()
        before = None
    else:
        before = _snapshot(alert)
        _extend(alert, draft, times)
    alert.event_count += _attach_evidence(session, alert, draft)
    opened = False
    if alert.incident_id is None:
        opened = _group(session, alert, draft, setup)
        if alert.defender_id is not None and draft.actions:
            incident = session.get(Incident, alert.incident_id)
            protection.on_detection(
                session,
                defender_id=alert.defender_id,
                wanted=draft.actions,
                alert_id=alert.id,
                case_id=incident.case_id if incident else None,
            )
    elif before is not None and before["severity"] != alert.severity.value:
        _escalate_incident(session, alert, setup)
    audit.record(
        session,
        actor=DETECTION,
        action="alert.create" if created else "alert.update",
        entity_type="alert",
        entity_id=alert.id,
        before=before,
        after=_snapshot(alert),
        detail={"detector": alert.detector.value, "rule": alert.rule},
    )
    return StoredAlert(alert=alert, created=created, incident_opened=opened)


def _json(explanation: dict[str, Any], actions: tuple[str, ...]) -> str:
    return json.dumps({**explanation, "actions": list(actions)}, ensure_ascii=False, default=str)


def _extend(alert: Alert, draft: AlertDraft, times: list[Any]) -> None:
    alert.severity = more_severe(alert.severity, draft.severity)
    alert.score = max(alert.score, draft.score)
    alert.rule = draft.rule
    alert.summary = draft.summary
    alert.explanation = _json(draft.explanation, draft.actions)
    alert.first_event_at = min(alert.first_event_at, *times)
    alert.last_event_at = max(alert.last_event_at, *times)
    alert.updated_at = clock.now()


def _attach_evidence(session: Session, alert: Alert, draft: AlertDraft) -> int:
    """Store the draft's events not yet attached; return how many events are new to the alert."""
    known = {
        (platform, event_id)
        for platform, event_id in session.execute(
            select(AlertEvent.platform, AlertEvent.event_id).where(AlertEvent.alert_id == alert.id)
        )
    }
    fresh = [event for event in draft.events if (event.platform, event.id) not in known]
    room = max(0, MAX_EVIDENCE - len(known))
    for event in fresh[-room:] if room else []:
        session.add(
            AlertEvent(
                alert_id=alert.id,
                platform=event.platform,
                event_id=event.id,
                event_type=event.event_type,
                occurred_at=event.occurred_at,
                actor_digest=actor_digest(event.actor.account_id) if event.actor else None,
                payload=schema.encode(event).decode(),
            )
        )
    return len(fresh)


def _snapshot(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "detector": alert.detector.value,
        "rule": alert.rule,
        "severity": alert.severity.value,
        "score": alert.score,
        "event_count": alert.event_count,
        "defender_id": alert.defender_id,
        "region": alert.region,
        "incident_id": alert.incident_id,
        "verdict": alert.verdict.value if alert.verdict else None,
    }


def _open_incident(session: Session, alert: Alert) -> Incident | None:
    cutoff = clock.now() - INCIDENT_GAP
    query = (
        select(Incident)
        .outerjoin(Case, Case.id == Incident.case_id)
        .where(Incident.last_alert_at >= cutoff)
        .where((Case.id.is_(None)) | (Case.status.not_in(_CLOSED)))
        .order_by(Incident.last_alert_at.desc())
        .limit(1)
    )
    if alert.defender_id is not None:
        query = query.where(Incident.defender_id == alert.defender_id)
    else:
        query = query.where(Incident.defender_id.is_(None), Incident.region == alert.region)
    return session.scalar(query)


def _group(session: Session, alert: Alert, draft: AlertDraft, setup: AlertSetup) -> bool:
    """Put a new alert into its open incident, or open an incident and its case; True if opened."""
    incident = _open_incident(session, alert)
    now = clock.now()
    if incident is not None:
        alert.incident_id = incident.id
        incident.alert_count += 1
        incident.last_alert_at = now
        escalated = _RANK[alert.severity] > _RANK[incident.severity]
        incident.severity = more_severe(incident.severity, alert.severity)
        if incident.case_id is not None:
            _add_to_case(session, incident, alert, setup, escalated=escalated)
        return False
    incident = Incident(
        defender_id=alert.defender_id,
        region=alert.region,
        severity=alert.severity,
        alert_count=1,
        opened_at=now,
        last_alert_at=now,
    )
    session.add(incident)
    session.flush()
    alert.incident_id = incident.id
    opened = cases.create(
        session=session,
        actor=DETECTION,
        case_in=CaseCreate(
            category=_category(alert),
            summary=_case_summary(session, alert),
            narrative=draft.summary,
            defender_id=alert.defender_id,
            severity=Severity(alert.severity.value),
        ),
        policy=setup.policy,
    )
    if alert.region is not None and opened.region is None:
        opened.region = alert.region
    incident.case_id = opened.id
    _tell_defender(session, opened, alert, setup)
    audit.record(
        session,
        actor=DETECTION,
        action="incident.open",
        entity_type="incident",
        entity_id=incident.id,
        detail={"case_id": opened.id, "detector": alert.detector.value},
    )
    return True


def _category(alert: Alert) -> CaseCategory:
    if alert.detector is DetectorKind.TARGETED_ABUSE and alert.rule in THREAT_RULES:
        return CaseCategory.THREAT_OF_VIOLENCE
    return CATEGORY[alert.detector]


def _case_summary(session: Session, alert: Alert) -> str:
    label = alert.detector.value.replace("_", " ")
    if alert.defender_id is not None:
        defender = session.get(Defender, alert.defender_id)
        who = defender.pseudonym if defender else "a defender"
        return f"Detected {label} against {who}"
    return f"Detected {label} in region {alert.region}"


def _add_to_case(
    session: Session, incident: Incident, alert: Alert, setup: AlertSetup, *, escalated: bool
) -> None:
    target = session.get(Case, incident.case_id)
    if target is None:
        return
    session.add(
        CaseEvent(
            case_id=target.id,
            kind=CaseEventKind.ALERT,
            at=clock.now(),
            actor_id=DETECTION.user_id,
            actor_role=None,
            data={
                "alert_id": alert.id,
                "detector": alert.detector.value,
                "severity": alert.severity.value,
            },
        )
    )
    if escalated:
        _raise_case_severity(session, target, alert, setup)


def _escalate_incident(session: Session, alert: Alert, setup: AlertSetup) -> None:
    incident = session.get(Incident, alert.incident_id)
    if incident is None or _RANK[alert.severity] <= _RANK[incident.severity]:
        return
    incident.severity = alert.severity
    target = session.get(Case, incident.case_id) if incident.case_id else None
    if target is not None:
        _raise_case_severity(session, target, alert, setup)


def _raise_case_severity(session: Session, target: Case, alert: Alert, setup: AlertSetup) -> None:
    wanted = Severity(alert.severity.value)
    order = [Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]
    if order.index(wanted) <= order.index(target.severity) or target.status in _CLOSED:
        return
    before = cases.snapshot(target)
    previous, target.severity = target.severity, wanted
    if target.acknowledged_at is None:
        target.sla_due_at = min(
            target.sla_due_at or clock.now(), setup.policy.due(target.created_at, wanted)
        )
    target.updated_at = clock.now()
    session.add(
        CaseEvent(
            case_id=target.id,
            kind=CaseEventKind.SEVERITY_CHANGED,
            at=clock.now(),
            actor_id=DETECTION.user_id,
            actor_role=None,
            data={"from": previous.value, "to": wanted.value, "alert_id": alert.id},
        )
    )
    audit.record(
        session,
        actor=DETECTION,
        action="case.severity",
        entity_type="case",
        entity_id=target.id,
        before=before,
        after=cases.snapshot(target),
        detail={"alert_id": alert.id},
    )
    if wanted is Severity.CRITICAL:
        _tell_defender(session, target, alert, setup, again=True)


def _tell_defender(
    session: Session, about: Case, alert: Alert, setup: AlertSetup, *, again: bool = False
) -> None:
    """Tell the defender what was seen and where to read what to do, in their language."""
    if about.defender_id is None:
        return
    defender = session.get(Defender, about.defender_id)
    if defender is None:
        return
    language = notifications.language_for(defender)
    slug = guides.guide_for(alert.detector.value)
    notifications.enqueue_for_defender(
        session=session,
        defender=defender,
        template=TemplateKey.PROACTIVE_ALERT,
        context={
            "reference": about.reference,
            "what": describe(alert.detector.value, language),
            "guide": f"{setup.public_url}{guides.guide_path(slug)}?lang={language}",
        },
        case_id=about.id,
        idempotency_key=f"case-{about.id}-proactive{'-critical' if again else ''}",
    )


# --- reading and judging alerts ------------------------------------------------------------


def get(*, session: Session, alert_id: str) -> Alert:
    """Return one alert (staff only: routes check the permission)."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound("alert not found")
    return alert


def evidence(*, session: Session, alert_id: str) -> list[AlertEvent]:
    """Return the events an alert rests on, oldest first."""
    return list(
        session.scalars(
            select(AlertEvent)
            .where(AlertEvent.alert_id == alert_id)
            .order_by(AlertEvent.occurred_at, AlertEvent.event_id)
        )
    )


def list_alerts(
    *,
    session: Session,
    detector: DetectorKind | None = None,
    defender_id: str | None = None,
    unjudged: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> list[Alert]:
    """Return alerts, newest first, optionally for one detector or defender."""
    query = select(Alert).order_by(Alert.updated_at.desc(), Alert.id)
    if detector is not None:
        query = query.where(Alert.detector == detector)
    if defender_id is not None:
        query = query.where(Alert.defender_id == defender_id)
    if unjudged:
        query = query.where(Alert.verdict.is_(None))
    return list(session.scalars(query.limit(limit).offset(offset)))


def judge(*, session: Session, actor: Principal, alert_id: str, verdict: AlertVerdict) -> Alert:
    """Record a reviewer's verdict on an alert (true or false positive); it may be changed."""
    alert = get(session=session, alert_id=alert_id)
    before = _snapshot(alert)
    alert.verdict, alert.verdict_by, alert.verdict_at = verdict, actor.user_id, clock.now()
    audit.record(
        session,
        actor=actor,
        action="alert.verdict",
        entity_type="alert",
        entity_id=alert.id,
        before=before,
        after=_snapshot(alert),
        detail={"verdict": verdict.value, "detector": alert.detector.value},
    )
    return alert


@dataclass(frozen=True)
class DetectorFeedback:
    """Reviewers' verdicts on one detector's alerts."""

    detector: DetectorKind
    alerts: int
    true_positives: int
    false_positives: int

    @property
    def judged(self) -> int:
        """Return how many alerts have a verdict."""
        return self.true_positives + self.false_positives

    @property
    def precision(self) -> float | None:
        """Return the share of judged alerts that were true, or None when none were judged."""
        return self.true_positives / self.judged if self.judged else None


def feedback(*, session: Session) -> list[DetectorFeedback]:
    """Return verdict counts for every detector (those with no alerts included, as zeros)."""
    counts: dict[tuple[DetectorKind, AlertVerdict | None], int] = {
        (detector, verdict): count
        for detector, verdict, count in session.execute(
            select(Alert.detector, Alert.verdict, func.count()).group_by(
                Alert.detector, Alert.verdict
            )
        )
    }
    return [
        DetectorFeedback(
            detector=detector,
            alerts=sum(count for (kind, _), count in counts.items() if kind is detector),
            true_positives=counts.get((detector, AlertVerdict.TRUE_POSITIVE), 0),
            false_positives=counts.get((detector, AlertVerdict.FALSE_POSITIVE), 0),
        )
        for detector in DetectorKind
    ]


def short_digest(digest: str) -> str:
    """Return a short, stable label for an account digest, to tell attackers apart on a page."""
    return sha256(digest.encode()).hexdigest()[:8]
