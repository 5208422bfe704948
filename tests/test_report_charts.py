"""The report's charts: SVG drawings inside ``<img alt=...>``, one bar per value, user text escaped."""

from __future__ import annotations

import base64
import math
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pandas as pd
import pytest

from retainwise.reports import charts, svg

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = "<script>alert('x')</script> & \"quoted\" ]]>"


class _Img(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.imgs: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.imgs.append(dict(attrs))


def _chart(html: str) -> tuple[ET.Element, str]:
    """The one <img>'s SVG (parsed: it must be well-formed XML) and its alt text."""
    imgs = _Img(html).imgs
    assert len(imgs) == 1, html[:200]
    src, alt = imgs[0]["src"], imgs[0]["alt"]
    assert src.startswith("data:image/svg+xml;base64,")
    return ET.fromstring(base64.b64decode(src.split(",", 1)[1]).decode("utf-8")), alt


def _bars(root: ET.Element, colour: str) -> list[ET.Element]:
    return [r for r in root.iter(f"{NS}rect") if r.get("fill") == colour]


def _texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{NS}text")]


def test_risk_histogram_has_a_bar_per_filled_bin_of_each_tier():
    results = pd.DataFrame(
        {
            "churn_probability": [0.01, 0.02, 0.12, 0.35, 0.36, 0.95],
            "churn_risk": ["LOW", "LOW", "LOW", "MEDIUM", "MEDIUM", "HIGH"],
        }
    )
    root, alt = _chart(charts.risk_distribution(results, {"LOW": 3, "MEDIUM": 2, "HIGH": 1}))
    assert alt == "Customers by chance of leaving: 1 high risk, 2 medium risk, 3 low risk"
    assert len(_bars(root, charts.TIER_COLOURS["LOW"])) == 2 + 1  # bins 0–5 and 10–15, plus its legend key
    assert len(_bars(root, charts.TIER_COLOURS["MEDIUM"])) == 1 + 1
    assert len(_bars(root, charts.TIER_COLOURS["HIGH"])) == 1 + 1
    heights = sorted(
        float(r.get("height")) for r in _bars(root, charts.TIER_COLOURS["LOW"]) if r.get("width") != "10"
    )
    assert heights[1] == pytest.approx(2 * heights[0], rel=0.02)  # two customers stand twice as tall as one
    assert {"Low (3)", "Medium (2)", "High (1)", "chance of leaving (%)"} <= set(_texts(root))


def test_drivers_draw_the_top_eight_with_lengths_in_proportion():
    drivers = [{"feature": f"contract{i}", "mean_abs_impact": 10 - i} for i in range(10)]
    root, alt = _chart(charts.drivers(drivers))
    bars = _bars(root, charts.BLUE)
    assert len(bars) == 8
    widths = [float(b.get("width")) for b in bars]
    assert widths == sorted(widths, reverse=True) and widths[0] == pytest.approx(10 / 3 * widths[7], rel=0.02)
    assert alt.startswith("What drives churn: ") and alt.count("%") == 8
    assert charts.drivers([]) == ""


def test_a_customers_factors_point_right_when_they_raise_the_risk():
    rows = [
        {"text": "Contract: month to month", "points": 12.0},
        {"text": "Tech support: yes", "points": -4.0},
        {"text": "Months as a customer: 2", "points": 7.0},
    ]
    root, alt = _chart(charts.contributions(rows))
    up, down = _bars(root, charts.RED), _bars(root, charts.GREEN)
    assert len(up) == 2 and len(down) == 1
    zero = min(float(b.get("x")) for b in up)
    assert all(float(b.get("x")) == pytest.approx(zero) for b in up)  # rising bars start at zero...
    assert float(down[0].get("x")) + float(down[0].get("width")) == pytest.approx(
        zero, abs=0.2
    )  # ...falling end there
    labels = [t for t in _texts(root) if ":" in t]
    assert labels == [
        "Contract: month to month",
        "Months as a customer: 2",
        "Tech support: yes",
    ]  # strongest up first
    assert (
        alt == "Tech support: yes: -4 pts; Months as a customer: 2: +7 pts; Contract: month to month: +12 pts"
    )
    assert charts.contributions([]) == ""


def test_user_text_in_a_chart_stays_text_in_the_svg_and_the_alt():
    tables = {
        "Contract": pd.DataFrame({"segment": [HOSTILE, "one year"], "revenue": [1500.0, 300.0]}),
        HOSTILE: pd.DataFrame({"segment": ["x"], "revenue": [10.0]}),
    }
    html = charts.segment_bars(tables)
    assert "<script>" not in html
    root, alt = _chart(html)  # parses: the text cannot close a tag or the document
    assert HOSTILE in alt
    texts = _texts(root)
    assert HOSTILE in texts  # the panel title, whole
    assert any(t.startswith("<script>") for t in texts if t != HOSTILE)  # the bar label, cut to fit, as text
    assert not list(root.iter(f"{NS}script")) and not list(root.iter("script"))
    assert len(_bars(root, charts.RED)) == 3 and "$1,500" in texts


def test_segment_bars_have_one_bar_per_segment_and_money_ticks():
    tables = {
        "Contract": pd.DataFrame(
            {"segment": ["month to month", "one year", "two years"], "revenue": [176651.0, 18389.0, 6441.0]}
        ),
        "Internet": pd.DataFrame({"segment": ["fibre optic", "none"], "revenue": [165192.0, 2749.0]}),
    }
    root, alt = _chart(charts.segment_bars(tables))
    assert len(_bars(root, charts.RED)) == 5
    assert alt == (
        "Revenue at risk by segment. Contract: month to month $176,651, one year $18,389, two years $6,441; "
        "Internet: fibre optic $165,192, none $2,749"
    )
    assert "$200,000" in _texts(root) and "monthly revenue at risk" in _texts(root)
    assert charts.segment_bars({}) == ""


@pytest.mark.parametrize(("lo", "hi"), [(0, 3), (0, 176651), (-4, 12), (0, 0.07), (-30, 0)])
def test_ticks_are_round_and_cover_the_values(lo, hi):
    t = svg.ticks(lo, hi)
    assert t[0] <= lo and t[-1] >= hi and 0 in t and 3 <= len(t) <= 7
    steps = {round(b - a, 9) for a, b in zip(t, t[1:], strict=False)}
    assert len(steps) == 1
    step = steps.pop()
    assert round(step / 10 ** math.floor(math.log10(step)), 6) in (1, 2, 2.5, 5)


def test_drawing_the_charts_needs_no_plotting_library():
    code = (
        "import sys, pandas as pd; from retainwise.reports import charts; "
        "charts.drivers([{'feature': 'contract', 'mean_abs_impact': 1.0}]); "
        "charts.risk_distribution(pd.DataFrame({'churn_probability': [0.5], 'churn_risk': ['MEDIUM']}), {}); "
        "assert 'matplotlib' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
