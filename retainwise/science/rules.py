"""The rules baseline: the original system's weighted churn score for SaaS files, with the SaaS fields.

Five components, each a risk in [0, 1]. The first four and their weights are the original system's
four SaaS rules; the columns they read grew with the schema, and failed payments (involuntary churn:
a card that keeps failing ends the subscription whatever the customer thinks of the product) are a
component of their own:

| component | weight | columns | risk |
| --- | ---: | --- | --- |
| contract | 40% | ``contract`` (a billing cycle maps onto it) | monthly 1.0, annual 0.4, two-year 0.1 |
| usage | 30% | ``feature_usage_score`` | 1 - score (0-1, or 0-100 scaled) |
| | | ``seats_used`` with ``seats_purchased`` | 1 - utilisation (active / purchased) |
| | | ``seats_used`` or ``seats_purchased`` alone | 1 / (1 + seats / 5): small accounts leave more |
| | | ``logins_30d`` | 1 / (1 + logins per active seat / 4); without seats 1 / (1 + logins / 20) |
| | | ``integrations`` | 1 / (1 + integrations / 2) |
| engagement | 20% | ``last_activity_days_ago``, ``support_tickets``, ``nps`` | days / 30 and tickets / 10, capped at 1; 1 - NPS on its 0-1 scale |
| billing | 15% | ``failed_payments`` | failures / 2, capped at 1 |
| tenure | 10% | ``tenure_months`` | 1 - months / 24, floored at 0 |

A component with several columns averages those present; components a file lacks are left out and
the others' weights renormalised (so a file with only the original columns scores exactly as the
original system did), and a row scores whenever at least one of these columns has a value (else NaN:
the ML model serves it). The score is additive, ``0.5 + sum of column impacts`` with
``impact = weight * (risk - 0.5)``, so its factors read like the model's. The utilisation's impact is
given to ``seats_used`` (the active seats are what is low).

Scales differ between files, so they are read from the whole file (:class:`Scales`): a usage score
of 0-1 or 0-100, an NPS of 0-10 (one survey answer) or -100..100 (an account's net score).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

WEIGHTS = {"contract": 0.40, "usage": 0.30, "engagement": 0.20, "billing": 0.15, "tenure": 0.10}
COMPONENTS = {
    "contract": ("contract",),
    "usage": ("feature_usage_score", "seats_used", "seats_purchased", "logins_30d", "integrations"),
    "engagement": ("last_activity_days_ago", "support_tickets", "nps"),
    "billing": ("failed_payments",),
    "tenure": ("tenure_months",),
}
#: Every column the rules read: a file with none of them cannot be scored by the rules.
COLUMNS = tuple(c for cols in COMPONENTS.values() for c in cols)
CONTRACT_RISK = {"monthly": 1.0, "annual": 0.4, "two_year": 0.1}
BASE = 0.5


@dataclass(frozen=True)
class Scales:
    """The scales of one whole file: ``usage`` 1 or 100; ``nps`` 10 (0-10) or 100 (-100..100)."""

    usage: float = 1.0
    nps: float = 10.0


class ScaleFinder:
    """Collects a file's usage-score maximum and NPS range chunk by chunk; :meth:`scales` at the end."""

    def __init__(self) -> None:
        self.usage_max, self.nps_min, self.nps_max = float("-inf"), float("inf"), float("-inf")

    def add(self, rows: pd.DataFrame) -> None:
        usage, nps = _number(rows, "feature_usage_score"), _number(rows, "nps")
        if usage.notna().any():
            self.usage_max = max(self.usage_max, float(usage.max()))
        if nps.notna().any():
            self.nps_min, self.nps_max = (
                min(self.nps_min, float(nps.min())),
                max(self.nps_max, float(nps.max())),
            )

    def scales(self) -> Scales:
        return Scales(
            usage=usage_scale(self.usage_max), nps=100.0 if self.nps_min < 0 or self.nps_max > 10 else 10.0
        )


def _number(rows: pd.DataFrame, name: str) -> pd.Series:
    if name not in rows.columns:
        return pd.Series(np.nan, index=rows.index)
    return pd.to_numeric(rows[name], errors="coerce").astype("float64")


def usage_scale(usage_max: float) -> float:
    """Usage scores come as 0-1 or 0-100; the file's own largest score tells which."""
    return 100.0 if usage_max > 1 else 1.0


def _scales(rows: pd.DataFrame, scale: Scales | float | None) -> Scales:
    if isinstance(scale, Scales):
        return scale
    finder = ScaleFinder()
    finder.add(rows)
    found = finder.scales()
    return found if scale is None else Scales(usage=float(scale), nps=found.nps)  # a number: the usage scale


def column_risks(rows: pd.DataFrame, scale: Scales | float | None = None) -> pd.DataFrame:
    """Risk in [0, 1] per rules column and row (NaN where the value is missing).

    ``scale``: the :class:`Scales` of the whole file when ``rows`` is one chunk of it (a number: its
    usage-score scale); default: read from ``rows``.
    """
    scales = _scales(rows, scale)
    contract = rows["contract"].map(CONTRACT_RISK) if "contract" in rows.columns else np.nan
    used, bought = _number(rows, "seats_used").clip(lower=0), _number(rows, "seats_purchased").clip(lower=0)
    utilisation = (used / bought.where(bought > 0)).clip(0, 1)
    size_risk = 1 / (1 + used.fillna(bought) / 5)
    logins = _number(rows, "logins_30d").clip(lower=0)
    per_seat = logins / used.where(used > 0)
    nps = _number(rows, "nps")
    satisfaction = nps / 10 if scales.nps == 10 else (nps + 100) / 200
    return pd.DataFrame(
        {
            "contract": pd.to_numeric(pd.Series(contract, index=rows.index), errors="coerce"),
            "feature_usage_score": (1 - _number(rows, "feature_usage_score") / scales.usage).clip(0, 1),
            "seats_used": (1 - utilisation).fillna(size_risk.where(used.notna())),
            "seats_purchased": size_risk.where(used.isna() & bought.notna()),
            "logins_30d": (1 / (1 + per_seat / 4))
            .mask(used == 0, 1.0)
            .fillna(1 / (1 + logins.where(used.isna()) / 20))
            .where(logins.notna()),
            "integrations": 1 / (1 + _number(rows, "integrations").clip(lower=0) / 2),
            "last_activity_days_ago": (_number(rows, "last_activity_days_ago") / 30).clip(0, 1),
            "support_tickets": (_number(rows, "support_tickets") / 10).clip(0, 1),
            "nps": (1 - satisfaction).clip(0, 1),
            "failed_payments": (_number(rows, "failed_payments") / 2).clip(0, 1),
            "tenure_months": (1 - _number(rows, "tenure_months") / 24).clip(0, 1),
        },
        index=rows.index,
    )[list(COLUMNS)]


def contributions(rows: pd.DataFrame, scale: Scales | float | None = None) -> pd.DataFrame:
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


def score(rows: pd.DataFrame, scale: Scales | float | None = None) -> pd.Series:
    """The rules churn score in [0, 1] per row; NaN when the row has none of the rules' columns."""
    impacts = contributions(rows, scale)
    return (BASE + impacts.sum(axis=1, min_count=1)).clip(0, 1).rename("rules_probability")
