"""One customer's detail: probability, recommended action, and why, in percentage points."""

from __future__ import annotations

import json
import math

from retainwise.reports import charts, labels
from retainwise.reports.render import render


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def factor_points(probability: float, impact: float) -> float:
    """How much a factor moves this customer's probability: p minus p without the factor (in [−1, 1]).

    Impacts add up on the model's log-odds scale; taking one away from this customer's score and converting
    back gives the change a person understands ("+12 pts").
    """
    p = min(max(float(probability), 1e-6), 1 - 1e-6)
    return p - _sigmoid(math.log(p / (1 - p)) - float(impact))


def factors(row) -> list[dict]:
    """The customer's factors worth a line: text ("Contract: month to month") and points (×100), strongest first."""
    out = []
    for column in ("risk_factors", "protective_factors"):
        try:
            items = json.loads(getattr(row, column) or "[]")
        except (TypeError, ValueError):
            items = []
        for f in items:
            pts = factor_points(row.churn_probability, f.get("impact") or 0.0) * 100
            if abs(pts) >= labels.MIN_POINTS:
                out.append({"text": labels.fact(f["feature"], f.get("value")), "points": pts})
    return sorted(out, key=lambda f: -abs(f["points"]))


def detail_html(row, chart: bool = True) -> str:
    """The detail of one results row (a namedtuple of results.csv's columns)."""
    found = factors(row)
    up = [f"{f['text']} ({labels.points(f['points'] / 100)})" for f in found if f["points"] > 0]
    down = [f"{f['text']} ({labels.points(f['points'] / 100)})" for f in found if f["points"] < 0]
    revenue = getattr(row, "revenue_at_risk", None)
    return render(
        "detail.html.j2",
        customer=str(row.customer_id),
        probability=float(row.churn_probability),
        tier=str(row.churn_risk),
        action=str(getattr(row, "recommended_action", "") or ""),
        revenue=revenue if revenue is not None and revenue == revenue else None,
        up=labels.join(up),
        down=labels.join(down),
        up_many=len(up) > 1,
        down_many=len(down) > 1,
        chart=charts.contributions(found) if chart else "",
    )


def no_match_html(search: str) -> str:
    """What the detail says when a search finds nobody."""
    return render("detail_empty.html.j2", search=search)
