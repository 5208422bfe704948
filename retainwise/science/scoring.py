"""Churn probabilities -> risk tiers and predictions.

Risk tiers (documented in the docs' "The model" page):

- ``HIGH``: probability >= 0.60 — more likely than not to leave; act now.
- ``MEDIUM``: 0.30 <= probability < 0.60 — above the base rate (about 0.27 in
  the training data); worth a check-in.
- ``LOW``: probability < 0.30.

``predicted_churn`` is 1 when the probability reaches the model card's
threshold (0.5 unless the card says otherwise).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HIGH = 0.60
MEDIUM = 0.30
TIERS = ("HIGH", "MEDIUM", "LOW")


def risk_tier(probability: np.ndarray) -> np.ndarray:
    """``HIGH``/``MEDIUM``/``LOW`` for each probability."""
    p = np.asarray(probability, dtype="float64")
    return np.where(p >= HIGH, "HIGH", np.where(p >= MEDIUM, "MEDIUM", "LOW"))


def score_rows(rows: pd.DataFrame, model) -> pd.DataFrame:
    """Probability, tier and prediction for each canonical row (same index as ``rows``).

    ``model`` is a :class:`~retainwise.science.model.ChurnModel`, or a
    :class:`~retainwise.science.model.ModelSet` (the model it chooses for ``rows``).
    """
    if hasattr(model, "for_rows"):
        model = model.for_rows(rows)
    p = np.clip(model.predict_proba(rows), 0.0, 1.0)
    return pd.DataFrame(
        {
            "customer_id": rows["customer_id"].astype("str"),
            "churn_probability": p,
            "churn_risk": risk_tier(p),
            "predicted_churn": (p >= model.threshold).astype("int64"),
        },
        index=rows.index,
    )


def risk_counts(tiers: pd.Series) -> dict[str, int]:
    """Customers per tier, every tier named."""
    counts = tiers.value_counts()
    return {tier: int(counts.get(tier, 0)) for tier in TIERS}
