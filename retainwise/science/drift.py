"""Population stability (PSI) of an upload against the training data, and realised accuracy.

At training time :func:`profile` records, per model feature, the bins of the
training distribution: deciles for numbers (plus a missing bin), the levels
for categories and flags. It is stored in the model card (``drift_reference``).
At scoring time :func:`psi_report` bins the upload the same way:

    PSI = sum over bins (actual% - expected%) * ln(actual% / expected%)

Conventional reading: below 0.1 stable, 0.1-0.25 moderate shift, above 0.25
major shift (the model is scoring customers unlike those it learned from).
Columns the upload does not carry are not drift and are left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from retainwise.science import schema

EPS = 1e-4  # floor for empty bins, so ln() stays finite
MODERATE, MAJOR = 0.1, 0.25
MISSING = "__missing__"


def _levels(name: str) -> list[str]:
    col = schema.column(name)
    return list(col.categories) if col.kind == "category" else ["0", "1"]


def bin_counts(values: pd.Series, name: str, ref: dict) -> np.ndarray:
    """Rows per bin of ``ref`` (the last bin: missing); counts add up across chunks of a file."""
    if ref["kind"] == "number":
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
        edges = np.asarray(ref["edges"], dtype="float64")
        counts = np.bincount(np.searchsorted(edges, x[~np.isnan(x)], side="right"), minlength=len(edges) + 1)
        counts = np.append(counts, np.isnan(x).sum())
    else:
        if schema.column(name).kind == "category":
            s = values.astype("str")
            tally = s.value_counts(dropna=True).to_dict()  # one pass, not one comparison per level
            missing = int(s.isna().sum())
        else:  # flags: "1"/"0", missing kept missing
            x = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
            known = ~np.isnan(x)
            ones = int((x[known] >= 0.5).sum())
            tally, missing = {"1": ones, "0": int(known.sum()) - ones}, int((~known).sum())
        counts = np.array([int(tally.get(lvl, 0)) for lvl in ref["levels"]] + [missing])
    return counts


def _shares(values: pd.Series, name: str, ref: dict) -> np.ndarray:
    counts = bin_counts(values, name, ref)
    return counts / max(1, counts.sum())


def profile(rows: pd.DataFrame, features) -> dict:
    """Training-distribution bins for each of ``features`` (canonical rows), for the model card."""
    out = {}
    for name in features:
        if schema.column(name).kind == "number":
            x = pd.to_numeric(rows[name], errors="coerce").dropna().to_numpy(dtype="float64")
            edges = sorted(set(np.round(np.quantile(x, np.linspace(0.1, 0.9, 9)), 4).tolist()))
            ref = {"kind": "number", "edges": edges}
        else:
            ref = {"kind": "levels", "levels": _levels(name)}
        ref["shares"] = [round(float(v), 6) for v in _shares(rows[name], name, ref)]
        out[name] = ref
    return out


def psi(expected, actual) -> float:
    """Population stability index between two share vectors over the same bins."""
    e = np.maximum(np.asarray(expected, dtype="float64"), EPS)
    a = np.maximum(np.asarray(actual, dtype="float64"), EPS)
    return float(np.sum((a - e) * np.log(a / e)))


def level(value: float) -> str:
    """``stable``, ``moderate`` or ``major`` for a PSI value."""
    return "major" if value >= MAJOR else "moderate" if value >= MODERATE else "stable"


def psi_report(rows: pd.DataFrame, reference: dict) -> dict:
    """Per-feature ``{"psi", "level"}`` of ``rows`` against the card's ``drift_reference``, largest first.

    Only features the upload carries (with at least one value) are reported.
    """
    return psi_from_counts(reference, counts_for(rows, reference))


def counts_for(rows: pd.DataFrame, reference: dict) -> dict[str, np.ndarray]:
    """Bin counts of each reference feature ``rows`` carries (add them up across chunks)."""
    return {
        name: bin_counts(rows[name], name, ref) for name, ref in reference.items() if name in rows.columns
    }


def psi_from_counts(reference: dict, counts: dict[str, np.ndarray]) -> dict:
    """:func:`psi_report` from accumulated bin counts; features without a single value are left out."""
    out = {}
    for name, ref in reference.items():
        if name not in counts or counts[name][:-1].sum() == 0:
            continue
        value = psi(ref["shares"], counts[name] / max(1, counts[name].sum()))
        out[name] = {"psi": round(value, 4), "level": level(value)}
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["psi"]))


def realised(y, p, threshold: float = 0.5) -> dict | None:
    """ROC AUC, Brier and accuracy of probabilities ``p`` against known outcomes ``y`` (NaN outcomes skipped).

    ``None`` when no row has an outcome; ``roc_auc`` is ``None`` when only one class occurs.
    """
    from sklearn.metrics import brier_score_loss, roc_auc_score

    y = pd.to_numeric(pd.Series(y), errors="coerce").to_numpy(dtype="float64")
    p = np.asarray(p, dtype="float64")
    known = ~np.isnan(y)
    if not known.any():
        return None
    y, p = y[known].astype(int), p[known]
    both = len(np.unique(y)) == 2
    return {
        "n": int(known.sum()),
        "roc_auc": round(float(roc_auc_score(y, p)), 4) if both else None,
        "brier": round(float(brier_score_loss(y, p)), 4),
        "accuracy": round(float(np.mean((p >= threshold) == y)), 4),
        "churn_rate": round(float(y.mean()), 4),
    }
