"""Server-rendered SVG charts (no script, CSP-friendly): geometry computed here, drawn by
templates/portal/dashboard/_charts.html."""

from __future__ import annotations

import math
from dataclasses import dataclass

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 52, 16, 48  # room for the axes' ticks and titles

# (attribute of a day's figures, legend, colour), stacked bottom to top.
OUTCOMES = (
    ("succeeded", "Succeeded", "#0f8a5f"),
    ("failed", "Failed", "#c0392b"),
    ("canceled", "Canceled by the customer", "#8a8fa3"),
    ("abandoned", "Abandoned (expired)", "#cfd3df"),
    ("in_progress", "In progress", "#e0a43a"),
)


@dataclass(frozen=True)
class Segment:
    y: float
    height: float
    fill: str
    label: str
    value: int


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    label: str  # the day, ISO
    total: int
    segments: list[Segment]


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: float
    top: float
    right: float  # x of the plot's right edge
    bottom: float  # y of the plot's baseline
    bars: list[Bar]
    lines: list[str]  # SVG polyline points of the success rate, broken where a day has none
    session_ticks: list[Tick]  # left axis
    rate_ticks: list[Tick]  # right axis
    day_ticks: list[Tick]  # bottom axis
    legend: list[tuple[str, str]]  # (colour, label)


def nice_step(peak: int, ticks: int = 4) -> int:
    """A round tick step (1, 2 or 5 × 10ⁿ) that covers ``peak`` in about ``ticks`` steps."""
    raw = max(peak, 1) / ticks
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return max(int(factor * magnitude), 1)
    return int(10 * magnitude)


def outcome_chart(days) -> Chart:
    """Bars: sessions a day stacked by outcome; line: that day's success rate (right axis)."""
    right, bottom = WIDTH - RIGHT, HEIGHT - BOTTOM
    plot_w, plot_h = right - LEFT, bottom - TOP
    count = max(len(days), 1)
    step = plot_w / count
    peak = max((d.sessions for d in days), default=0)
    unit = nice_step(peak)
    top_value = unit * max(math.ceil(peak / unit), 1)
    bars, lines, points = [], [], []
    for i, day in enumerate(days):
        x = LEFT + i * step
        base, segments = bottom, []
        for attribute, label, fill in OUTCOMES:
            value = getattr(day, attribute)
            if value:
                height = plot_h * value / top_value
                base -= height
                segments.append(Segment(base, height, fill, label, value))
        bars.append(Bar(x + step * 0.15, step * 0.7, day.day.isoformat(), day.sessions, segments))
        if day.success_rate is not None:
            points.append(f"{x + step / 2:.1f},{TOP + plot_h * (1 - day.success_rate):.1f}")
        elif points:
            lines.append(" ".join(points))
            points = []
    if points:
        lines.append(" ".join(points))
    every = max(math.ceil(count / 7), 1)
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        top=TOP,
        right=right,
        bottom=bottom,
        bars=bars,
        lines=lines,
        session_ticks=[
            Tick(bottom - plot_h * value / top_value, f"{value:,}")
            for value in range(0, top_value + 1, unit)
        ],
        rate_ticks=[Tick(bottom - plot_h * share / 100, f"{share}%") for share in (0, 50, 100)],
        day_ticks=[
            Tick(LEFT + i * step + step / 2, f"{day.day.day} {day.day:%b}")
            for i, day in enumerate(days)
            if i % every == 0
        ],
        legend=[(fill, label) for _, label, fill in OUTCOMES],
    )
