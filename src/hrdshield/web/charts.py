"""Charts drawn on the server as inline SVG: no script, no third-party library, no request.

A chart is geometry computed here and drawn by the `_charts.html` macros; every chart comes with
the same numbers as a table, so it reads the same with a screen reader, in print and in text
browsers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT, GAP = 600, 160, 2


@dataclass(frozen=True)
class Bar:
    """One bar: its label, value and rectangle in the chart's coordinates."""

    label: str
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarChart:
    """Bars scaled to a fixed viewBox, with the largest value for the axis label."""

    bars: list[Bar]
    maximum: int
    width: int = WIDTH
    height: int = HEIGHT


def bar_chart(points: Sequence[tuple[str, int]]) -> BarChart:
    """Scale `(label, value)` points into bars filling the chart from start to end."""
    maximum = max((value for _, value in points), default=0)
    slot = WIDTH / max(len(points), 1)
    bars = []
    for position, (label, value) in enumerate(points):
        height = 0.0 if maximum == 0 else HEIGHT * value / maximum
        bars.append(
            Bar(
                label=label,
                value=value,
                x=round(position * slot + GAP / 2, 2),
                y=round(HEIGHT - height, 2),
                width=round(max(slot - GAP, 1.0), 2),
                height=round(height, 2),
            )
        )
    return BarChart(bars=bars, maximum=maximum)
