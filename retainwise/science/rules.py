"""The rules baseline: the original system's weighted churn score for SaaS files.

Four components, each a risk in [0, 1], weighted as the original had them:

| component | weight | columns | risk |
| --- | ---: | --- | --- |
| contract | 40% | ``contract`` | monthly 1.0, annual 0.4, two-year 0.1 |
| usage | 30% | ``feature_usage_score``, ``seats_used`` | 1 - score (0-1, or 0-100 scaled); 1 / (1 + seats / 5) |
| engagement | 20% | ``last_activity_days_ago``, ``support_tickets`` | days / 30 and tickets / 10, capped at 1 |
| tenure | 10% | ``tenure_months`` | 1 - months / 24, floored at 0 |

A component with two columns averages those present; components a file
lacks are left out and the others' weights renormalised, so a row scores
whenever at least one of these columns has a value (else NaN: the ML model
serves it). The score is additive, ``0.5 + sum of column impacts`` with
``impact = weight * (risk - 0.5)``, so its factors read like the model's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WEIGHTS = {"contract": 0.40, "usage": 0.30, "engagement": 0.20, "tenure": 0.10}
COMPONENTS = {
    "contract": ("contract",),
    "usage": ("feature_usage_score", "seats_used"),
    "engagement": ("last_activity_days_ago", "support_tickets"),
    "tenure": ("tenure_months",),
}
CONTRACT_RISK = {"monthly": 1.0, "annual": 0.4, "two_year": 0.1}
BASE = 0.5


def _number(rows: pd.DataFrame, name: str) -> pd.Series:
    if name not in rows.columns:
        return pd.Series(np.nan, index=rows.index)
    return pd.to_numeric(rows[name], errors="coerce").astype("float64")


def usage_scale(usage_max: float) -> float:
    """Usage scores come as 0-1 or 0-100; the file's own largest score tells which."""
    return 100.0 if usage_max > 1 else 1.0


def column_risks(rows: pd.DataFrame, scale: float | None = None) -> pd.DataFrame:
    """Risk in [0, 1] per rules column and row (NaN where the value is missing).

    ``scale``: the usage-score scale of the whole file (:func:`usage_scale`),
    when ``rows`` is one chunk of it; default: from ``rows``.
    """
    usage = _number(rows, "feature_usage_score")
    usage_scale_ = scale if scale is not None else usage_scale(usage.max(skipna=True))
    contract = rows["contract"].map(CONTRACT_RISK) if "contract" in rows.columns else np.nan
    return pd.DataFrame({
        "contract": pd.to_numeric(pd.Series(contract, index=rows.index), errors="coerce"),
        "feature_usage_score": (1 - usage / usage_scale_).clip(0, 1),
        "seats_used": 1 / (1 + _number(rows, "seats_used").clip(lower=0) / 5),
        "last_activity_days_ago": (_number(rows, "last_activity_days_ago") / 30).clip(0, 1),
        "support_tickets": (_number(rows, "support_tickets") / 10).clip(0, 1),
        "tenure_months": (1 - _number(rows, "tenure_months") / 24).clip(0, 1),
    }, index=rows.index)


def contributions(rows: pd.DataFrame, scale: float | None = None) -> pd.DataFrame:
    """Per-column impacts on the rules score (0 where the column is missing); score = 0.5 + row sum."""
    risk = column_risks(rows, scale)
    weight = pd.DataFrame(0.0, index=rows.index, columns=risk.columns)
    for comp, cols in COMPONENTS.items():
        have = risk[list(cols)].notna()
        per_col = WEIGHTS[comp] / have.sum(axis=1).replace(0, np.nan)
        for c in cols:
            weight[c] = per_col.where(have[c], 0.0).fillna(0.0)
    total = weight.sum(axis=1).replace(0, np.nan)
    weight = weight.div(total, axis=0)
    impacts = (weight * (risk - BASE)).fillna(0.0)
    impacts.loc[total.isna()] = np.nan  # nothing to score this row on
    return impacts


def score(rows: pd.DataFrame, scale: float | None = None) -> pd.Series:
    """The rules churn score in [0, 1] per row; NaN when the row has none of the rules' columns."""
    impacts = contributions(rows, scale)
    return (BASE + impacts.sum(axis=1, min_count=1)).clip(0, 1).rename("rules_probability")
