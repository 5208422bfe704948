"""The report's charts, in plain words (no log-odds axis), as ``<img>`` tags with alt text.

Each chart is a small SVG (:mod:`retainwise.reports.svg`) embedded as a data: URL inside an
``<img alt=...>`` so the same HTML works in Voila, in the mailed report.html and for screen readers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import pandas as pd

from retainwise.reports import labels
from retainwise.reports.svg import AXIS, Bar, Canvas, hbars, img, text_width, ticks

TIER_COLOURS = {"LOW": "#1b7a3d", "MEDIUM": "#d08a00", "HIGH": "#b42318"}
BLUE, RED, GREEN = "#3b6ea8", "#b42318", "#1b7a3d"
WIDTH = 640
#: The histogram's bins: 5 points of chance of leaving each.
BIN_EDGES = np.linspace(0, 100, 21)


def _legend(c: Canvas, x: float, y: float, items: list[tuple[str, str]]) -> None:
    for text, colour in items:
        c.rect(x, y - 9, 10, 10, colour)
        c.text(x + 14, y, text)
        x += 14 + text_width(text) + 16


def risk_distribution(results: pd.DataFrame, counts: dict) -> str:
    """Histogram of churn probabilities (5-point bins) coloured by risk tier, stacked."""
    c = Canvas(WIDTH, 230)
    left, right, top, bottom = 62.0, WIDTH - 14.0, 34.0, 230 - 44.0
    p = pd.to_numeric(results["churn_probability"], errors="coerce") * 100
    stacks = [
        (tier, np.histogram(p[results["churn_risk"] == tier].dropna().clip(0, 100), BIN_EDGES)[0])
        for tier in ("LOW", "MEDIUM", "HIGH")
    ]
    totals = sum(h for _, h in stacks)
    scale = [t for t in ticks(0, float(max(totals.max(), 1))) if float(t).is_integer()]  # whole customers
    y_of = lambda v: bottom - v / scale[-1] * (bottom - top)  # noqa: E731
    x_of = lambda pct: left + pct / 100 * (right - left)  # noqa: E731
    for t in scale:
        c.line(left, y_of(t), right, y_of(t), "#e6e9ee")
        c.text(left - 6, y_of(t) + 4, f"{t:,.0f}", anchor="end", size=11, fill=AXIS)
    base = np.zeros(len(BIN_EDGES) - 1)
    for tier, heights in stacks:
        for i, h in enumerate(heights):
            if h:
                c.rect(
                    x_of(BIN_EDGES[i]) + 0.5,
                    y_of(base[i] + h),
                    x_of(BIN_EDGES[i + 1]) - x_of(BIN_EDGES[i]) - 1,
                    y_of(base[i]) - y_of(base[i] + h),
                    TIER_COLOURS[tier],
                )
        base = base + heights
    for pct in range(0, 101, 20):
        c.text(x_of(pct), bottom + 15, str(pct), anchor="middle", size=11, fill=AXIS)
    c.line(left, bottom, right, bottom)
    c.text((left + right) / 2, bottom + 34, "chance of leaving (%)", anchor="middle")
    c.text(16, (top + bottom) / 2, "customers", anchor="middle", rotate=True)
    _legend(
        c,
        left + 8,
        16,
        [(f"{t.title()} ({counts.get(t, 0):,})", TIER_COLOURS[t]) for t in ("LOW", "MEDIUM", "HIGH")],
    )
    alt = "Customers by chance of leaving: " + ", ".join(
        f"{counts.get(t, 0):,} {t.lower()} risk" for t in ("HIGH", "MEDIUM", "LOW")
    )
    return img(c, alt)


def _bar_chart(bars: list[Bar], axis_title: str, tick_text, alt: str) -> str:
    c = Canvas(WIDTH, 0)
    used = hbars(c, 0, 6, WIDTH, bars, tick_text=tick_text)
    c.text(WIDTH / 2, used + 22, axis_title, anchor="middle")
    c.height = used + 30
    return img(c, alt)


def drivers(global_drivers: list[dict], n: int = 8) -> str:
    """What drives churn in this file: each feature's share of the model's reasoning, in %."""
    top = pd.DataFrame(global_drivers or [], columns=["feature", "mean_abs_impact"]).head(n)
    if top.empty:
        return ""
    share = (
        top["mean_abs_impact"] / max(1e-9, float(pd.DataFrame(global_drivers)["mean_abs_impact"].sum())) * 100
    )
    names = [labels.label(f) for f in top["feature"]]
    bars = [Bar(name, float(s), BLUE) for name, s in zip(names, share, strict=True)]
    alt = "What drives churn: " + ", ".join(f"{n} {s:.0f}%" for n, s in zip(names, share, strict=True))
    return _bar_chart(bars, "share of what drives the predictions (%)", lambda t: f"{t:g}", alt)


def contributions(rows: list[dict]) -> str:
    """One customer's factors as bars of percentage points (right: towards leaving), the strongest up first."""
    if not rows:
        return ""
    rows = sorted(rows, key=lambda r: r["points"])
    bars = [Bar(r["text"], float(r["points"]), RED if r["points"] > 0 else GREEN) for r in reversed(rows)]
    alt = "; ".join(f"{r['text']}: {labels.points(r['points'] / 100)}" for r in rows)
    return _bar_chart(
        bars, "effect on the chance of leaving (percentage points)", lambda t: f"{t:+g}" if t else "0", alt
    )


class _Measure(NamedTuple):
    """What a segment chart shows of a column of the segment tables: the bar's value, its tick labels, the axis
    title, a value in the alt text, and the alt text's opening."""

    value: Callable[[float], float]
    tick: Callable[[float], str]
    axis: str
    say: Callable[[float], str]
    lead: str


#: The segment tables' columns a chart can show: revenue at risk, or (a file without money) the mean chance.
_SEGMENT_MEASURES = {
    "revenue": _Measure(
        float,
        lambda t: f"${t:,.0f}",
        "monthly revenue at risk",
        lambda v: f"${v:,.0f}",
        "Revenue at risk by segment. ",
    ),
    "probability": _Measure(
        lambda v: float(v) * 100,
        lambda t: f"{t:g}%",
        "average chance of leaving (%)",
        lambda v: f"{v:.0f}%",
        "Average chance of leaving by segment. ",
    ),
}


def segment_bars(tables: dict[str, pd.DataFrame], measure: str = "revenue") -> str:
    """Revenue at risk per segment (``measure="probability"``: the mean chance of leaving, for a file without money),
    one panel per dimension, two panels a row (one image, not four)."""
    if not tables:
        return ""
    shown = _SEGMENT_MEASURES[measure]
    cols = min(2, len(tables))
    panel_w = 860 / cols
    c, y, alt = Canvas(860, 0), 4.0, []
    items = list(tables.items())
    for start in range(0, len(items), cols):
        used = 0.0
        for i, (title, table) in enumerate(items[start : start + cols]):
            bars = [
                Bar(str(s), shown.value(r), RED)
                for s, r in zip(table["segment"], table[measure], strict=True)
            ]
            used = max(
                used,
                hbars(c, i * panel_w + 8 * i, y, panel_w - 8, bars, title=str(title), tick_text=shown.tick),
            )
        y += used + 8
    for title, table in items:
        alt.append(
            f"{title}: "
            + ", ".join(
                f"{s} {shown.say(shown.value(r))}"
                for s, r in zip(table["segment"], table[measure], strict=True)
            )
        )
    c.text(430, y + 10, shown.axis, anchor="middle")
    c.height = y + 18
    return img(c, shown.lead + "; ".join(alt))


def warm() -> None:
    """Compile the chart templates (a blank chart): a preheated kernel pays this before any request."""
    img(Canvas(10, 10), "")
