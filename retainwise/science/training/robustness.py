"""Robustness to missing columns: what the fold models score when a file lacks columns.

The fold models also score the held-out folds with columns removed (the
core-only set, column groups, every single column and every pair dropped,
random subsets). The measured AUCs are stored in the card; scoring uses them
to choose the feature set for a file and to report its confidence.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from retainwise.science.features import CORE_FEATURES, FEATURE_SETS, FULL_FEATURES
from retainwise.science.training.cv import dmatrix

RANDOM_SUBSETS = 40
GROUPS = {
    "account": ("paperless_billing", "payment_method"),
    "people": ("senior_citizen", "partner", "dependents"),
    "services": (
        "phone_service",
        "multiple_lines",
        "internet_service",
        "online_security",
        "online_backup",
        "device_protection",
        "tech_support",
        "streaming_tv",
        "streaming_movies",
    ),
}


def column_sets(features: tuple[str, ...], rng: np.random.Generator) -> list[frozenset]:
    """The present-column sets measured for a model using ``features``.

    Small models: every subset. The full model: everything present, nothing
    present, core only, core plus each combination of the column groups
    businesses tend to export together, every single and every pair of columns
    missing, and random subsets of uniformly random size.
    """
    feats = list(features)
    if len(feats) <= 6:
        return [frozenset(f for j, f in enumerate(feats) if m >> j & 1) for m in range(1 << len(feats))]
    every = frozenset(feats)
    out = [every, frozenset()]
    for m in range(1 << len(GROUPS)):
        extra = [c for j, cols in enumerate(GROUPS.values()) if m >> j & 1 for c in cols]
        out.append(frozenset(CORE_FEATURES) | (frozenset(extra) & every))
    out += [every - {f} for f in feats]
    out += [every - {f, g} for i, f in enumerate(feats) for g in feats[i + 1 :]]
    for _ in range(RANDOM_SUBSETS):
        out.append(
            frozenset(rng.choice(feats, size=int(rng.integers(0, len(feats) + 1)), replace=False).tolist())
        )
    return list(dict.fromkeys(out))


def masked_oof_aucs(x: pd.DataFrame, y: np.ndarray, cv: dict, sets: list[frozenset]) -> list[float]:
    """Out-of-fold ROC AUC of the fold models for each set of present columns in ``sets``.

    Each held-out fold is stacked once per set with the other columns blanked
    and scored in one call per fold (one DMatrix, not hundreds).
    """
    margins = np.zeros((len(sets), len(y)))
    hide_cols = np.array([[c not in s for c in x.columns] for s in sets])  # sets x columns
    for booster, (_, te) in zip(cv["models"], cv["folds"], strict=True):
        block = x.iloc[te]
        big = pd.concat([block] * len(sets), ignore_index=True)
        hide = np.repeat(hide_cols, len(te), axis=0)
        for j, name in enumerate(x.columns):
            big[name] = big[name].mask(hide[:, j])
        margins[:, te] = booster.predict(dmatrix(big), output_margin=True).reshape(len(sets), len(te))
    # Mean over held-out folds, like the headline CV figure.
    per_fold = np.array([auc_rows(y[te], margins[:, te]) for _, te in cv["folds"]])  # folds x sets
    return [float(a) for a in per_fold.mean(axis=0)]


def auc_rows(y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ROC AUC of each row of ``scores`` against the 0/1 labels ``y`` (ties count half, as in scikit-learn).

    The Mann-Whitney form on average ranks, for all rows at once: the same
    figure as ``roc_auc_score``, which costs about 7 ms a call and is called
    here a thousand times per training run.
    """
    y = np.asarray(y).astype(bool)
    ranks = pd.DataFrame(scores).rank(axis=1).to_numpy()  # average ranks for ties
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    return (ranks[:, y].sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def robustness(x: pd.DataFrame, y: np.ndarray, cvs: dict[str, dict], seed: int) -> tuple[dict, dict]:
    """Measured AUC per feature set and column set, and the reference figures the issue asks for.

    ``cvs`` maps feature set name to its :func:`cross_validate` result (with
    fold models, on the same folds). Each model's out-of-fold AUC is measured
    with only some columns present (:func:`column_sets`); scoring later expects,
    for a file, the best AUC measured on a column set the file covers (a
    measured lower bound, since masked training makes more columns no worse).
    The reference figures run that choice for the core-only set and for every
    single column missing and report the chosen model's out-of-fold AUC: what
    a file with those columns really gets.
    """
    from retainwise.science.model import expected_auc

    rng = np.random.default_rng(seed)
    estimates = {}
    for name, cv in cvs.items():
        feats = FEATURE_SETS[name]
        sets = column_sets(feats, rng)
        measured = list(zip(sets, masked_oof_aucs(x[list(feats)], y, cv, sets), strict=True))
        estimates[name] = {
            "method": "ROC AUC (mean over held-out folds) with only some columns present; expected = best "
            "measured set the file's columns cover",
            "measured": [{"absent": sorted(set(feats) - s), "roc_auc": round(auc, 4)} for s, auc in measured],
        }

    def served(present: frozenset) -> tuple[str, float]:
        got = {n: expected_auc(est, FEATURE_SETS[n], present) for n, est in estimates.items()}
        best = max(got, key=lambda n: (got[n], -list(got).index(n)))
        return best, got[best]

    full = frozenset(FULL_FEATURES)
    optional = [f for f in FULL_FEATURES if f not in CORE_FEATURES]
    figures = {f: served(full - {f}) for f in FULL_FEATURES}
    core_model, core_auc = served(frozenset(CORE_FEATURES))
    report = {
        "method": "ROC AUC (mean over the held-out folds of the first CV repeat) of the model scoring chooses, "
        "with the other columns removed from the held-out folds",
        "full_roc_auc": round(served(full)[1], 4),
        "core_only_roc_auc": round(core_auc, 4),
        "core_only_model": core_model,
        "drop_one_roc_auc": {f: round(auc, 4) for f, (_, auc) in figures.items()},
        "drop_one_model": {f: model for f, (model, _) in figures.items()},
        "min_drop_one_optional_roc_auc": round(min(figures[f][1] for f in optional), 4),
    }
    return estimates, report
