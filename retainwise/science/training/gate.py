"""The promotion gate: is a newly trained model at least as good as the champion (the model in use)?

The comparison is paired, per fold: the champion's recipe (its feature set,
hyperparameters, rounds and calibration, from its card) is retrained on the
same cross-validation folds as the candidate's first evaluation repeat, and
both score the same held-out customers. The committed booster itself is not
scored on those folds: it was fitted on every row of its training file, so
it would be judged on customers it has seen.

Promote only if ROC AUC is not worse beyond noise (the paired fold
differences' mean minus one standard deviation is at least -AUC_NOISE) and
Brier is not worse (mean paired difference at most BRIER_NOISE, i.e. equal
at the card's three decimals), and the candidate beats chance clearly (mean
fold ROC AUC at least MIN_AUC): compared on a file whose labels are noise,
the champion's recipe is no better than chance either, and "not worse" would
let a useless model through.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from retainwise.science import calibration
from retainwise.science.features import feature_frame
from retainwise.science.training.cv import cross_validate, searched

AUC_NOISE = 0.002
BRIER_NOISE = 0.0005
MIN_AUC = 0.6  # below this scoring falls back to the rules baseline anyway
RULE = (
    f"promote only if ROC AUC is not worse beyond noise (mean - std of the paired per-fold differences "
    f">= -{AUC_NOISE}), Brier is not worse (mean paired difference <= {BRIER_NOISE}) and the candidate's "
    f"mean fold ROC AUC is at least {MIN_AUC}"
)


def read_champion(directory: str | Path | None) -> dict | None:
    """The champion's model card from ``directory`` (``None`` when there is none or it is unreadable)."""
    if not directory:
        return None
    path = Path(directory) / "model_card.json"
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
        card["feature_sets"]["full"]["params"]  # noqa: B018 - a card without a recipe cannot be compared
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return card


def recipe_oof(
    rows: pd.DataFrame,
    y: np.ndarray,
    spec: dict,
    folds: list,
    seed: int,
    fit_labels: np.ndarray | None = None,
) -> dict:
    """Out-of-fold margins and served probabilities of a feature-set ``spec`` retrained on ``folds``.

    ``fit_labels`` are the labels the fold models learn from (default ``y``).
    Raises nothing.
    """
    x = feature_frame(rows, spec["features"])
    cv = cross_validate(
        x, y, searched(spec["params"]), seed, rounds=spec["rounds"], folds=folds, fit_labels=fit_labels
    )
    prob = (
        calibration.cross_fitted_platt(cv["margin"], y, seed)
        if spec.get("calibration")
        else calibration.sigmoid(cv["margin"])
    )
    return {"margin": cv["margin"], "prob": prob}


def compare(y: np.ndarray, folds: list, champion: dict, candidate: dict) -> pd.DataFrame:
    """Per held-out fold: each model's ROC AUC (from margins) and Brier (from probabilities), and the differences."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    rows = []
    for k, (_, te) in enumerate(folds, 1):
        auc = [float(roc_auc_score(y[te], m["margin"][te])) for m in (champion, candidate)]
        brier = [float(brier_score_loss(y[te], m["prob"][te])) for m in (champion, candidate)]
        rows.append(
            {
                "fold": k,
                "customers": len(te),
                "champion ROC AUC": auc[0],
                "candidate ROC AUC": auc[1],
                "Δ ROC AUC": auc[1] - auc[0],
                "champion Brier": brier[0],
                "candidate Brier": brier[1],
                "Δ Brier": brier[1] - brier[0],
            }
        )
    return pd.DataFrame(rows).round(4)


def verdict(table: pd.DataFrame, champion_version: str) -> dict:
    """The gate's decision on a :func:`compare` table: ``promote`` or ``reject``, with a one-line reason."""
    d_auc, d_brier = table["Δ ROC AUC"].to_numpy(), table["Δ Brier"].to_numpy()
    auc_mean, auc_std = float(d_auc.mean()), float(d_auc.std())
    brier_mean = float(d_brier.mean())
    candidate_auc = float(table["candidate ROC AUC"].mean())
    auc_ok = auc_mean - auc_std >= -AUC_NOISE
    brier_ok = brier_mean <= BRIER_NOISE
    figures = (
        f"ROC AUC {auc_mean:+.4f} ± {auc_std:.4f}, Brier {brier_mean:+.4f} per fold vs {champion_version}"
    )
    if candidate_auc < MIN_AUC:
        reason = f"no better than chance: mean fold ROC AUC {candidate_auc:.4f} < {MIN_AUC} ({figures})"
    elif auc_ok and brier_ok:
        reason = f"not worse than the champion: {figures}"
    else:
        worse = " and ".join(w for w, ok in (("ROC AUC", auc_ok), ("Brier", brier_ok)) if not ok)
        reason = f"{worse} worse than the champion beyond noise: {figures}"
    promote = auc_ok and brier_ok and candidate_auc >= MIN_AUC
    return {
        "decision": "promote" if promote else "reject",
        "reason": reason,
        "rule": RULE,
        "champion": champion_version,
        "roc_auc_diff_mean": round(auc_mean, 4),
        "roc_auc_diff_std": round(auc_std, 4),
        "brier_diff_mean": round(brier_mean, 4),
        "folds": table.to_dict(orient="records"),
    }


def no_champion() -> dict:
    """The verdict when there is nothing to compare with: promote."""
    return {
        "decision": "promote",
        "reason": "no champion model to compare with",
        "rule": RULE,
        "champion": None,
        "folds": [],
    }
