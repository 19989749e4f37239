"""The bus a deployment is configured with, built from its settings."""

from __future__ import annotations

from hrdshield.bus.jetstream import BusSettings, JetStreamBus
from hrdshield.config import Settings
from hrdshield.security.crypto import Keyring


def bus_settings_of(settings: Settings) -> BusSettings | None:
    """Return the stream layout of `settings`, or None when events stay in process."""
    if settings.bus_url is None:
        return None
    return BusSettings(
        url=settings.bus_url,
        stream=settings.bus_stream,
        partitions=settings.bus_partitions,
        replicas=settings.bus_replicas,
        max_age_hours=settings.bus_max_age_hours,
        max_bytes=None if settings.bus_max_gib is None else int(settings.bus_max_gib * 2**30),
    )


def open_bus(settings: Settings, keyring: Keyring, *, name: str) -> JetStreamBus | None:
    """Return a publisher to the configured stream (it connects on first use), or None."""
    layout = bus_settings_of(settings)
    return None if layout is None else JetStreamBus(layout, keyring, name=name)
