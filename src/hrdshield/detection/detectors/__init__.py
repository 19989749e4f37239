"""The detectors, one module each; `default_detectors` is the set the pipeline runs."""

from __future__ import annotations

from hrdshield.detection.detectors.mass_reporting import MassReportingDetector
from hrdshield.detection.detectors.pile_on import PileOnDetector
from hrdshield.detection.pipeline import Detector


def default_detectors() -> list[Detector]:
    """Return a fresh instance of every detector, in the order they run within a batch.

    Text detectors run first, so the accounts they find abusive already weigh more in the
    counting detectors of the same batch.
    """
    return [PileOnDetector(), MassReportingDetector()]
