"""Server-rendered SVG charts (no script, CSP-friendly): geometry computed here, drawn by
templates/portal/dashboard/_charts.html."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 640, 200, 28


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    line: str  # SVG polyline points for the success rate, empty when there is none
    max_value: int
    x_labels: list[tuple[float, str]]


def volume_and_rate_chart(days) -> Chart:
    """Bars: sessions a day; line: that day's success rate (0–100 % on the same height)."""
    count = max(len(days), 1)
    plot_w, plot_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    step = plot_w / count
    peak = max((d.sessions for d in days), default=0) or 1
    bars, points, labels = [], [], []
    for i, day in enumerate(days):
        x = PAD + i * step
        height = plot_h * day.sessions / peak
        bars.append(
            Bar(
                x + step * 0.15,
                PAD + plot_h - height,
                step * 0.7,
                height,
                day.day.isoformat(),
                day.sessions,
            )
        )
        if day.success_rate is not None:
            y = PAD + plot_h * (1 - day.success_rate)
            points.append(f"{x + step / 2:.1f},{y:.1f}")
        if i % max(count // 6, 1) == 0:
            labels.append((x + step / 2, day.day.strftime("%b %d")))
    return Chart(bars, " ".join(points), peak, labels)
