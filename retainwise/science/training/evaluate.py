"""Evaluating the search's winner on fresh splits: CV figures, calibration check, threshold, per fold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from retainwise.science import calibration
from retainwise.science.training.cv import FIXED, FOLDS, cross_validate

REPEATS = 3  # CV repeats for the reported figures (one 5-fold split moves AUC by about 0.002)


@dataclass
class Evaluation:
    """One feature set's evaluation: its card entry and what the notebook's sections show."""

    spec: dict  # the card's entry for the set (no artefact fields yet)
    runs: list[dict]  # one cross_validate result per repeat (the first with fold models)
    probs: list[np.ndarray]  # out-of-fold probabilities as served, one array per repeat
    raw: list[np.ndarray]  # the same without calibration (sigmoid of the margin)
    seeds: list[int]  # each repeat's split seed (its fold models use seed + fold)


def choose_threshold(y, p) -> tuple[float, float]:
    """The probability cut-off (0.30-0.70) with the best accuracy, and that accuracy."""
    grid = np.round(np.arange(0.30, 0.701, 0.01), 2)
    acc = [float(np.mean((p >= t) == y)) for t in grid]
    i = int(np.argmax(acc))
    return float(grid[i]), acc[i]


def evaluate(x: pd.DataFrame, y: np.ndarray, found: dict, seed: int, repeats: int = REPEATS) -> Evaluation:
    """Repeated 5-fold CV of the search's winner on fresh splits (seeds ``seed+1``...); calibration; threshold.

    Platt calibration is checked on the out-of-fold margins and kept only if it
    lowers Brier. Raises nothing.
    """
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    seeds = [seed + 1 + r for r in range(max(1, repeats))]
    runs = [
        cross_validate(x, y, found["params"], s, rounds=found["rounds"], keep_models=(i == 0))
        for i, s in enumerate(seeds)
    ]
    checks = [calibration.check(cv["margin"], y, seed=s) for cv, s in zip(runs, seeds, strict=True)]
    gain = np.mean([c["brier_raw"] - c["brier_platt"] for c in checks])
    platt = None
    if gain > 1e-4:
        a, b = calibration.fit_platt(np.concatenate([cv["margin"] for cv in runs]), np.tile(y, len(runs)))
        platt = {"a": round(a, 6), "b": round(b, 6)}
    raw = [calibration.sigmoid(cv["margin"]) for cv in runs]
    # Probabilities as served: raw, or Platt fitted on the other folds' margins (cross-fitted, not flattered).
    probs = [
        calibration.cross_fitted_platt(cv["margin"], y, s) if platt else r
        for cv, s, r in zip(runs, seeds, raw, strict=True)
    ]
    threshold, _ = choose_threshold(np.tile(y, len(runs)), np.concatenate(probs))

    def mean(metric) -> float:
        return round(float(np.mean([metric(p) for p in probs])), 4)

    # AUC per held-out fold, averaged (as sklearn's cross_val_score does): a per-fold Platt map cannot move it.
    fold_auc = [cv["roc_auc_folds"] for cv in runs]
    cv = {
        "method": f"stratified {FOLDS}-fold CV repeated {len(runs)}x (seeds {seeds[0]}-{seeds[-1]}; the search "
        f"used seed {seed}); ROC AUC is the mean over held-out folds, the other figures are computed "
        "on the out-of-fold probabilities and averaged over repeats",
        "roc_auc": round(float(np.mean(fold_auc)), 4),
        "roc_auc_repeats": [round(float(np.mean(f)), 4) for f in fold_auc],
        "roc_auc_folds": [round(a, 4) for a in fold_auc[0]],
        "pooled_roc_auc": mean(lambda p: roc_auc_score(y, p)),
        "brier": mean(lambda p: brier_score_loss(y, p)),
        "log_loss": mean(lambda p: log_loss(y, p)),
        "ece": mean(lambda p: calibration.ece(y, p)),
        "accuracy": mean(lambda p: np.mean((p >= threshold) == y)),
        "threshold": threshold,
        "base_rate_accuracy": round(float(max(y.mean(), 1 - y.mean())), 4),
    }
    check = {k: round(float(np.mean([c[k] for c in checks])), 5) for k in checks[0] if k != "apply"}
    spec = {
        "params": {**found["params"], **{k: v for k, v in FIXED.items() if k != "nthread"}},
        "rounds": found["rounds"],
        "cv": cv,
        "threshold": threshold,
        "calibration": platt,
        "calibration_check": check,
    }
    return Evaluation(spec=spec, runs=runs, probs=probs, raw=raw, seeds=seeds)


def folds_table(y: np.ndarray, evaluations: dict[str, Evaluation]) -> pd.DataFrame:
    """Per held-out fold of every repeat and feature set: customers, churn rate, ROC AUC, PR AUC, Brier, accuracy."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    rows = []
    for name, ev in evaluations.items():
        threshold = ev.spec["threshold"]
        for r, (cv, p) in enumerate(zip(ev.runs, ev.probs, strict=True), 1):
            for k, (_, te) in enumerate(cv["folds"], 1):
                yt, pt = y[te], p[te]
                rows.append(
                    {
                        "feature set": name,
                        "repeat": r,
                        "fold": k,
                        "customers": len(te),
                        "churn rate": round(float(yt.mean()), 3),
                        "ROC AUC": round(float(roc_auc_score(yt, pt)), 4),
                        "PR AUC": round(float(average_precision_score(yt, pt)), 4),
                        "Brier": round(float(brier_score_loss(yt, pt)), 4),
                        "threshold": threshold,
                        "accuracy": round(float(np.mean((pt >= threshold) == yt)), 4),
                    }
                )
    return pd.DataFrame(rows)
