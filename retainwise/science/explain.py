"""Per-customer SHAP values: exact TreeSHAP from the model, or the rules baseline's impacts.

SHAP values come from the model (XGBoost's native TreeSHAP) and are grouped to
business features (several model features may explain one business column).
:mod:`retainwise.science.factors` turns them into each customer's factor lists
and sentence.

Impacts are in log-odds, the model's own additive scale: the impacts of all
features plus the base value add up to the customer's score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from retainwise.science.features import BUSINESS_FEATURE


@dataclass
class Explanations:
    """SHAP values grouped to business features, one row per customer."""

    values: pd.DataFrame  # rows x business features, log-odds
    base: np.ndarray  # base value per row

    def global_drivers(self) -> pd.DataFrame:
        """Mean |impact| per business feature, strongest first."""
        mean_abs = self.values.abs().mean().sort_values(ascending=False)
        return pd.DataFrame({"feature": mean_abs.index, "mean_abs_impact": mean_abs.to_numpy()})


def explain_rows(rows: pd.DataFrame, model) -> Explanations:
    """Exact SHAP values for ``rows``, grouped to business features.

    ``model`` is a :class:`~retainwise.science.model.ChurnModel`, or a
    :class:`~retainwise.science.model.ModelSet` (the model it chooses for ``rows``).
    Grouping sums a feature's values into its business feature, so grouped
    values plus the base still equal the margin.
    """
    if hasattr(model, "for_rows"):
        model = model.for_rows(rows)
    contribs, base = model.contributions(rows)
    names = [BUSINESS_FEATURE.get(f, f) for f in model.features]
    groups = list(dict.fromkeys(names))
    if groups != names:  # several model features explain one business feature: sum them (one matrix product)
        membership = np.zeros((len(names), len(groups)), dtype=contribs.dtype)
        membership[np.arange(len(names)), [groups.index(n) for n in names]] = 1.0
        contribs = contribs @ membership
    return Explanations(values=pd.DataFrame(contribs, columns=groups, index=rows.index), base=base)


def rules_explanations(rows: pd.DataFrame, scale: float | None = None) -> Explanations:
    """The rules baseline's score as column impacts (its score = 0.5 + impacts), for rules-served rows.

    ``scale``: the file's usage-score scale (rules.usage_scale) when ``rows`` is part of it.
    """
    from retainwise.science import rules

    impacts = rules.contributions(rows, scale).fillna(0.0)
    return Explanations(values=impacts, base=np.full(len(rows), rules.BASE))
