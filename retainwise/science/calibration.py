"""Probability calibration: measuring it (ECE, reliability) and, when it pays, fixing it.

Only a Platt map on log-odds (``a * margin + b``) is ever applied: it is
linear in the margin, so SHAP values scaled by ``a`` still add up to the
calibrated margin exactly. Isotonic regression is measured for comparison
and recorded in the model card, never applied.
"""

from __future__ import annotations

import numpy as np

BINS = 10


def ece(y, p, bins: int = BINS) -> float:
    """Expected calibration error: |mean predicted - observed rate| over equal-width bins, weighted by count."""
    y = np.asarray(y, dtype="float64")
    p = np.asarray(p, dtype="float64")
    idx = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        sel = idx == b
        if sel.any():
            total += sel.sum() * abs(p[sel].mean() - y[sel].mean())
    return float(total / len(y))


def reliability(y, p, bins: int = BINS) -> list[dict]:
    """Per bin: mean predicted probability, observed churn rate and count (for the calibration plot)."""
    y = np.asarray(y, dtype="float64")
    p = np.asarray(p, dtype="float64")
    idx = np.minimum((p * bins).astype(int), bins - 1)
    return [
        {
            "predicted": float(p[idx == b].mean()),
            "observed": float(y[idx == b].mean()),
            "n": int((idx == b).sum()),
        }
        for b in range(bins)
        if (idx == b).any()
    ]


def sigmoid(m):
    """Log-odds to probability."""
    return 1.0 / (1.0 + np.exp(-np.asarray(m, dtype="float64")))


def fit_platt(margin, y) -> tuple[float, float]:
    """Logistic regression of ``y`` on the margin (nearly unregularised). Returns ``(a, b)``."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e6, max_iter=1000).fit(np.asarray(margin).reshape(-1, 1), y)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def check(margin, y, seed: int = 0, folds: int = 5) -> dict:
    """Cross-validated Brier of raw, Platt-scaled and isotonic probabilities from out-of-fold ``margin``.

    Each map is fitted on four fifths of the out-of-fold margins and scored on
    the rest, so the comparison is not flattered by fitting and scoring on the
    same rows. ``apply`` is the Platt map for all rows when it lowers Brier by
    more than 1e-4, else ``None``.
    """
    from sklearn.isotonic import IsotonicRegression
    from sklearn.metrics import brier_score_loss
    from sklearn.model_selection import StratifiedKFold

    margin = np.asarray(margin, dtype="float64")
    y = np.asarray(y)
    platt = np.zeros(len(y))
    iso = np.zeros(len(y))
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(margin, y):
        a, b = fit_platt(margin[tr], y[tr])
        platt[te] = sigmoid(a * margin[te] + b)
        iso[te] = IsotonicRegression(out_of_bounds="clip").fit(margin[tr], y[tr]).predict(margin[te])
    raw = sigmoid(margin)
    out = {
        "brier_raw": round(float(brier_score_loss(y, raw)), 5),
        "brier_platt": round(float(brier_score_loss(y, platt)), 5),
        "brier_isotonic": round(float(brier_score_loss(y, iso)), 5),
        "ece_raw": round(ece(y, raw), 5),
        "ece_platt": round(ece(y, platt), 5),
    }
    helps = out["brier_raw"] - out["brier_platt"] > 1e-4
    out["apply"] = dict(zip(("a", "b"), fit_platt(margin, y), strict=True)) if helps else None
    return out


def cross_fitted_platt(margin, y, seed: int, folds: int = 5) -> np.ndarray:
    """Platt-scaled probabilities, each fold's map fitted on the other folds' margins (not flattered)."""
    from sklearn.model_selection import StratifiedKFold

    margin = np.asarray(margin, dtype="float64")
    p = np.zeros(len(y))
    for tr, te in StratifiedKFold(folds, shuffle=True, random_state=seed).split(margin, y):
        a, b = fit_platt(margin[tr], y[tr])
        p[te] = sigmoid(a * margin[te] + b)
    return p


def figure(curves: dict[str, list[dict]], title: str = "Calibration (5-fold CV; marker size = customers)"):
    """Reliability diagram of one or more sets of out-of-fold probabilities (a matplotlib Figure)."""
    from matplotlib.figure import Figure  # no pyplot: leaves the caller's backend alone

    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="#999", lw=0.8, ls="--", label="perfectly calibrated")
    for (label, points), colour in zip(
        curves.items(), ("#3b6ea8", "#d64545", "#3c9d5d", "#8a5cc2"), strict=False
    ):
        xs, ys = [q["predicted"] for q in points], [q["observed"] for q in points]
        ax.plot(xs, ys, color=colour, lw=1.2, label=label)
        # marker area follows the bin's customer count: a wild point from a dozen customers looks small
        total = sum(q["n"] for q in points) or 1
        ax.scatter(xs, ys, s=[12 + 400 * q["n"] / total for q in points], color=colour, alpha=0.8, zorder=3)
    ax.set_xlabel("predicted churn probability (out of fold)")
    ax.set_ylabel("observed churn rate")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(frameon=False, loc="upper left", fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return fig


def plot(curves: dict[str, list[dict]], path) -> None:
    """Reliability diagram of one or more models' out-of-fold probabilities, saved as PNG at ``path``."""
    figure(curves).savefig(path, dpi=110, metadata={"Software": None})
