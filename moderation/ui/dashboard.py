"""The dashboard: backlog per queue, oldest waiting comment, time to decision chart, decisions per moderator."""
from __future__ import annotations

from dataclasses import dataclass

from flask import render_template

from moderation.core.statistics import DayDelay, get_dashboard
from moderation.extensions import db
from moderation.ui import bp
from moderation.ui.auth import VIEWING_ROLES, now, requires

WIDTH, HEIGHT, PAD_LEFT, PAD_RIGHT, PAD_BOTTOM, PAD_TOP = 560, 180, 44, 24, 24, 10


@dataclass
class Chart:
    """An inline SVG drawn on the server: no script, no inline style, nothing for the CSP to block."""

    width: int
    height: int
    left: int
    right: int
    p50: str
    p90: str
    dots: list[tuple[float, float, str]]
    y_ticks: list[tuple[float, str]]
    x_labels: list[tuple[float, str]]
    empty: bool


def _minutes_label(value: float) -> str:
    return f"{value / 60:.0f} h" if value >= 120 else f"{value:.0f} min"


def build_chart(delays: list[DayDelay]) -> Chart:
    top = max([d.p90_minutes or 0 for d in delays] + [1.0])
    plot_w, plot_h = WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_BOTTOM - PAD_TOP
    step = plot_w / max(1, len(delays) - 1)

    def point(i: int, value: float) -> tuple[float, float]:
        return round(PAD_LEFT + i * step, 1), round(PAD_TOP + plot_h * (1 - value / top), 1)

    p50, p90, dots = [], [], []
    for i, day in enumerate(delays):
        if day.p50_minutes is not None:
            x, y = point(i, day.p50_minutes)
            p50.append(f"{x},{y}")
            dots.append((x, y, f"{day.day:%d/%m} p50 {_minutes_label(day.p50_minutes)} ({day.decided})"))
        if day.p90_minutes is not None:
            x, y = point(i, day.p90_minutes)
            p90.append(f"{x},{y}")
    ticks = [(point(0, top * f)[1], _minutes_label(top * f)) for f in (0, 0.5, 1)]
    # Every other day, ending on today, so the labels never overlap.
    labels = [(point(i, 0)[0], f"{d.day:%d/%m}") for i, d in enumerate(delays) if (len(delays) - 1 - i) % 2 == 0]
    return Chart(WIDTH, HEIGHT, PAD_LEFT, WIDTH - PAD_RIGHT, " ".join(p50), " ".join(p90), dots, ticks, labels,
                 empty=not any(d.decided for d in delays))


@bp.get("/dashboard")
@requires(VIEWING_ROLES)
def dashboard():
    data = get_dashboard(db.session, now=now())
    return render_template("console/dashboard.html", data=data, chart=build_chart(data.delays), now=now())
