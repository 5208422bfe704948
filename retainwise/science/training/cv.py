"""Fitting one booster and cross-validating a set of hyperparameters.

Every model is trained on the data plus masked copies (each value blanked
with probability MASK_RATE), so XGBoost's default branches learn what
"unknown" means and missing columns degrade the score gracefully instead of
sending every customer down an arbitrary branch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FOLDS = 5
NTHREAD = 1  # small data: one thread beats two (no per-round sync), and the machine is shared
MASK_COPIES, MASK_RATE = 2, 0.3

#: First trial of every search: a well-regularised additive model (stumps), strong on this data.
DEFAULT_PARAMS = {
    "max_depth": 1,
    "eta": 0.05,
    "min_child_weight": 5,
    "subsample": 0.8,
    "colsample_bytree": 0.5,
    "reg_lambda": 1.0,
    "scale_pos_weight": 1.0,
}
FIXED = {
    "objective": "binary:logistic",
    "eval_metric": "logloss",
    "tree_method": "hist",
    "max_cat_to_onehot": 4,
    "nthread": NTHREAD,
}


def dmatrix(x: pd.DataFrame, y=None):
    """An XGBoost DMatrix with native categorical columns."""
    import xgboost as xgb

    return xgb.DMatrix(x, label=y, enable_categorical=True, nthread=NTHREAD)


def augment(
    x: pd.DataFrame,
    y: np.ndarray,
    rng: np.random.Generator,
    copies: int | None = None,
    rate: float | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """``x`` plus ``copies`` copies in which each value is blanked with probability ``rate``."""
    copies = MASK_COPIES if copies is None else copies
    rate = MASK_RATE if rate is None else rate
    parts, labels = [x], [y]
    for _ in range(copies):
        c = x.copy()
        hide = rng.random(c.shape) < rate
        for j, name in enumerate(c.columns):
            c[name] = c[name].mask(hide[:, j])
        parts.append(c)
        labels.append(y)
    return pd.concat(parts, ignore_index=True), np.concatenate(labels)


def booster_params(params: dict, y: np.ndarray, seed: int) -> dict:
    """``params`` completed with the fixed settings; ``"balanced"`` class weight resolved from ``y``."""
    out = dict(FIXED, **params, seed=seed)
    if out["scale_pos_weight"] == "balanced":
        out["scale_pos_weight"] = float((y == 0).sum() / max(1, (y == 1).sum()))
    return out


def searched(params: dict) -> dict:
    """The searched hyperparameters of ``params`` (a card's entry also holds the fixed ones)."""
    return {k: params[k] for k in DEFAULT_PARAMS}


def max_rounds(params: dict) -> int:
    """Round budget for a learning rate: enough for the slow ones to converge."""
    return int(min(2000, round(40 / params["eta"])))


def fit(x: pd.DataFrame, y: np.ndarray, params: dict, rounds: int, seed: int, copies: int | None = None):
    """One booster on ``x`` plus ``copies`` masked copies (default MASK_COPIES)."""
    import xgboost as xgb

    xa, ya = augment(x, y, np.random.default_rng(seed), copies=copies)
    return xgb.train(booster_params(params, y, seed), dmatrix(xa, ya), num_boost_round=rounds)


def folds_for(y: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified FOLDS-fold split of ``y`` as (train, held-out) index pairs."""
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def _checkpoints(rounds: int) -> list[int]:
    return sorted({max(1, int(rounds * f)) for f in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)})


def cross_validate(
    x: pd.DataFrame,
    y: np.ndarray,
    params: dict,
    seed: int,
    rounds: int | None = None,
    keep_models: bool = False,
    folds: list | None = None,
    fit_labels: np.ndarray | None = None,
) -> dict:
    """Stratified 5-fold CV of ``params``: out-of-fold margins at several round counts.

    With ``rounds`` given only that count is used. ``folds`` fixes the split
    (default: :func:`folds_for` ``seed``); ``fit_labels`` are the labels the
    fold models learn from (default ``y``; the promotion gate's test trains on
    shuffled ones), while ``y`` always scores them. Returns ``rounds`` (the
    best by AUC), ``roc_auc`` (mean over held-out folds), ``roc_auc_folds``,
    ``brier`` (out of fold), ``margin`` (out of fold), ``folds`` (index pairs)
    and, with ``keep_models``, the fold boosters.
    """
    from sklearn.metrics import brier_score_loss, roc_auc_score

    from retainwise.science.calibration import sigmoid

    fit_labels = y if fit_labels is None else fit_labels
    folds = folds or folds_for(y, seed)
    top = rounds or max_rounds(params)
    checkpoints = [rounds] if rounds else _checkpoints(top)
    margins = {r: np.zeros(len(y)) for r in checkpoints}
    models = []
    for k, (tr, te) in enumerate(folds):
        booster = fit(x.iloc[tr].reset_index(drop=True), fit_labels[tr], params, top, seed + k)
        dte = dmatrix(x.iloc[te])
        for r in checkpoints:
            margins[r][te] = booster.predict(dte, output_margin=True, iteration_range=(0, r))
        if keep_models:
            models.append(booster)
    fold_auc = {r: [float(roc_auc_score(y[te], m[te])) for _, te in folds] for r, m in margins.items()}
    scored = {r: (np.mean(fold_auc[r]), brier_score_loss(y, sigmoid(m))) for r, m in margins.items()}
    best = max(scored, key=lambda r: (round(scored[r][0], 4), -scored[r][1]))
    return {
        "rounds": best,
        "roc_auc": float(scored[best][0]),
        "roc_auc_folds": fold_auc[best],
        "brier": float(scored[best][1]),
        "margin": margins[best],
        "folds": folds,
        "models": models,
    }
