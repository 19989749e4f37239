"""The detectors, one module each; `default_detectors` is the set the pipeline runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hrdshield.detection.detectors import (
    account_takeover,
    doxxing,
    impersonation,
    malicious_link,
    mass_reporting,
    pile_on,
    shutdown,
    smear,
    targeted_abuse,
)
from hrdshield.detection.detectors.account_takeover import AccountTakeoverDetector
from hrdshield.detection.detectors.doxxing import DoxxingDetector
from hrdshield.detection.detectors.impersonation import ImpersonationDetector
from hrdshield.detection.detectors.malicious_link import MaliciousLinkDetector
from hrdshield.detection.detectors.mass_reporting import MassReportingDetector
from hrdshield.detection.detectors.pile_on import PileOnDetector
from hrdshield.detection.detectors.shutdown import ShutdownDetector
from hrdshield.detection.detectors.smear import SmearCampaignDetector
from hrdshield.detection.detectors.targeted_abuse import TargetedAbuseDetector, shipped_scorer
from hrdshield.detection.enums import DetectorKind
from hrdshield.detection.pipeline import Detector
from hrdshield.exchange.matcher import IndicatorMatcher

if TYPE_CHECKING:
    from hrdshield.detection.text.scorer import AbuseScorer

DEFAULT_THRESHOLDS: dict[str, Any] = {
    DetectorKind.TARGETED_ABUSE.value: targeted_abuse.DEFAULTS,
    DetectorKind.DOXXING.value: doxxing.DEFAULTS,
    DetectorKind.IMPERSONATION.value: impersonation.DEFAULTS,
    DetectorKind.MALICIOUS_LINK.value: malicious_link.DEFAULTS,
    DetectorKind.PILE_ON.value: pile_on.DEFAULTS,
    DetectorKind.SMEAR_CAMPAIGN.value: smear.DEFAULTS,
    DetectorKind.MASS_REPORTING.value: mass_reporting.DEFAULTS,
    DetectorKind.ACCOUNT_TAKEOVER.value: account_takeover.DEFAULTS,
    DetectorKind.SHUTDOWN.value: shutdown.DEFAULTS,
}
"""Each detector's default thresholds, by the name used in the thresholds file."""


def default_detectors(
    *,
    indicators: Callable[[], IndicatorMatcher] | None = None,
    abuse: Callable[[], AbuseScorer] | None = None,
) -> list[Detector]:
    """Return a fresh instance of every detector, in the order they run within a batch.

    Text detectors run first, so the accounts they find abusive already weigh more in the
    counting detectors of the same batch. `indicators` provides the current indicator matcher
    (rebuilt after imports); with none, no indicator is known and links are not checked.
    `abuse` provides the abuse scorer (the shipped model unless an operator's is given).
    """
    matcher = indicators or _no_indicators
    return [
        TargetedAbuseDetector(abuse or shipped_scorer()),
        DoxxingDetector(),
        MaliciousLinkDetector(matcher),
        SmearCampaignDetector(),
        ImpersonationDetector(),
        PileOnDetector(),
        MassReportingDetector(),
        AccountTakeoverDetector(),
        ShutdownDetector(),
    ]


_EMPTY = IndicatorMatcher([])


def _no_indicators() -> IndicatorMatcher:
    return _EMPTY
