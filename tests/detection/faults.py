"""Make a real detector fail on one event, the way a bug on a poison event would."""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")


def failing_on(detector: T, poison: str, step: str) -> T:
    """Return `detector` with its method `step` (taking the event first) failing on `poison`."""
    real = getattr(detector, step)

    def step_or_fail(event: Any, *args: Any) -> Any:
        if event.id == poison:
            raise RuntimeError("a bug")
        return real(event, *args)

    setattr(detector, step, step_or_fail)
    return detector
