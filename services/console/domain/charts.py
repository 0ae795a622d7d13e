"""Charts as inline SVG drawn on the server: horizontal bars with their labels and values.

Every text goes through the template's escaping (the data is returned, not markup): the template
draws the rectangles from these numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

BAR_HEIGHT, GAP, LABEL_WIDTH, WIDTH = 22, 8, 150, 480


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value as shown, and its geometry."""

    label: str
    shown: str
    y: int
    width: float


@dataclass(frozen=True)
class BarChart:
    """A chart's bars and its size."""

    title: str
    bars: tuple[Bar, ...]
    height: int
    label_width: int = LABEL_WIDTH
    width: int = WIDTH


def bar_chart(*, title: str, rows: Sequence[tuple[str, float]], unit: str = "",
              scale_max: float | None = None) -> BarChart:
    """Bars for (label, value) rows, scaled to the largest value (or to scale_max)."""
    top = scale_max if scale_max is not None else max((v for _, v in rows), default=0)
    room = WIDTH - LABEL_WIDTH - 60
    bars = tuple(Bar(label=label, shown=f"{value:g}{unit}", y=i * (BAR_HEIGHT + GAP),
                     width=round(room * value / top, 1) if top else 0.0)
                 for i, (label, value) in enumerate(rows))
    return BarChart(title=title, bars=bars, height=max(len(bars), 1) * (BAR_HEIGHT + GAP))
