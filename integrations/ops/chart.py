"""A small server-rendered SVG line chart (no JavaScript, no external assets)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

WIDTH = 760
HEIGHT = 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 14, 28


@dataclass(frozen=True)
class ChartSeries:
    name: str
    css_class: str
    points: str  # SVG polyline points
    dots: tuple[tuple[float, float, int], ...]  # x, y, value
    total: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    bottom_y: int
    right_x: int
    series: tuple[ChartSeries, ...]
    y_ticks: tuple[tuple[float, int], ...]  # y, value
    x_ticks: tuple[tuple[float, str], ...]  # x, label


def _nice_max(value: int) -> int:
    if value <= 4:
        return 4
    step = 1
    while step * 10 < value:
        step *= 10
    for factor in (1, 2, 5, 10):
        if value <= step * factor:
            return step * factor
    return step * 10


def line_chart(hours: list[str], series: list[tuple[str, str, list[int]]]) -> Chart:
    """`hours`: ISO hour starts, oldest first; `series`: (name, css class, values per hour)."""
    count = max(1, len(hours))
    top_value = _nice_max(max([0, *(v for _, _, values in series for v in values)]))
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return round(LEFT + (plot_w * i / (count - 1) if count > 1 else plot_w / 2), 1)

    def y(v: int) -> float:
        return round(TOP + plot_h - plot_h * v / top_value, 1)

    built = []
    for name, css_class, values in series:
        dots = tuple((x(i), y(v), v) for i, v in enumerate(values))
        built.append(
            ChartSeries(
                name=name,
                css_class=css_class,
                points=" ".join(f"{px},{py}" for px, py, _ in dots),
                dots=tuple(d for d in dots if d[2]),
                total=sum(values),
            )
        )
    y_ticks = tuple((y(v), v) for v in (0, top_value // 2, top_value))
    x_ticks = tuple(
        (x(i), datetime.fromisoformat(hour).strftime("%H:%M"))
        for i, hour in enumerate(hours)
        if i % 4 == 0 or i == count - 1
    )
    return Chart(WIDTH, HEIGHT, LEFT, TOP + plot_h, WIDTH - RIGHT, tuple(built), y_ticks, x_ticks)
