"""Detector thresholds: defaults in code, overrides per country from the operator's file.

Each detector declares its thresholds as a frozen dataclass with its defaults. An operator can
change them for everyone or for one country (an election, a crackdown) in a TOML file named by
``HRDSHIELD_DETECTION_CONFIG``::

    [pile_on]
    min_accounts = 10

    [country.KE.pile_on]      # Kenya during an election: react sooner
    min_accounts = 5

Surge mode lowers them through the same per-country overrides. An unknown detector, threshold or
a value of the wrong type stops start-up with a message naming it, never silently.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ThresholdError(ValueError):
    """The thresholds file names something that does not exist or has the wrong type."""


@dataclasses.dataclass
class ThresholdBook:
    """Resolve a detector's thresholds for a country: defaults, then global, then country."""

    overrides: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    by_country: dict[str, dict[str, dict[str, Any]]] = dataclasses.field(default_factory=dict)
    _cache: dict[tuple[str, str | None, type[Any]], Any] = dataclasses.field(
        default_factory=dict, repr=False
    )

    def get(self, detector: str, defaults: T, country: str | None = None) -> T:
        """Return `defaults` (a dataclass instance) with the overrides for `country` applied."""
        key = (detector, country, type(defaults))
        found = self._cache.get(key)
        if found is None:
            changes = dict(self.overrides.get(detector, {}))
            if country is not None:
                changes.update(self.by_country.get(country, {}).get(detector, {}))
            found = _apply(detector, defaults, changes)
            self._cache[key] = found
        return found  # type: ignore[no-any-return]

    def set_country(self, country: str, detector: str, changes: dict[str, Any]) -> None:
        """Override thresholds of one detector in one country (surge mode, tests)."""
        self.by_country.setdefault(country, {}).setdefault(detector, {}).update(changes)
        self._cache.clear()


def _apply(detector: str, defaults: Any, changes: dict[str, Any]) -> Any:
    if not changes:
        return defaults
    fields = {item.name: item for item in dataclasses.fields(defaults)}
    for name, given in changes.items():
        if name not in fields:
            raise ThresholdError(f"{detector} has no threshold {name!r}")
        wanted = type(getattr(defaults, name))
        value = given
        if wanted is float and isinstance(given, int) and not isinstance(given, bool):
            value = float(given)
        if type(value) is not wanted:
            raise ThresholdError(f"{detector}.{name} must be a {wanted.__name__}")
        changes[name] = value
    return dataclasses.replace(defaults, **changes)


def load(path: Path | None, known: dict[str, Any]) -> ThresholdBook:
    """Read a thresholds file; `known` maps each detector name to its default thresholds."""
    if path is None:
        return ThresholdBook()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ThresholdError(f"{path}: {error}") from error
    countries = document.pop("country", {})
    book = ThresholdBook(overrides=document, by_country=countries)
    for detector, changes in [
        *document.items(),
        *((name, changes) for per in countries.values() for name, changes in per.items()),
    ]:
        if detector not in known:
            raise ThresholdError(f"{path}: unknown detector {detector!r}")
        if not isinstance(changes, dict):
            raise ThresholdError(f"{path}: [{detector}] must be a table of thresholds")
        _apply(detector, known[detector], dict(changes))
    for country in countries:
        if not (len(country) == 2 and country.isalpha() and country.isupper()):
            raise ThresholdError(f"{path}: country {country!r} must be an ISO 3166 code like KE")
    return book
