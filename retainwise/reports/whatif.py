"""What-if: change one actionable field of a customer and re-score it in the kernel."""

from __future__ import annotations

import pandas as pd

from retainwise.reports import labels

#: Fields a business can change for a customer (offers, plans, billing).
ACTIONABLE = (
    "contract",
    "tech_support",
    "online_security",
    "payment_method",
    "internet_service",
    "paperless_billing",
)
_FLAG_VALUES = (1.0, 0.0)
#: What the what-if says when the file has none of the fields for this customer.
NONE = (
    "What if… needs a column you can change for a customer (contract, tech support, online security, payment "
    "method, internet service or paperless billing); this file has none of them for this customer."
)


#: What the what-if says on a run scored by the tenant's own model (re-scoring would need that model here).
OWN_MODEL = (
    "What if… is not available yet for reports scored by your own model: its scores depend on columns of "
    "yours the report does not keep."
)


def choices(field: str) -> list[tuple[str, object]]:
    """(label, canonical value) pairs for ``field``'s control."""
    from retainwise.science import schema

    column = schema.column(field)
    values = column.categories if column.kind == "category" else _FLAG_VALUES
    return [(labels.value(field, v), v) for v in values]


def fields(row: pd.DataFrame) -> list[str]:
    """The actionable fields this customer (a one-row frame of canonical fields) has a value for."""
    return [f for f in ACTIONABLE if f in row.columns and pd.notna(row[f].iloc[0])]


def rescore(row: pd.DataFrame, field: str, value, *, group: str = "ml", before: float | None = None) -> float:
    """The customer's churn probability with ``field`` set to ``value``, by whatever scored them in the run.

    ``row`` is the customer's one-row frame of canonical fields (dtypes as validation left them);
    ``group`` the run's ``experiment_group`` for them: ``ml`` (the same models as the run) or ``rules``
    (the rules baseline: its score is additive, so the change is the rules' difference added to
    ``before``, the probability the run served, whatever the file's usage-score scale was).
    Raises ModelError when the model artefacts are missing or tampered.
    """
    from retainwise.science import rules, scoring
    from retainwise.science.model import load_model

    original = row.reset_index(drop=True)
    changed = original.copy()
    changed[field] = pd.Series([value], dtype=changed[field].dtype)
    if group == "rules":
        now, then = float(rules.score(changed).iloc[0]), float(rules.score(original).iloc[0])
        return min(1.0, max(0.0, (then if before is None else before) + now - then))
    return float(scoring.score_rows(changed, load_model())["churn_probability"].iloc[0])


def sentence(field: str, value, before: float, after: float) -> str:
    """``Contract: one year: 72% → 31% (−41 pts)``."""
    return f"{labels.fact(field, value)}: {before:.0%} → {after:.0%} ({labels.points(after - before)})"
