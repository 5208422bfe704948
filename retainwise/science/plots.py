"""Charts shown in the pipeline notebook and the static report."""

from __future__ import annotations

import pandas as pd

from retainwise.science import schema, scoring

TIER_COLOURS = {"HIGH": "#d64545", "MEDIUM": "#f0a23b", "LOW": "#3c9d5d"}


def risk_distribution(results: pd.DataFrame):
    """Histogram of churn probabilities, coloured by risk tier."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.2))
    bins = [i / 20 for i in range(21)]
    for tier in scoring.TIERS:
        p = results.loc[results["churn_risk"] == tier, "churn_probability"]
        ax.hist(p, bins=bins, color=TIER_COLOURS[tier], label=f"{tier} ({len(p)})")
    ax.axvline(scoring.MEDIUM, color="#888", lw=0.8, ls="--")
    ax.axvline(scoring.HIGH, color="#888", lw=0.8, ls="--")
    ax.set_xlabel("churn probability")
    ax.set_ylabel("customers")
    ax.set_title("Risk distribution")
    ax.legend(frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    plt.close(fig)
    return fig


def top_drivers(drivers: pd.DataFrame, n: int = 10):
    """Horizontal bars of the mean |SHAP impact| per business feature."""
    import matplotlib.pyplot as plt

    top = drivers.head(n).iloc[::-1]
    labels = [schema.column(f).label if f in schema.BY_NAME else f for f in top["feature"]]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(top) + 1))
    ax.barh(labels, top["mean_abs_impact"], color="#3b6ea8")
    ax.set_xlabel("mean |impact| on churn log-odds")
    ax.set_title("What drives churn in this file")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    plt.close(fig)
    return fig
