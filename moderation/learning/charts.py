"""Server-side SVG line charts for the model page (presentation attributes only: the CSP forbids inline styles)."""
from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 12, 40
COLOURS = ("#1c4f8c", "#b3261e", "#1f7a3d", "#8a5a00")


@dataclass(frozen=True)
class Series:
    name: str
    points: list[tuple[float, float]]  # (x, y); None y values are left out by the caller
    dashed: bool = False


def _fmt(value: float) -> str:
    return f"{value:.1f}"


def line_chart(series: list[Series], *, title: str, x_labels: dict[float, str] | None = None,
               y_range: tuple[float, float] = (0.0, 1.0), y_format: str = "{:.1f}",
               band: tuple[float, float] | None = None) -> Markup:
    """An accessible SVG: a title, axes, one polyline and dots per series, and a legend."""
    xs = [x for s in series for x, _ in s.points] + list(x_labels or ()) or [0.0, 1.0]
    x0, x1 = min(xs), max(xs)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    y0, y1 = y_range
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(x: float) -> float:
        return LEFT + (x - x0) / (x1 - x0) * plot_w

    def py(y: float) -> float:
        return TOP + (1 - (min(max(y, y0), y1) - y0) / (y1 - y0)) * plot_h

    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    if band is not None:
        parts.append(f'<rect x="{LEFT}" y="{_fmt(py(band[1]))}" width="{plot_w}" '
                     f'height="{_fmt(py(band[0]) - py(band[1]))}" fill="#fdecea"/>')
    for k in range(5):
        y = y0 + (y1 - y0) * k / 4
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{_fmt(py(y))}" y2="{_fmt(py(y))}" stroke="#d9dee4"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{_fmt(py(y) + 4)}" text-anchor="end" font-size="11" '
                     f'fill="#5d6773">{escape(y_format.format(y))}</text>')
    for x, label in (x_labels or {}).items():
        parts.append(f'<text x="{_fmt(px(x))}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11" '
                     f'fill="#5d6773">{escape(label)}</text>')
    for n, s in enumerate(series):
        colour = COLOURS[n % len(COLOURS)]
        coords = " ".join(f"{_fmt(px(x))},{_fmt(py(y))}" for x, y in s.points)
        dash = ' stroke-dasharray="5 4"' if s.dashed else ""
        if len(s.points) > 1:
            parts.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        for x, y in s.points:
            parts.append(f'<circle cx="{_fmt(px(x))}" cy="{_fmt(py(y))}" r="3" fill="{colour}">'
                         f'<title>{escape(s.name)}: {escape(y_format.format(y))}</title></circle>')
        lx = LEFT + n * 150
        parts.append(f'<line x1="{lx}" x2="{lx + 18}" y1="{HEIGHT - 8}" y2="{HEIGHT - 8}" stroke="{colour}" '
                     f'stroke-width="2"{dash}/><text x="{lx + 22}" y="{HEIGHT - 4}" font-size="11" '
                     f'fill="#1d232b">{escape(s.name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
