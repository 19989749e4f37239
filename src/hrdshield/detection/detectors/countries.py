"""Where countries are and which border each other, for the impossible-travel rule.

The data (`country_data.TABLE`) is generated from the countryinfo package and committed, so
nothing is loaded at run time. The least distance between two countries is the distance
between their centroids less both radii, and 0 for neighbours: a conservative bound, so large
and neighbouring countries give slack and travel is called impossible only when it is.
"""

from __future__ import annotations

import math

from hrdshield.detection.detectors.country_data import TABLE

EARTH_RADIUS_KM = 6371.0

NEIGHBOURS: dict[str, frozenset[str]] = {
    code: frozenset(entry[3].split()) for code, entry in TABLE.items()
}


def neighbours(first: str, second: str) -> bool:
    """Return whether the two countries share a land border."""
    return second in NEIGHBOURS.get(first, frozenset())


def centroid_km(first: str, second: str) -> float:
    """Return the great-circle distance between the two countries' centroids, in km."""
    lat1, lon1, _, _ = TABLE[first]
    lat2, lon2, _, _ = TABLE[second]
    return great_circle_km(lat1, lon1, lat2, lon2)


def min_travel_km(first: str, second: str) -> float | None:
    """Return the least distance anyone must travel between the two, or None if unknown."""
    if first == second or first not in TABLE or second not in TABLE:
        return None
    if neighbours(first, second):
        return 0.0
    return max(0.0, centroid_km(first, second) - TABLE[first][2] - TABLE[second][2])


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the haversine distance between two points given in degrees, in km."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
