"""Training the churn models and writing their artefacts, model card and calibration plot.

What ``retainwise train`` (through ``notebooks/training.ipynb``) does, in order:

1. **Search**: for each feature set (``full``, ``core``; see features.py) a
   seeded random search over XGBoost hyperparameters, each trial scored by
   5-fold stratified CV ROC AUC (the number of rounds is picked per trial from
   the out-of-fold curve). Class balance is part of the space
   (``scale_pos_weight`` 1 or negatives/positives); a trial may win on AUC only
   if its Brier score stays within 0.002 of the best trial's, because
   reweighting classes buys recall by distorting probabilities.
2. **Evaluate** the chosen settings with a *fresh* 5-fold split (not the one
   the search looked at): ROC AUC, Brier, expected calibration error, the
   accuracy-maximising threshold. Platt calibration is checked on the
   out-of-fold margins and applied only if it lowers Brier.
3. **Robustness**: the fold models also score the held-out folds with columns
   removed (the core-only set, column groups, every single column and every
   pair dropped, random subsets). The measured AUCs are stored in the card;
   scoring uses them to choose the feature set for a file and to report its
   confidence.
4. **Refit** each feature set on all rows and write UBJSON artefacts, the model
   card (JSON + Markdown, with SHA-256 of each artefact), the training
   distribution for drift checks and a reliability diagram.

Every model is trained on the data plus masked copies (each value blanked
with probability MASK_RATE), so XGBoost's default branches learn what
"unknown" means and missing columns degrade the score gracefully instead of
sending every customer down an arbitrary branch.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from retainwise.errors import InputError
from retainwise.resources import TRAINING_DATA as DATA  # noqa: E402
from retainwise.science import calibration, drift
from retainwise.science.features import CORE_FEATURES, EXCLUDED, FEATURE_SETS, FULL_FEATURES, feature_frame
from retainwise.science.model import ARTEFACT, CARD, MODEL_DIR, sha256_file

FOLDS = 5
NTHREAD = 1  # small data: one thread beats two (no per-round sync), and the machine is shared
DEFAULT_BUDGET = 24  # search trials per feature set for `retainwise train`
MASK_COPIES, MASK_RATE = 2, 0.3
RANDOM_SUBSETS = 40
REPEATS = 3  # CV repeats for the reported figures (one 5-fold split moves AUC by about 0.002)
ARTEFACTS = {"full": ARTEFACT, "core": "churn_model_core.ubj"}
PLOT = "calibration.png"

#: First trial of every search: a well-regularised additive model (stumps), strong on this data.
DEFAULT_PARAMS = {"max_depth": 1, "eta": 0.05, "min_child_weight": 5, "subsample": 0.8,
                  "colsample_bytree": 0.5, "reg_lambda": 1.0, "scale_pos_weight": 1.0}
SPACE = {
    "max_depth": [1, 1, 2, 2, 3, 4],
    "eta": [0.02, 0.03, 0.05, 0.08],
    "min_child_weight": [1, 3, 5, 10, 20],
    "subsample": [0.7, 0.8, 0.9, 1.0],
    "colsample_bytree": [0.5, 0.7, 0.9, 1.0],
    "reg_lambda": [0.5, 1.0, 3.0, 10.0],
    "scale_pos_weight": [1.0, 1.0, "balanced"],
}
FIXED = {"objective": "binary:logistic", "eval_metric": "logloss", "tree_method": "hist", "max_cat_to_onehot": 4,
         "nthread": NTHREAD}
BRIER_SLACK = 0.002


def load_training_rows(path: Path = DATA):
    """The training file as canonical rows plus the 0/1 label.

    Raises :class:`InputError` when the file is missing or has no churn label.
    """
    from retainwise.science.mapping import map_columns
    from retainwise.science.normalise import to_canonical
    from retainwise.science.reading import read_upload

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such training file. Pass --data with a labelled CSV.", code="no_file")
    upload = read_upload(path)
    canonical = to_canonical(upload.frame, map_columns(upload.frame))
    if "churned" not in canonical.columns:
        raise InputError(f"{path.name} has no churn label column (e.g. 'Churn'): it cannot be trained on.",
                         code="no_label", column="churned")
    canonical = canonical[canonical["churned"].notna()].reset_index(drop=True)
    return canonical, canonical["churned"].to_numpy(dtype="int64")


# -- building blocks -----------------------------------------------------
_T0 = [time.perf_counter()]


def _log(message: str) -> None:
    print(f"[{time.perf_counter() - _T0[0]:6.1f}s] {message}", file=sys.stdout, flush=True)


def _dmatrix(x: pd.DataFrame, y=None):
    import xgboost as xgb

    return xgb.DMatrix(x, label=y, enable_categorical=True, nthread=NTHREAD)


def augment(x: pd.DataFrame, y: np.ndarray, rng: np.random.Generator, copies: int | None = None,
            rate: float | None = None) -> tuple[pd.DataFrame, np.ndarray]:
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


def _booster_params(params: dict, y: np.ndarray, seed: int) -> dict:
    out = dict(FIXED, **params, seed=seed)
    if out["scale_pos_weight"] == "balanced":
        out["scale_pos_weight"] = float((y == 0).sum() / max(1, (y == 1).sum()))
    return out


def max_rounds(params: dict) -> int:
    """Round budget for a learning rate: enough for the slow ones to converge."""
    return int(min(2000, round(40 / params["eta"])))


def fit(x: pd.DataFrame, y: np.ndarray, params: dict, rounds: int, seed: int, copies: int | None = None):
    """One booster on ``x`` plus ``copies`` masked copies (default MASK_COPIES)."""
    import xgboost as xgb

    xa, ya = augment(x, y, np.random.default_rng(seed), copies=copies)
    return xgb.train(_booster_params(params, y, seed), _dmatrix(xa, ya), num_boost_round=rounds)


def _sigmoid(m):
    return 1.0 / (1.0 + np.exp(-m))


def _checkpoints(rounds: int) -> list[int]:
    return sorted({max(1, int(rounds * f)) for f in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)})


def cross_validate(x: pd.DataFrame, y: np.ndarray, params: dict, seed: int, rounds: int | None = None,
                   keep_models: bool = False) -> dict:
    """Stratified 5-fold CV of ``params``: out-of-fold margins at several round counts.

    With ``rounds`` given only that count is used. Returns ``rounds`` (the best
    by AUC), ``roc_auc`` (mean over held-out folds), ``brier`` (out of fold),
    ``margin`` (out of fold), ``folds`` (index pairs) and, with
    ``keep_models``, the fold boosters.
    """
    from sklearn.metrics import brier_score_loss, roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    top = rounds or max_rounds(params)
    checkpoints = [rounds] if rounds else _checkpoints(top)
    margins = {r: np.zeros(len(y)) for r in checkpoints}
    folds, models = [], []
    for k, (tr, te) in enumerate(StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(x, y)):
        booster = fit(x.iloc[tr].reset_index(drop=True), y[tr], params, top, seed + k)
        dte = _dmatrix(x.iloc[te])
        for r in checkpoints:
            margins[r][te] = booster.predict(dte, output_margin=True, iteration_range=(0, r))
        folds.append((tr, te))
        if keep_models:
            models.append(booster)
    scored = {r: (np.mean([roc_auc_score(y[te], m[te]) for _, te in folds]), brier_score_loss(y, _sigmoid(m)))
              for r, m in margins.items()}
    best = max(scored, key=lambda r: (round(scored[r][0], 4), -scored[r][1]))
    return {"rounds": best, "roc_auc": float(scored[best][0]), "brier": float(scored[best][1]),
            "margin": margins[best], "folds": folds, "models": models}


def search(x: pd.DataFrame, y: np.ndarray, budget: int, seed: int, label: str = "") -> dict:
    """Seeded random search (``budget`` trials, the first always DEFAULT_PARAMS). Returns the winner and trials."""
    rng = np.random.default_rng(seed)
    trials = []
    for i in range(max(1, budget)):
        params = dict(DEFAULT_PARAMS) if i == 0 else {k: v[rng.integers(len(v))] for k, v in SPACE.items()}
        start = time.perf_counter()
        cv = cross_validate(x, y, params, seed)
        trials.append({"params": params, "rounds": cv["rounds"], "roc_auc": round(cv["roc_auc"], 5),
                       "brier": round(cv["brier"], 5), "seconds": round(time.perf_counter() - start, 2)})
        _log(f"  {label} trial {i + 1}/{budget}: AUC {cv['roc_auc']:.4f} Brier {cv['brier']:.4f} "
             f"({cv['rounds']} rounds, {params})")
    best_brier = min(t["brier"] for t in trials)
    eligible = [t for t in trials if t["brier"] <= best_brier + BRIER_SLACK]
    winner = max(eligible, key=lambda t: (t["roc_auc"], -t["brier"]))
    return {"params": winner["params"], "rounds": winner["rounds"], "trials": trials}


def choose_threshold(y, p) -> tuple[float, float]:
    """The probability cut-off (0.30-0.70) with the best accuracy, and that accuracy."""
    grid = np.round(np.arange(0.30, 0.701, 0.01), 2)
    acc = [float(np.mean((p >= t) == y)) for t in grid]
    i = int(np.argmax(acc))
    return float(grid[i]), acc[i]


# -- robustness: which columns a file has --------------------------------
GROUPS = {
    "account": ("paperless_billing", "payment_method"),
    "people": ("senior_citizen", "partner", "dependents"),
    "services": ("phone_service", "multiple_lines", "internet_service", "online_security", "online_backup",
                 "device_protection", "tech_support", "streaming_tv", "streaming_movies"),
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
    out += [every - {f, g} for i, f in enumerate(feats) for g in feats[i + 1:]]
    for _ in range(RANDOM_SUBSETS):
        out.append(frozenset(rng.choice(feats, size=int(rng.integers(0, len(feats) + 1)), replace=False).tolist()))
    return list(dict.fromkeys(out))


def masked_oof_aucs(x: pd.DataFrame, y: np.ndarray, cv: dict, sets: list[frozenset]) -> list[float]:
    """Out-of-fold ROC AUC of the fold models for each set of present columns in ``sets``.

    Each held-out fold is stacked once per set with the other columns blanked
    and scored in one call per fold (one DMatrix, not hundreds).
    """
    from sklearn.metrics import roc_auc_score

    margins = np.zeros((len(sets), len(y)))
    hide_cols = np.array([[c not in s for c in x.columns] for s in sets])  # sets x columns
    for booster, (_, te) in zip(cv["models"], cv["folds"], strict=True):
        block = x.iloc[te]
        big = pd.concat([block] * len(sets), ignore_index=True)
        hide = np.repeat(hide_cols, len(te), axis=0)
        for j, name in enumerate(x.columns):
            big[name] = big[name].mask(hide[:, j])
        margins[:, te] = booster.predict(_dmatrix(big), output_margin=True).reshape(len(sets), len(te))
    # Mean over held-out folds, like the headline CV figure.
    return [float(np.mean([roc_auc_score(y[te], m[te]) for _, te in cv["folds"]])) for m in margins]


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


# -- the whole run ---------------------------------------------------------
def train(data: Path = DATA, out: Path = MODEL_DIR, seed: int = 42, budget: int = DEFAULT_BUDGET) -> dict:
    """Search, evaluate, check robustness and calibration, refit and write everything to ``out``. Returns the card.

    Raises :class:`InputError` when the training file is unusable.
    """
    started = _T0[0] = time.perf_counter()
    data, out = Path(data), Path(out)
    rows, y = load_training_rows(data)
    x_all = feature_frame(rows, FULL_FEATURES)
    _log(f"{data.name}: {len(y)} customers, {y.mean():.1%} churned; search budget {budget} trials per feature set")

    specs, cvs, curves = {}, {}, {}
    for name, feats in FEATURE_SETS.items():
        x = x_all[list(feats)]
        found = search(x, y, budget, seed, label=name)
        spec, cvs[name], p = evaluate(x, y, found, seed)
        specs[name] = {"artefact": ARTEFACTS[name], "features": list(feats), **spec,
                       "search": {"budget": budget, "trials": found["trials"]}}
        curves[f"{name} ({len(feats)} features)"] = calibration.reliability(np.tile(y, REPEATS), p)
        cv = spec["cv"]
        _log(f"{name}: CV AUC {cv['roc_auc']}, Brier {cv['brier']}, ECE {cv['ece']}, accuracy {cv['accuracy']} "
             f"at {cv['threshold']}{' (Platt-calibrated)' if spec['calibration'] else ''}")

    estimates, report = robustness(x_all, y, cvs, seed)
    for name, est in estimates.items():
        specs[name]["expected_auc"] = est
    _log(f"robustness: core-only AUC {report['core_only_roc_auc']}, worst single optional column dropped "
         f"{report['min_drop_one_optional_roc_auc']}")

    out.mkdir(parents=True, exist_ok=True)
    for name, spec in specs.items():
        x = x_all[spec["features"]]
        booster = fit(x, y, found_params(spec), spec["rounds"], seed)
        path = out / spec["artefact"]
        booster.save_model(str(path))
        spec["sha256"] = sha256_file(path)
        if name == "full":
            importance = _importance(booster, x, spec.get("calibration"))
    version_digest = hashlib.sha256("".join(specs[n]["sha256"] for n in specs).encode()).hexdigest()
    full = specs["full"]
    card = {
        "version": f"xgb-{version_digest[:12]}",
        "kind": "xgboost",
        "artefact": full["artefact"],
        "sha256": full["sha256"],
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": {"file": data.name, "rows": int(len(y)), "positive_rate": round(float(y.mean()), 4),
                 "sha256": sha256_file(data)},
        "cv": full["cv"],
        "threshold": full["threshold"],
        "features": full["features"],
        "excluded_features": {k: v for k, v in EXCLUDED.items()},
        "class_balance": {
            "positive_rate": round(float(y.mean()), 4),
            "balanced_weight": round(float((y == 0).sum() / (y == 1).sum()), 3),
            "chosen_scale_pos_weight": {n: s["params"]["scale_pos_weight"] for n, s in specs.items()},
            "rule": f"scale_pos_weight is searched; a trial wins on AUC only within {BRIER_SLACK} Brier of the best",
        },
        "missing_columns": {"training": f"data plus {MASK_COPIES} copies with each value blanked with "
                                        f"probability {MASK_RATE}", **report},
        "feature_importance": importance,
        "feature_sets": specs,
        "drift_reference": drift.profile(rows, FULL_FEATURES),
        "calibration_plot": PLOT,
        "seed": seed,
        "training_seconds": round(time.perf_counter() - started, 1),
    }
    calibration.plot(curves, out / PLOT)
    (out / CARD).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (out / "model_card.md").write_text(model_card_markdown(card), encoding="utf-8")
    _log(f"wrote {card['version']} to {out} in {card['training_seconds']} s")
    return card


def evaluate(x: pd.DataFrame, y: np.ndarray, found: dict, seed: int) -> tuple[dict, dict, np.ndarray]:
    """Repeated 5-fold CV of the search's winner on fresh splits; calibration check; threshold.

    Returns the feature set's card entry (without artefact fields), the first
    repeat's CV (with fold models, for the robustness figures) and the pooled
    out-of-fold probabilities of all repeats.
    """
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    seeds = [seed + 1 + r for r in range(REPEATS)]
    runs = [cross_validate(x, y, found["params"], s, rounds=found["rounds"], keep_models=(i == 0))
            for i, s in enumerate(seeds)]
    checks = [calibration.check(cv["margin"], y, seed=s) for cv, s in zip(runs, seeds, strict=True)]
    gain = np.mean([c["brier_raw"] - c["brier_platt"] for c in checks])
    pooled = np.concatenate([cv["margin"] for cv in runs])
    platt = None
    if gain > 1e-4:
        a, b = calibration.fit_platt(pooled, np.tile(y, REPEATS))
        platt = {"a": round(a, 6), "b": round(b, 6)}
    # Probabilities as served: raw, or Platt fitted on the other folds' margins (cross-fitted, not flattered).
    probs = [_cross_fitted_platt(cv["margin"], y, s) if platt else _sigmoid(cv["margin"])
             for cv, s in zip(runs, seeds, strict=True)]
    p_all, y_all = np.concatenate(probs), np.tile(y, REPEATS)
    threshold, _ = choose_threshold(y_all, p_all)

    def mean(metric) -> float:
        return round(float(np.mean([metric(p) for p in probs])), 4)

    # AUC per held-out fold, averaged (as sklearn's cross_val_score does): a per-fold Platt map cannot move it.
    fold_auc = [[float(roc_auc_score(y[te], cv["margin"][te])) for _, te in cv["folds"]] for cv in runs]
    cv = {
        "method": f"stratified {FOLDS}-fold CV repeated {REPEATS}x (seeds {seeds[0]}-{seeds[-1]}; the search "
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
    return spec, runs[0], p_all


def found_params(spec: dict) -> dict:
    """The searched hyperparameters of a feature-set spec (without the fixed ones)."""
    return {k: spec["params"][k] for k in DEFAULT_PARAMS}


def _cross_fitted_platt(margin, y, seed: int) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold

    p = np.zeros(len(y))
    for tr, te in StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(margin, y):
        a, b = calibration.fit_platt(margin[tr], y[tr])
        p[te] = _sigmoid(a * margin[te] + b)
    return p


def _importance(booster, x: pd.DataFrame, platt: dict | None) -> list[dict]:
    """Mean |SHAP| (log-odds) per feature on the training rows, strongest first, with its share."""
    contribs = booster.predict(_dmatrix(x), pred_contribs=True)[:, :-1]
    if platt:
        contribs = contribs * platt["a"]
    mean_abs = np.abs(contribs).mean(axis=0)
    total = float(mean_abs.sum()) or 1.0
    order = np.argsort(-mean_abs)
    return [{"feature": x.columns[i], "mean_abs_shap": round(float(mean_abs[i]), 4),
             "share": round(float(mean_abs[i]) / total, 4)} for i in order]


def model_card_markdown(card: dict) -> str:
    """The model card as Markdown."""
    cv = card["cv"]
    mc = card["missing_columns"]
    lines = [
        f"# Model card: {card['version']}",
        "",
        "Predicts the probability that a customer cancels (churns). XGBoost gradient-boosted trees, one model per "
        "feature set; the set that suits the columns of an upload scores it.",
        "",
        "## Data",
        f"- `{card['data']['file']}`: {card['data']['rows']:,} customers, {card['data']['positive_rate']:.1%} "
        f"churned (SHA-256 `{card['data']['sha256'][:16]}…`)",
        f"- Trained {card['trained_at']}, seed {card['seed']}",
        "",
        "## Performance (full feature set)",
        f"- {cv['method']}",
        f"- ROC AUC **{cv['roc_auc']}** (folds {', '.join(map(str, cv['roc_auc_folds']))}); "
        f"reference: logistic regression about 0.835",
        f"- Brier **{cv['brier']}**, log loss {cv['log_loss']}, expected calibration error {cv['ece']} "
        f"(plot: `{card['calibration_plot']}`)",
        f"- Accuracy **{cv['accuracy']}** at threshold {cv['threshold']} (always answering 'stays': "
        f"{cv['base_rate_accuracy']})",
        "",
        "## Feature sets and missing columns",
        "| set | features | CV ROC AUC | Brier | ECE | rounds | calibration | artefact SHA-256 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for name, s in card["feature_sets"].items():
        cal = "Platt" if s["calibration"] else "none needed"
        lines.append(f"| {name} | {len(s['features'])} | {s['cv']['roc_auc']} | {s['cv']['brier']} | "
                     f"{s['cv']['ece']} | {s['rounds']} | {cal} | `{s['sha256']}` |")
    drops = mc["drop_one_roc_auc"]
    worst = min(drops, key=drops.get)
    lines += [
        "",
        f"- Training with missing values: {mc['training']}.",
        f"- Only the core columns: ROC AUC **{mc['core_only_roc_auc']}** (scored by the `{mc['core_only_model']}` "
        "model).",
        f"- Any single optional column missing: ROC AUC at least **{mc['min_drop_one_optional_roc_auc']}**; "
        f"any single column: at least {drops[worst]} (without `{worst}`).",
        "- Scoring picks the feature set with the best ROC AUC measured (out of fold, at training time) on a set "
        "of columns the upload covers, and reports that figure as the run's confidence.",
        "",
        "## Feature importance (mean |SHAP|, log-odds, full model)",
        "| feature | mean abs SHAP | share |",
        "| --- | ---: | ---: |",
        *[f"| {f['feature']} | {f['mean_abs_shap']} | {f['share']:.1%} |" for f in card["feature_importance"]],
        "",
        "## Choices",
        f"- Class balance: {card['class_balance']['rule']}; chosen: {card['class_balance']['chosen_scale_pos_weight']}.",
        "- Calibration: Platt scaling on log-odds is applied only when it lowers cross-validated Brier "
        "(it keeps SHAP values exact); isotonic is measured for comparison.",
        *[f"- `{k}` not used: {v}." for k, v in card["excluded_features"].items()],
        "",
    ]
    return "\n".join(lines)


def cli_train(args) -> int:
    """``retainwise train``: run notebooks/training.ipynb with Papermill; print the model's headline figures.

    Raises :class:`InputError` for an unusable training file, :class:`ExecutionError` when the kernel dies.
    """
    out = Path(args.out).resolve() if args.out else MODEL_DIR
    data = Path(args.data).resolve() if args.data else DATA
    if not data.is_file():
        raise InputError(f"{data}: no such training file. Pass --data with a labelled CSV.", code="no_file")
    budget = args.budget if args.budget is not None else DEFAULT_BUDGET
    executed = None
    if out == MODEL_DIR:  # the package's model/ holds artefacts only; the run's record goes to the home
        from retainwise.settings import Settings

        executed = Settings.from_env().home.resolve() / "training" / "training.ipynb"
    executed = run_training_notebook(data, out, seed=args.seed, budget=budget, executed=executed)
    card = json.loads((out / CARD).read_text(encoding="utf-8"))
    cv, mc = card["cv"], card["missing_columns"]
    print(f"model {card['version']}: CV ROC AUC {cv['roc_auc']}, Brier {cv['brier']}, ECE {cv['ece']}, "
          f"accuracy {cv['accuracy']} at {cv['threshold']}; core-only AUC {mc['core_only_roc_auc']}")
    print(f"model card: {out / 'model_card.md'}; executed notebook: {executed}")
    return 0


def run_training_notebook(data: Path, out: Path, *, seed: int, budget: int, executed: Path | None = None) -> Path:
    """Execute ``training.ipynb`` with Papermill (parameters injected); returns the executed notebook's path.

    The executed notebook is the record of the run (left in ``out`` unless
    ``executed`` says otherwise), failures included.
    """
    # execute first: importing it applies its import-time speed-ups before papermill loads jsonschema.
    from retainwise.execution.execute import notebook_path  # noqa: I001
    from retainwise.execution.kernels import KERNEL_NAME, start_kernel

    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from retainwise.errors import BY_NAME, ExecutionError, RetainwiseError

    out.mkdir(parents=True, exist_ok=True)
    executed = executed or out / "training.ipynb"
    executed.parent.mkdir(parents=True, exist_ok=True)
    params = {"data_path": str(data), "out_dir": str(out), "seed": int(seed), "budget": int(budget)}
    km = start_kernel(cwd=out)
    try:
        pm.execute_notebook(str(notebook_path("training.ipynb")), str(executed), parameters=params, km=km,
                            kernel_name=KERNEL_NAME, progress_bar=False, log_output=True)
    except PapermillExecutionError as exc:
        cls = BY_NAME.get(exc.ename)
        if cls is not None:
            raise cls(exc.evalue) from None
        raise RetainwiseError(f"Training failed with {exc.ename}: {exc.evalue} (see {executed}).",
                              code="training_failed") from None
    except RetainwiseError:
        raise
    except Exception as exc:  # kernel death, zmq failures
        raise ExecutionError(f"The training notebook did not finish ({type(exc).__name__}: {exc}).",
                             code="kernel_failed") from exc
    finally:
        km.shutdown_kernel(now=True)
    return executed
