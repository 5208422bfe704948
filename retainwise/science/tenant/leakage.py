"""The leakage guard: columns that record the outcome rather than predict it.

A business's history is exported after the fact, so some columns were written *because* a customer left
(a cancellation date, a churn reason, an account status of "Cancelled"). A model trained on them looks
perfect in cross-validation and is useless on customers who have not left yet. A column is left out,
and named on the card, when:

- its **name says it is an outcome** (:data:`OUTCOME_NAME`: cancel..., churn..., terminat..., end date,
  close date, exit, deactivat..., offboard..., reason for leaving), or it is a status-like column
  (status, state, stage, lifecycle, subscription) holding outcome values (cancelled, churned, closed,
  terminated, ...), or any column holding cancelled/churned/terminated at all;
- it is **filled only for leavers** (at least :data:`FILLED_SHARE` of its filled rows left), or empty
  only for leavers;
- it **alone separates leavers almost perfectly**: single-column ROC AUC at least :data:`MAX_AUC` in
  either direction (numbers on their filled rows; categories by each level's churn rate).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

OUTCOME_NAME = re.compile(
    r"cancel|churn|terminat|deactivat|offboard|attrit|"
    r"\bend(ed)?[\s_-]*(date|at|on|reason)|\bclos(e|ed|ure)[\s_-]*(date|at|on|reason)|\bexit|"
    r"reason[\s_-]*(for[\s_-]*)?leaving|\bleft[\s_-]*(on|at|date)|\bdate[\s_-]*left|"
    r"lost[\s_-]*(date|reason)|loss[\s_-]*reason",
    re.IGNORECASE,
)
_STATUS_NAME = re.compile(r"status|state|stage|lifecycle|subscription", re.IGNORECASE)
_OUTCOME_VALUES = frozenset(
    {
        "cancelled",
        "canceled",
        "churned",
        "closed",
        "terminated",
        "lost",
        "ended",
        "inactive",
        "deactivated",
        "former",
        "lapsed",
        "left",
        "expired",
        "cancelled account",
        "closed lost",
        "closed-lost",
        "cancellation",
        "cancelling",
        "canceling",
    }
)
_STRONG_VALUES = re.compile(r"^(cancell?ed|churned|terminated)$", re.IGNORECASE)
FILLED_SHARE = 0.95
MIN_FILLED_ROWS = 10
MAX_AUC = 0.95
MIN_CLASS = 10


def by_name(name: str, text: pd.Series) -> str | None:
    """Why the header or values of a column say it is an outcome (``text``: its cells), or ``None``."""
    label = name.split(":", 1)[1] if name.startswith("own:") else name
    if OUTCOME_NAME.search(label):
        return f"leakage: its name ({label!r}) says it records the outcome"
    values = text.dropna().astype("str").str.strip().str.lower()
    if _STATUS_NAME.search(label):
        found = sorted(set(values.unique()) & _OUTCOME_VALUES)
        if found:
            return f"leakage: a status holding outcome values ({', '.join(found[:3])})"
    strong = values[values.str.fullmatch(_STRONG_VALUES.pattern, case=False, na=False)]
    if len(strong):
        return f"leakage: it holds outcome values ({', '.join(sorted(strong.unique())[:3])})"
    return None


def by_filling(filled: np.ndarray, y: np.ndarray) -> str | None:
    """Why a column filled where ``filled`` (bool per row) gives the outcome away, or ``None``."""
    if y.mean() >= FILLED_SHARE:
        return None
    for rows, how in ((filled, "filled"), (~filled, "empty")):
        if rows.sum() >= MIN_FILLED_ROWS and y[rows].mean() >= FILLED_SHARE:
            return (
                f"leakage: {how} almost only for customers who left ({y[rows].mean():.0%} of its "
                f"{int(rows.sum())} {how} rows)"
            )
    return None


def single_auc(values: pd.Series | pd.Categorical, y: np.ndarray) -> float | None:
    """ROC AUC of one model input alone, the better direction (``None`` when too few of either class)."""
    from sklearn.metrics import roc_auc_score

    if isinstance(values, pd.Categorical) or isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        codes = pd.Categorical(values).codes
        rate = pd.Series(y).groupby(codes).transform("mean").to_numpy()  # -1 (missing) is a level of its own
        score, keep = rate, np.ones(len(y), dtype=bool)
    else:
        score = np.asarray(values, dtype="float64")
        keep = ~np.isnan(score)
    yk = y[keep]
    if yk.sum() < MIN_CLASS or (1 - yk).sum() < MIN_CLASS or np.unique(score[keep]).size < 2:
        return None
    auc = float(roc_auc_score(yk, score[keep]))
    return max(auc, 1.0 - auc)


def by_separation(values: pd.Series | pd.Categorical, y: np.ndarray) -> str | None:
    """Why a model input alone separates leavers almost perfectly, or ``None``."""
    auc = single_auc(values, y)
    if auc is not None and auc >= MAX_AUC:
        return (
            f"leakage: on its own it separates leavers from stayers almost perfectly (ROC AUC {auc:.3f}); "
            "it was most likely recorded after the outcome"
        )
    return None
