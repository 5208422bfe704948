"""The seeded random search over XGBoost hyperparameters, and its progress.

Each trial is scored by 5-fold stratified CV ROC AUC (the number of rounds is
picked per trial from the out-of-fold curve). Class balance is part of the
space (``scale_pos_weight`` 1 or negatives/positives); a trial may win on AUC
only if its Brier score stays within BRIER_SLACK of the best trial's, because
reweighting classes buys recall by distorting probabilities.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from retainwise.science.training.cv import DEFAULT_PARAMS, cross_validate

DEFAULT_BUDGET = 24  # search trials per feature set for `retainwise train`
BRIER_SLACK = 0.002
SPACE = {
    "max_depth": [1, 1, 2, 2, 3, 4],
    "eta": [0.02, 0.03, 0.05, 0.08],
    "min_child_weight": [1, 3, 5, 10, 20],
    "subsample": [0.7, 0.8, 0.9, 1.0],
    "colsample_bytree": [0.5, 0.7, 0.9, 1.0],
    "reg_lambda": [0.5, 1.0, 3.0, 10.0],
    "scale_pos_weight": [1.0, 1.0, "balanced"],
}

#: Called after each trial with (feature set, trials done, trials in all, best CV ROC AUC so far).
OnTrial = Callable[[str, int, int, float], None]


def search(
    x: pd.DataFrame, y: np.ndarray, budget: int, seed: int, label: str = "", on_trial: OnTrial | None = None
) -> dict:
    """Seeded random search (``budget`` trials, the first always DEFAULT_PARAMS).

    Returns ``params`` and ``rounds`` of the winner and every trial (params,
    rounds, CV ROC AUC mean and std over folds, Brier, seconds). Raises nothing.
    """
    rng = np.random.default_rng(seed)
    trials = []
    total = max(1, budget)
    for i in range(total):
        params = dict(DEFAULT_PARAMS) if i == 0 else {k: v[rng.integers(len(v))] for k, v in SPACE.items()}
        start = time.perf_counter()
        cv = cross_validate(x, y, params, seed)
        trials.append(
            {
                "params": params,
                "rounds": cv["rounds"],
                "roc_auc": round(cv["roc_auc"], 5),
                "roc_auc_std": round(float(np.std(cv["roc_auc_folds"])), 5),
                "brier": round(cv["brier"], 5),
                "seconds": round(time.perf_counter() - start, 2),
            }
        )
        if on_trial is not None:
            on_trial(label, i + 1, total, max(t["roc_auc"] for t in trials))
    best_brier = min(t["brier"] for t in trials)
    eligible = [t for t in trials if t["brier"] <= best_brier + BRIER_SLACK]
    winner = max(eligible, key=lambda t: (t["roc_auc"], -t["brier"]))
    return {"params": winner["params"], "rounds": winner["rounds"], "trials": trials}


def trials_table(found: dict[str, dict]) -> pd.DataFrame:
    """The trials of each feature set's search, best CV ROC AUC first, the chosen one marked."""
    rows = []
    for name, result in found.items():
        for i, t in enumerate(result["trials"], 1):
            chosen = t["params"] == result["params"] and t["rounds"] == result["rounds"]
            rows.append(
                {
                    "feature set": name,
                    "trial": i,
                    **t["params"],
                    "rounds": t["rounds"],
                    "CV ROC AUC": t["roc_auc"],
                    "± std": t["roc_auc_std"],
                    "Brier": t["brier"],
                    "seconds": t["seconds"],
                    "chosen": "✔" if chosen else "",
                }
            )
    table = pd.DataFrame(rows)
    return table.sort_values(["feature set", "CV ROC AUC"], ascending=[False, False]).reset_index(drop=True)


class Progress:
    """Shows search progress: one line updated in place in a notebook, and lines appended to ``path``.

    ``path`` (optional) is how ``retainwise train`` follows a search running
    in a kernel; each line reads ``<set> <done>/<total> <best AUC>``.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else None
        self._handle = None

    def __call__(self, label: str, done: int, total: int, best: float) -> None:
        line = f"{label}: trial {done}/{total}, best CV ROC AUC so far {best:.4f}"
        if self.path is not None:
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(f"{label} {done}/{total} {best:.4f}\n")
        if not _in_notebook():  # plain Python: the file (if any) is the only channel
            return
        from IPython.display import display

        if self._handle is None:
            self._handle = display({"text/plain": line}, raw=True, display_id=True)
        else:
            self._handle.update({"text/plain": line}, raw=True)


def _in_notebook() -> bool:
    try:
        from IPython.core.interactiveshell import InteractiveShell
    except ImportError:
        return False
    return InteractiveShell.initialized()
