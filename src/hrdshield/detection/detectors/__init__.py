"""The detectors, one module each; `default_detectors` is the set the pipeline runs."""

from __future__ import annotations

from typing import Any

from hrdshield.detection.detectors import doxxing, impersonation, mass_reporting, pile_on
from hrdshield.detection.detectors.doxxing import DoxxingDetector
from hrdshield.detection.detectors.impersonation import ImpersonationDetector
from hrdshield.detection.detectors.mass_reporting import MassReportingDetector
from hrdshield.detection.detectors.pile_on import PileOnDetector
from hrdshield.detection.enums import DetectorKind
from hrdshield.detection.pipeline import Detector

DEFAULT_THRESHOLDS: dict[str, Any] = {
    DetectorKind.DOXXING.value: doxxing.DEFAULTS,
    DetectorKind.IMPERSONATION.value: impersonation.DEFAULTS,
    DetectorKind.PILE_ON.value: pile_on.DEFAULTS,
    DetectorKind.MASS_REPORTING.value: mass_reporting.DEFAULTS,
}
"""Each detector's default thresholds, by the name used in the thresholds file."""


def default_detectors() -> list[Detector]:
    """Return a fresh instance of every detector, in the order they run within a batch.

    Text detectors run first, so the accounts they find abusive already weigh more in the
    counting detectors of the same batch.
    """
    return [DoxxingDetector(), ImpersonationDetector(), PileOnDetector(), MassReportingDetector()]
