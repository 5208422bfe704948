"""Training a tenant model on its labelled history: cross-validated, then fitted on every row.

One XGBoost recipe (:data:`PARAMS`: depth-4 trees, learning rate 0.05, row and column subsampling), no
search: a business's history is small and a search's winner is mostly noise. Stratified 5-fold CV
(seeded) gives out-of-fold probabilities; inside each fold an inner 15% of the training part (stratified)
stops the boosting when its log loss has not improved for :data:`EARLY_STOP` rounds, so the held-out
fold never chooses anything about the model it judges. The final model is fitted on every row with the
median of the folds' best round counts. No class weights and no recalibration: plain log loss keeps the
probabilities honest (Brier is reported).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from retainwise.errors import InputError
from retainwise.science.model import NTHREAD
from retainwise.science.tenant.features import LABEL, feature_frame, select_features

MIN_ROWS, MIN_LEAVERS = 500, 50
FOLDS = 5
PARAMS = {
    "objective": "binary:logistic",
    "eval_metric": "logloss",
    "tree_method": "hist",
    "max_depth": 4,
    "eta": 0.05,
    "min_child_weight": 2,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "max_cat_to_onehot": 4,
}
MAX_ROUNDS, EARLY_STOP, INNER_SHARE = 600, 40, 0.15


@dataclass
class Candidate:
    """A trained tenant model before the gate: the booster, what it learned from and its CV figures.

    ``rows`` are the labelled rows it learned from (``churned`` known), ``y`` their outcome, ``folds``
    the (train, held-out) positions of the CV, ``oof`` the out-of-fold probabilities. ``cv`` is the
    card's ``cv`` entry.
    """

    booster: object
    spec: list[dict]
    excluded: dict[str, str]
    rows: pd.DataFrame
    y: np.ndarray
    folds: list
    oof: np.ndarray
    cv: dict
    rounds: int
    tenant: str
    seed: int
    sources: list = field(default_factory=list)
    trained_at: str = ""
    seconds: float = 0.0


def labelled_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows of a labelled frame whose outcome is known, and that outcome (0/1 float)."""
    if LABEL not in frame.columns:
        raise InputError("The labelled data has no churned column: nothing to learn from.", code="no_churned")
    label = pd.to_numeric(frame[LABEL], errors="coerce")
    known = label.isin([0.0, 1.0]).to_numpy()
    return frame.loc[known].reset_index(drop=True), label.to_numpy(dtype="float64")[known]


def check_enough(y: np.ndarray) -> None:
    """Raise InputError when ``y`` is too little to learn from, saying how many more customers it takes."""
    n, left = len(y), int(y.sum())
    stayed = n - left
    if n >= MIN_ROWS and left >= MIN_LEAVERS and stayed >= MIN_LEAVERS:
        return
    need = MIN_ROWS
    if 0 < left < MIN_LEAVERS:
        need = max(need, math.ceil(MIN_LEAVERS * n / left))
    if 0 < stayed < MIN_LEAVERS:
        need = max(need, math.ceil(MIN_LEAVERS * n / stayed))
    more = max(need - n, 1) if left and stayed else None
    send = (
        f"send about {_round_up(more)} more"
        if more
        else "send outcomes that include customers who " + ("left" if not left else "stayed")
    )
    raise InputError(
        f"Only {n:,} labelled customers ({left:,} who left): a model of your own needs at least {MIN_ROWS} "
        f"customers and {MIN_LEAVERS} who left (and {MIN_LEAVERS} who stayed); {send}.",
        code="too_little_data",
        count=n,
    )


def _round_up(k: int) -> int:
    step = 10 if k < 100 else 50 if k < 1000 else 500
    return int(math.ceil(k / step) * step)


def _train(x: pd.DataFrame, y: np.ndarray, rounds: int, seed: int, evals=None):
    import xgboost as xgb

    params = dict(PARAMS, seed=seed, nthread=NTHREAD)
    dtrain = xgb.DMatrix(x, label=y, enable_categorical=True, nthread=NTHREAD)
    if evals is None:
        return xgb.train(params, dtrain, num_boost_round=rounds)
    xv, yv = evals
    dval = xgb.DMatrix(xv, label=yv, enable_categorical=True, nthread=NTHREAD)
    return xgb.train(
        params,
        dtrain,
        num_boost_round=rounds,
        evals=[(dval, "inner")],
        early_stopping_rounds=EARLY_STOP,
        verbose_eval=False,
    )


def folds_for(y: np.ndarray, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified 5-fold (train, held-out) positions of ``y``, seeded."""
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def cross_validate(x: pd.DataFrame, y: np.ndarray, folds: list, seed: int) -> tuple[np.ndarray, list[int]]:
    """Out-of-fold probabilities of the recipe on ``folds``, and each fold's best round count."""
    import xgboost as xgb
    from sklearn.model_selection import train_test_split

    oof, best = np.zeros(len(y)), []
    for k, (tr, te) in enumerate(folds):
        fit, inner = train_test_split(tr, test_size=INNER_SHARE, stratify=y[tr], random_state=seed + k)
        booster = _train(x.iloc[fit], y[fit], MAX_ROUNDS, seed + k, evals=(x.iloc[inner], y[inner]))
        rounds = booster.best_iteration + 1
        oof[te] = booster.predict(
            xgb.DMatrix(x.iloc[te], enable_categorical=True, nthread=NTHREAD), iteration_range=(0, rounds)
        )
        best.append(rounds)
    return oof, best


def cv_figures(y: np.ndarray, prob: np.ndarray, folds: list) -> dict:
    """Held-out ROC AUC (mean and per fold) and Brier of probabilities ``prob``."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    per_fold = [float(roc_auc_score(y[te], prob[te])) for _, te in folds]
    return {
        "method": f"stratified {FOLDS}-fold cross-validation, out-of-fold",
        "roc_auc": round(float(np.mean(per_fold)), 4),
        "roc_auc_folds": [round(a, 4) for a in per_fold],
        "roc_auc_std": round(float(np.std(per_fold)), 4),
        "brier": round(float(brier_score_loss(y, prob)), 4),
        "base_rate_brier": round(float(brier_score_loss(y, np.full(len(y), y.mean()))), 4),
    }


def train(labelled: pd.DataFrame, *, tenant: str, seed: int = 42, sources: list | None = None) -> Candidate:
    """Learn ``tenant``'s churn from its ``labelled`` frame (one row per customer; ``churned`` NaN rows dropped).

    Raises InputError when there is too little data (:func:`check_enough`) or no usable column.
    """
    import time

    start = time.perf_counter()
    rows, y = labelled_rows(labelled)
    check_enough(y)
    spec, excluded = select_features(rows, y)
    if not spec:
        raise InputError(
            "None of the labelled data's columns can be learned from (see the reasons: "
            + "; ".join(f"{k}: {v}" for k, v in list(excluded.items())[:5])
            + ").",
            code="no_features",
        )
    x = feature_frame(rows, spec)
    folds = folds_for(y, seed)
    oof, best = cross_validate(x, y, folds, seed)
    rounds = int(np.median(best))
    booster = _train(x, y, rounds, seed)
    return Candidate(
        booster=booster,
        spec=spec,
        excluded=excluded,
        rows=rows,
        y=y,
        folds=folds,
        oof=oof,
        cv=dict(cv_figures(y, oof, folds), fold_rounds=best),
        rounds=rounds,
        tenant=tenant,
        seed=seed,
        sources=list(sources or []),
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        seconds=round(time.perf_counter() - start, 3),
    )
