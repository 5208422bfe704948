"""The A/B router between the ML model and the rules baseline.

Assignment is deterministic: a customer's group is a hash of tenant and
customer id, so re-scoring the same file (or next month's file) puts each
customer in the same group, and two tenants' customers with the same id are
assigned independently. ``rules_share`` is the share routed to the rules
(0.0 by default: everyone gets the model).

Both scores are computed for every customer; where they disagree strongly
the customer is flagged for a human look, whichever group served them. The
rules score is not a calibrated probability (a monthly contract alone puts it
near 1), so the two are compared by rank within the file: a customer is
flagged when their percentile under one score is at least
:data:`DISAGREE_GAP` away from their percentile under the other (e.g. top
fifth by the model, bottom half by the rules).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from retainwise.errors import ConfigError
from retainwise.science.scoring import risk_tier

SALT = "retainwise-ab-v1"  # change to reshuffle every assignment
DISAGREE_GAP = 0.40  # in percentile rank within the file
#: Below this expected ROC AUC the model knows too little about a file's columns: the rules serve everyone they can.
ML_FLOOR = 0.60
GROUPS = ("ml", "rules")


def bucket(tenant: str, customer_id: str) -> float:
    """A stable number in [0, 1) for this tenant's customer."""
    digest = hashlib.sha256(f"{SALT}\x1f{tenant}\x1f{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign(tenant: str, customer_ids, rules_share: float = 0.0) -> np.ndarray:
    """``"ml"`` or ``"rules"`` per customer; the rules get ``rules_share`` of them on average.

    Raises :class:`ConfigError` when ``rules_share`` is not within [0, 1].
    """
    share = float(rules_share)
    if not 0.0 <= share <= 1.0:
        raise ConfigError(f"rules_share={rules_share!r} must be between 0 and 1.", code="bad_rules_share")
    if share == 0.0:  # everyone gets the model: no hashing
        return np.full(len(customer_ids), "ml", dtype=object)
    ids = [str(c) for c in customer_ids]
    return np.array(["rules" if bucket(tenant, c) < share else "ml" for c in ids], dtype=object)


def route(ml: pd.DataFrame, rules_p: pd.Series, groups: np.ndarray, ml_threshold: float) -> pd.DataFrame:
    """The served scores: each customer's group decides whose probability, tier and prediction they get.

    ``ml`` is :func:`retainwise.science.scoring.score_rows` output; ``rules_p`` the rules
    score (NaN where the rules cannot score: those customers are served by the
    model and recorded as ``ml``). Adds ``ml_probability``, ``rules_probability``,
    ``experiment_group`` and ``scores_disagree`` (0/1).
    """
    rules_p = pd.Series(rules_p, index=ml.index, dtype="float64")
    use_rules = (np.asarray(groups) == "rules") & rules_p.notna().to_numpy()
    p = np.where(use_rules, rules_p.to_numpy(), ml["churn_probability"].to_numpy())
    served = ml.copy()
    served["churn_probability"] = p
    served["churn_risk"] = risk_tier(p)
    served["predicted_churn"] = np.where(use_rules, p >= 0.5, p >= ml_threshold).astype("int64")
    served["experiment_group"] = np.where(use_rules, "rules", "ml")
    served["ml_probability"] = ml["churn_probability"].to_numpy()
    served["rules_probability"] = rules_p.to_numpy()
    served["scores_disagree"] = disagreement(served["ml_probability"], served["rules_probability"])
    return served


def disagreement(ml_p: pd.Series, rules_p: pd.Series) -> pd.Series:
    """1 where the two scores rank the customer :data:`DISAGREE_GAP` or more percentiles apart, else 0.

    Customers the rules cannot score are never flagged; nor is anyone when the
    rules give everyone the same score (no opinion to disagree with).
    """
    scored = rules_p.notna()
    flags = pd.Series(0, index=ml_p.index, dtype="int64")
    if scored.sum() < 2 or rules_p[scored].nunique() < 2:
        return flags
    gap = (ml_p[scored].rank(pct=True) - rules_p[scored].rank(pct=True)).abs()
    flags[scored] = (gap >= DISAGREE_GAP).astype("int64")
    return flags


def summary(served: pd.DataFrame, rules_share: float) -> dict:
    """Group sizes and disagreements for summary.json."""
    counts = served["experiment_group"].value_counts()
    return {
        "rules_share": float(rules_share),
        "groups": {g: int(counts.get(g, 0)) for g in GROUPS},
        "rules_scored": int(served["rules_probability"].notna().sum()),
        "disagreements": int(served["scores_disagree"].sum()),
        "disagree_gap": DISAGREE_GAP,
    }
