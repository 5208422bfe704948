"""Per-customer explanations from exact TreeSHAP values.

SHAP values come from the model (XGBoost's native TreeSHAP), are grouped to
business features (several model features may explain one business column),
and become the top three risk factors (pushing towards churn), the top three
protective factors (pushing away) and one plain-English sentence.

Impacts are in log-odds, the model's own additive scale: the impacts of all
features plus the base value add up to the customer's score. Features the
upload did not contain at all are left out of the factor lists (they are not a
fact about this customer); their contribution still counts in the score.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from retainwise.science import schema
from retainwise.science.features import BUSINESS_FEATURE

TOP_N = 3


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


def rules_explanations(rows: pd.DataFrame) -> Explanations:
    """The rules baseline's score as column impacts (its score = 0.5 + impacts), for rules-served rows."""
    from retainwise.science import rules

    impacts = rules.contributions(rows).fillna(0.0)
    return Explanations(values=impacts, base=np.full(len(rows), rules.BASE))


def _display_value(name: str, value) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    kind = schema.column(name).kind if name in schema.BY_NAME else "number"
    if kind == "flag":
        return "yes" if float(value) >= 0.5 else "no"
    if kind == "number":
        f = float(value)
        return int(f) if f.is_integer() else round(f, 2)
    return str(value)


def _phrase(name: str, value) -> str:
    label = schema.column(name).label if name in schema.BY_NAME else name
    if value is None:
        return f"{label} (missing)"
    return f"{label} ({str(value).replace('_', ' ')})"


def factor_columns(rows: pd.DataFrame, expl: Explanations, probabilities, tiers) -> pd.DataFrame:
    """``risk_factors``, ``protective_factors`` (JSON) and ``explanation`` for each row."""
    present = [f for f in expl.values.columns if f in rows.columns]
    values = expl.values[present].to_numpy()
    order = np.argsort(-values, axis=1)  # strongest risk first
    raw = rows[present].to_numpy(dtype=object)
    risk_json, protect_json, sentences = [], [], []
    for i in range(len(values)):
        risks, protects = [], []
        for j in order[i]:
            if values[i, j] <= 0 or len(risks) == TOP_N:
                break
            risks.append((present[j], _display_value(present[j], raw[i, j]), values[i, j]))
        for j in order[i][::-1]:
            if values[i, j] >= 0 or len(protects) == TOP_N:
                break
            protects.append((present[j], _display_value(present[j], raw[i, j]), values[i, j]))
        risk_json.append(_to_json(risks))
        protect_json.append(_to_json(protects))
        sentences.append(_sentence(float(probabilities[i]), str(tiers[i]), risks, protects))
    return pd.DataFrame(
        {"explanation": sentences, "risk_factors": risk_json, "protective_factors": protect_json}, index=rows.index
    )


def _to_json(factors) -> str:
    return json.dumps(
        [{"feature": f, "value": v, "impact": round(float(imp), 4)} for f, v, imp in factors], separators=(",", ":")
    )


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _sentence(p: float, tier: str, risks, protects) -> str:
    head = f"{tier.capitalize()} risk ({p:.0%})"
    up = [_phrase(f, v) for f, v, _ in risks]
    down = [_phrase(f, v) for f, v, _ in protects]
    if up and down:
        return f"{head}: driven mostly by {_join(up)}; {_join(down)} work in the customer's favour."
    if up:
        return f"{head}: driven mostly by {_join(up)}."
    if down:
        return f"{head}: {_join(down)} keep the risk down."
    return f"{head}: no single factor stands out."
