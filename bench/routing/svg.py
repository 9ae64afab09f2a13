"""A hand-written SVG chart of a simulation: success rate and traffic share over time."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from bench.routing.scenarios import Scenario

COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#7f7f7f"]
WIDTH, PANEL, LEFT, TOP = 760, 200, 60, 30


def timeline_svg(sc: Scenario, results: dict[str, Any], names: list[str], bucket: int) -> str:
    """Two panels: expected success rate per policy, and the outage provider's share."""
    outages = [ev for ev in sc.events if ev.kind == "outage"]
    watched = outages[0].provider if outages else names[0]
    who = names.index(watched)
    success = {n: [pt[0] for pt in r["timeline"]] for n, r in results.items()}
    first = next(iter(results.values()))
    success["oracle"] = [pt[1] for pt in first["timeline"]]
    share = {n: [pt[2 + who] for pt in r["timeline"]] for n, r in results.items()}
    lows = [v for series in success.values() for v in series]
    low = max(0.0, min(lows) - 0.02) if lows else 0.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH + 180}" '
        f'height="{2 * PANEL + 3 * TOP + 20}" font-family="sans-serif" font-size="11">',
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    for k, (top, title, series, lo, hi) in enumerate(
        [
            (TOP, "expected success rate (per 200 transactions)", success, low, 1.0),
            (2 * TOP + PANEL, f"traffic share of {watched}", share, 0.0, 1.0),
        ]
    ):
        parts += _panel(sc, top, title, series, lo, hi, bucket, legend=k == 0)
    parts.append("</svg>")
    return "\n".join(parts)


def _panel(
    sc: Scenario,
    top: int,
    title: str,
    series: dict,
    lo: float,
    hi: float,
    bucket: int,
    legend: bool,
) -> list[str]:
    """One framed panel with outage shading, axis labels and a polyline per series."""
    n = sc.transactions

    def x(i: float) -> float:
        return LEFT + WIDTH * i / n

    def y(v: float) -> float:
        return top + PANEL * (1 - (v - lo) / (hi - lo or 1))

    out = [f'<text x="{LEFT}" y="{top - 8}" font-weight="bold">{escape(title)}</text>']
    for ev in sc.events:
        if ev.kind == "outage":
            out.append(
                f'<rect x="{x(ev.start):.1f}" y="{top}" width="{x(ev.end) - x(ev.start):.1f}" '
                f'height="{PANEL}" fill="#f3d6d6"/>'
            )
    out.append(
        f'<rect x="{LEFT}" y="{top}" width="{WIDTH}" height="{PANEL}" fill="none" stroke="#333"/>'
    )
    for v in (lo, (lo + hi) / 2, hi):
        out.append(f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.2f}</text>')
    out.append(f'<text x="{LEFT + WIDTH}" y="{top + PANEL + 14}" text-anchor="end">{n} tx</text>')
    for k, (name, values) in enumerate(series.items()):
        colour = COLOURS[k % len(COLOURS)] if name != "oracle" else "#000"
        points = " ".join(
            f"{x((j + 0.5) * bucket):.1f},{y(min(max(v, lo), hi)):.1f}"
            for j, v in enumerate(values)
        )
        dash = ' stroke-dasharray="4 3"' if name == "oracle" else ""
        width = 2.0 if name == "kadosei" else 1.0
        out.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="{width}"{dash} '
            f'points="{points}"/>'
        )
        if legend:
            ly = top + 12 + 16 * k
            out.append(
                f'<line x1="{LEFT + WIDTH + 15}" y1="{ly}" x2="{LEFT + WIDTH + 35}" y2="{ly}" '
                f'stroke="{colour}" stroke-width="2"{dash}/>'
                f'<text x="{LEFT + WIDTH + 40}" y="{ly + 4}">{escape(name)}</text>'
            )
    return out
