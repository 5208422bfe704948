"""Small SVG drawings for the report's charts: shapes laid out here, drawn by ``templates/report/chart.svg.j2``.

No plotting library: a chart is a few dozen rectangles, lines and texts, so drawing it costs
microseconds where rendering a PNG cost a quarter of a second. Every text goes through the
(autoescaping) template, so a label taken from a business's file cannot break out of the SVG.
Without font metrics in the kernel, text widths are estimated from :data:`CHAR_W`.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field

from retainwise.reports.render import render

FONT = 12
#: Estimated average glyph width (px) at :data:`FONT` px in a sans-serif font, generous so labels fit.
CHAR_W = 7.4
AXIS = "#5b6775"
GRID = "#e6e9ee"


def _n(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


@dataclass
class Canvas:
    """The shapes of one chart, in pixels from its top left corner, drawn in the order they were added."""

    width: float
    height: float
    shapes: list[dict] = field(default_factory=list)

    def rect(self, x: float, y: float, w: float, h: float, fill: str) -> None:
        self.shapes.append(
            {"kind": "rect", "x": _n(x), "y": _n(y), "w": _n(max(0.0, w)), "h": _n(max(0.0, h)), "fill": fill}
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, stroke: str = AXIS, width: float = 1) -> None:
        self.shapes.append(
            {
                "kind": "line",
                "x1": _n(x1),
                "y1": _n(y1),
                "x2": _n(x2),
                "y2": _n(y2),
                "stroke": stroke,
                "width": _n(width),
            }
        )

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        anchor: str = "start",
        size: int = FONT,
        bold: bool = False,
        fill: str = "#1d2733",
        rotate: bool = False,
    ) -> None:
        self.shapes.append(
            {
                "kind": "text",
                "x": _n(x),
                "y": _n(y),
                "text": str(text),
                "anchor": anchor,
                "size": size,
                "bold": bold,
                "fill": fill,
                "rotate": rotate,
            }
        )

    def svg(self) -> str:
        return render(
            "chart.svg.j2", width=_n(self.width), height=_n(self.height), shapes=self.shapes, font=FONT
        )


def img(canvas: Canvas, alt: str) -> str:
    """The chart as an ``<img>`` (a data: URL) with ``alt``: the same HTML in Voila, report.html and readers."""
    src = "data:image/svg+xml;base64," + base64.b64encode(canvas.svg().encode("utf-8")).decode("ascii")
    return render("chart.html.j2", src=src, alt=alt)


def text_width(text: str, size: int = FONT) -> float:
    return len(str(text)) * CHAR_W * size / FONT


def fit(text: str, width: float) -> str:
    """``text`` cut with an ellipsis to about ``width`` px (the whole text is in the chart's alt)."""
    most = max(1, int(width / CHAR_W + 0.01))
    return text if len(text) <= most else text[: most - 1] + "…"


def ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    """Round tick values covering [lo, hi] (lo <= 0 <= hi for bars), about ``n`` intervals."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo <= 0:
        return [0.0, 1.0]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * (1 - 1e-9))
    first, last = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


@dataclass
class Bar:
    """One bar: its label (user text allowed), its value and its fill colour."""

    label: str
    value: float
    colour: str


def hbars(
    c: Canvas,
    x: float,
    y: float,
    width: float,
    bars: list[Bar],
    *,
    tick_text,
    title: str = "",
    bar_h: float = 16,
    gap: float = 6,
) -> float:
    """Horizontal bars (top to bottom as given) with labels on the left and a value axis below, drawn into
    ``c`` from (x, y) within ``width``; returns the height used."""
    top = y
    if title:
        c.text(x + width / 2, y + 13, title, anchor="middle", bold=True)
        top += 22
    label_w = min(width * 0.45, max(map(text_width, (b.label for b in bars)), default=0.0) + 14)
    values = [b.value if math.isfinite(b.value) else 0.0 for b in bars]
    scale = ticks(min(values, default=0.0), max(values, default=0.0))
    lo, hi = scale[0], scale[-1]
    left, right = x + label_w, x + width - 30
    pos = lambda v: left + (v - lo) / (hi - lo) * (right - left)  # noqa: E731
    bottom = top + len(bars) * (bar_h + gap)
    for t in scale:
        c.line(pos(t), top, pos(t), bottom, GRID)
        c.text(pos(t), bottom + 14, tick_text(t), anchor="middle", size=11, fill=AXIS)
    for i, b in enumerate(bars):
        by = top + i * (bar_h + gap) + gap / 2
        start, end = sorted((pos(0.0), pos(values[i])))
        c.rect(start, by, end - start, bar_h, b.colour)
        c.text(left - 6, by + bar_h / 2 + 4, fit(b.label, label_w - 14), anchor="end")
    c.line(pos(0.0), top, pos(0.0), bottom, "#333")
    c.line(left, bottom, right, bottom)
    return bottom + 18 - y
