"""The report's charts, in plain words (no log-odds axis), as ``<img>`` tags with alt text.

Each chart is a PNG embedded as a data: URL inside an ``<img alt=...>`` so the same HTML works in
Voila, in the mailed report.html and for screen readers.
"""

from __future__ import annotations

import base64
import io

import pandas as pd

from retainwise.reports import labels
from retainwise.reports.render import render

DPI = 90
TIER_COLOURS = {"LOW": "#1b7a3d", "MEDIUM": "#d08a00", "HIGH": "#b42318"}


def _img(fig, alt: str) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    src = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return render("chart.html.j2", src=src, alt=alt)


def _axes(width: float, height: float):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width, height))
    ax.spines[["top", "right"]].set_visible(False)
    return fig, ax


def risk_distribution(results: pd.DataFrame, counts: dict) -> str:
    """Histogram of churn probabilities coloured by risk tier."""
    fig, ax = _axes(7, 2.3)
    bins = [i / 20 for i in range(21)]
    for tier in ("LOW", "MEDIUM", "HIGH"):
        p = results.loc[results["churn_risk"] == tier, "churn_probability"] * 100
        ax.hist(p, bins=[b * 100 for b in bins], color=TIER_COLOURS[tier], label=f"{tier.title()} ({counts.get(tier, 0):,})")
    ax.set_xlabel("chance of leaving (%)")
    ax.set_ylabel("customers")
    ax.legend(frameon=False)
    alt = "Customers by chance of leaving: " + ", ".join(f"{counts.get(t, 0):,} {t.lower()} risk" for t in
                                                        ("HIGH", "MEDIUM", "LOW"))
    return _img(fig, alt)


def drivers(global_drivers: list[dict], n: int = 8) -> str:
    """What drives churn in this file: each feature's share of the model's reasoning, in %."""
    top = pd.DataFrame(global_drivers or [], columns=["feature", "mean_abs_impact"]).head(n)
    if top.empty:
        return ""
    share = top["mean_abs_impact"] / max(1e-9, float(pd.DataFrame(global_drivers)["mean_abs_impact"].sum())) * 100
    names = [labels.label(f) for f in top["feature"]]
    fig, ax = _axes(7, 0.26 * len(top) + 0.7)
    ax.barh(names[::-1], share.to_numpy()[::-1], color="#3b6ea8")
    ax.set_xlabel("share of what drives the predictions (%)")
    alt = "What drives churn: " + ", ".join(f"{n} {s:.0f}%" for n, s in zip(names, share, strict=True))
    return _img(fig, alt)


def contributions(rows: list[dict]) -> str:
    """One customer's factors as bars of percentage points (up: towards leaving)."""
    if not rows:
        return ""
    rows = sorted(rows, key=lambda r: r["points"])
    fig, ax = _axes(6.5, 0.32 * len(rows) + 0.7)
    ax.barh([r["text"] for r in rows], [r["points"] for r in rows],
            color=["#b42318" if r["points"] > 0 else "#1b7a3d" for r in rows])
    ax.axvline(0, color="#333", lw=0.8)
    ax.set_xlabel("effect on the chance of leaving (percentage points)")
    alt = "; ".join(f"{r['text']}: {labels.points(r['points'] / 100)}" for r in rows)
    return _img(fig, alt)


def segment_bars(tables: dict[str, pd.DataFrame]) -> str:
    """Revenue at risk per segment, one panel per dimension (one figure: one PNG to encode, not four)."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if not tables:
        return ""
    cols = min(2, len(tables))
    rows = -(-len(tables) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(9, 1.9 * rows), squeeze=False)
    alt = []
    for ax, (title, table) in zip(axes.flat, tables.items(), strict=False):
        ax.barh(table["segment"].astype(str)[::-1], table["revenue"].to_numpy()[::-1], color="#b42318")
        ax.set_title(title, fontsize=10)
        ax.spines[["top", "right"]].set_visible(False)
        ax.xaxis.set_major_locator(MaxNLocator(4))  # money labels are wide: few ticks, no overlap
        ax.xaxis.set_major_formatter(lambda x, _: f"${x:,.0f}")
        alt.append(f"{title}: " + ", ".join(f"{s} ${r:,.0f}" for s, r in
                                            zip(table["segment"], table["revenue"], strict=True)))
    for ax in list(axes.flat)[len(tables):]:
        ax.set_visible(False)
    fig.supxlabel("monthly revenue at risk", fontsize=10)
    fig.tight_layout()
    return _img(fig, "Revenue at risk by segment. " + "; ".join(alt))


def warm() -> None:
    """Import matplotlib and render a blank chart: a preheated kernel pays this before any request."""
    import matplotlib.pyplot as plt

    fig, _ = plt.subplots(figsize=(1, 1))
    _img(fig, "")
