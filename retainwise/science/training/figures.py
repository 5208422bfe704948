"""The training notebook's charts: ROC/PR curves, calibration, global SHAP, dependence, robustness.

Each function returns a matplotlib Figure (closed, so a notebook shows it
once, where the section displays it). SHAP values come from XGBoost's own
``pred_contribs`` (exact TreeSHAP), so the runtime needs no ``shap`` package.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from retainwise.science import calibration, schema

BLUE, RED, GREEN, GREY = "#3b6ea8", "#d64545", "#3c9d5d", "#999999"


def _subplots(ncols: int = 1, size: tuple[float, float] = (6, 4)):
    import matplotlib.pyplot as plt  # pyplot registers the notebook's figure formatters

    fig, axes = plt.subplots(1, ncols, figsize=size)
    plt.close(fig)
    return fig, axes


def _label(feature: str) -> str:
    return schema.column(feature).label if feature in schema.BY_NAME else feature


def roc_pr(y: np.ndarray, probs: dict[str, np.ndarray]):
    """ROC and precision-recall curves (scikit-learn displays) of out-of-fold probabilities per model."""
    from sklearn.metrics import PrecisionRecallDisplay, RocCurveDisplay

    fig, (roc, pr) = _subplots(2, (11, 4.5))
    for i, (name, p) in enumerate(probs.items()):
        last = i == len(probs) - 1
        RocCurveDisplay.from_predictions(y, p, name=name, ax=roc, plot_chance_level=last)
        PrecisionRecallDisplay.from_predictions(y, p, name=name, ax=pr, plot_chance_level=last)
    roc.set_title("ROC (out of fold)")
    pr.set_title("Precision-recall (out of fold)")
    for ax in (roc, pr):
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(frameon=False, fontsize=8, loc="lower right" if ax is roc else "upper right")
    fig.tight_layout()
    return fig


def calibration_with_and_without_platt(y: np.ndarray, raw: np.ndarray, platt: np.ndarray, kept: bool):
    """Reliability diagram of out-of-fold probabilities, raw and Platt-scaled, with Brier and ECE of each."""
    from sklearn.metrics import brier_score_loss

    curves = {}
    for name, p in (("raw", raw), ("Platt (cross-fitted)", platt)):
        curves[f"{name}: Brier {brier_score_loss(y, p):.4f}, ECE {calibration.ece(y, p):.4f}"] = (
            calibration.reliability(y, p)
        )
    title = f"Calibration, full model: Platt {'kept' if kept else 'not needed'}"
    return calibration.figure(curves, title=title)


def contributions(booster, x: pd.DataFrame, platt: dict | None) -> np.ndarray:
    """Exact TreeSHAP values (log-odds, Platt-scaled like scoring) per row and feature of ``x``."""
    from retainwise.science.training.cv import dmatrix

    out = booster.predict(dmatrix(x), pred_contribs=True)[:, :-1]
    return out * (platt["a"] if platt else 1.0)


def _colour_values(column: pd.Series) -> np.ndarray:
    """Feature values scaled to 0-1 for colouring (categories by level; missing as NaN)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy().astype("float64")
        codes[codes < 0] = np.nan
        return codes / max(1, len(column.cat.categories) - 1)
    ranks = column.rank(pct=True).to_numpy()
    return ranks


def shap_summary(shap: np.ndarray, x: pd.DataFrame, top: int = 12, seed: int = 0):
    """Beeswarm-style summary: one row of points per feature (strongest first), coloured by feature value."""
    order = np.argsort(-np.abs(shap).mean(axis=0))[:top]
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(x), size=min(len(x), 1500), replace=False)
    fig, ax = _subplots(1, (7.5, 0.38 * len(order) + 1.4))
    for pos, j in enumerate(order[::-1]):
        values = shap[rows, j]
        colours = _colour_values(x.iloc[rows, j])
        jitter = rng.normal(0, 0.09, len(rows))
        known = ~np.isnan(colours)
        ax.scatter(values[~known], pos + jitter[~known], s=5, color=GREY, alpha=0.5, lw=0)
        points = ax.scatter(
            values[known],
            pos + jitter[known],
            s=5,
            c=colours[known],
            cmap="coolwarm",
            vmin=0,
            vmax=1,
            alpha=0.7,
            lw=0,
        )
    ax.set_yticks(range(len(order)), [_label(x.columns[j]) for j in order[::-1]])
    ax.axvline(0, color=GREY, lw=0.8)
    ax.set_xlabel("SHAP value (impact on churn log-odds)")
    ax.set_title("Global SHAP summary (full model, training rows; grey = missing)")
    bar = fig.colorbar(points, ax=ax, pad=0.01)
    bar.set_label("feature value (low to high; categories by level)")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def shap_dependence(shap: np.ndarray, x: pd.DataFrame, n: int = 3):
    """SHAP value against the feature's value for the ``n`` features with the largest mean |SHAP|."""
    order = np.argsort(-np.abs(shap).mean(axis=0))[:n]
    fig, axes = _subplots(n, (4.2 * n, 3.6))
    for ax, j in zip(np.atleast_1d(axes), order, strict=False):
        column, values = x.iloc[:, j], shap[:, j]
        if isinstance(column.dtype, pd.CategoricalDtype):
            levels = list(column.cat.categories)
            codes = column.cat.codes.to_numpy().astype("float64")
            codes[codes < 0] = np.nan  # missing: not plotted
            jitter = np.random.default_rng(0).uniform(-0.25, 0.25, len(codes))
            ax.scatter(codes + jitter, values, s=5, color=BLUE, alpha=0.3, lw=0)
            ax.set_xticks(range(len(levels)), levels, rotation=20, ha="right", fontsize=8)
        else:
            ax.scatter(column, values, s=5, color=BLUE, alpha=0.4, lw=0)
        ax.axhline(0, color=GREY, lw=0.8)
        ax.set_xlabel(_label(x.columns[j]))
        ax.set_ylabel("SHAP value (log-odds)")
        ax.spines[["top", "right"]].set_visible(False)
    fig.suptitle("Dependence: the three strongest features")
    fig.tight_layout()
    return fig


def robustness(report: dict):
    """Out-of-fold ROC AUC with one column missing (each), core columns only, and all columns."""
    drops = sorted(report["drop_one_roc_auc"].items(), key=lambda kv: kv[1])
    labels = [f"without {_label(f)}" for f, _ in drops] + ["core columns only", "all columns"]
    values = [v for _, v in drops] + [report["core_only_roc_auc"], report["full_roc_auc"]]
    colours = [BLUE] * len(drops) + [RED, GREEN]
    fig, ax = _subplots(1, (7, 0.3 * len(values) + 1.2))
    ax.barh(labels, values, color=colours)
    low = min(values)
    ax.set_xlim(max(0.5, low - 0.02), max(values) + 0.005)
    ax.axvline(report["core_only_roc_auc"], color=RED, lw=0.8, ls="--")
    for pos, v in enumerate(values):
        ax.text(v, pos, f" {v:.3f}", va="center", fontsize=7)
    ax.set_xlabel("ROC AUC (out of fold) of the model scoring would choose")
    ax.set_title("Robustness to missing columns")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig
