"""The tenant gate: does the candidate beat what the tenant gets today, on the same held-out customers?

"What it gets today" (the *incumbent*) is a function ``incumbent(rows) -> scores``: the committed model's
probability, the rules' score or the current tenant model's probability. It is not retrained: it scores
the candidate's held-out customers as it is, and each fold is compared in pairs (the candidate's
out-of-fold probabilities against the incumbent's scores on the same customers). An incumbent that has
seen some of these customers (the current tenant model, trained on an earlier history) is favoured by
this, never the candidate. Rows the incumbent cannot score (NaN) get its mean score: no information.

Promote only if, all of:

- the candidate **ranks better beyond noise**: mean per-fold ROC AUC difference minus one standard
  deviation of the paired differences > 0;
- it is **not worse calibrated**: mean per-fold Brier difference at most :data:`BRIER_NOISE` when the
  incumbent gives probabilities; when it gives a score (the rules), the candidate's Brier must be
  below the base rate's (always answering the training part's churn rate);
- its mean fold ROC AUC is at least :data:`MIN_AUC`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

BRIER_NOISE = 0.0005
MIN_AUC = 0.6
RULE = (
    "promote only if the candidate ranks better beyond noise (mean - std of the paired per-fold ROC AUC "
    f"differences > 0), is not worse calibrated (Brier at most {BRIER_NOISE} worse than the incumbent's "
    "probabilities, or better than the base rate against a score) and reaches a ROC AUC of at least "
    f"{MIN_AUC}"
)


def _scores(incumbent: Callable[[pd.DataFrame], np.ndarray], rows: pd.DataFrame) -> tuple[np.ndarray, int]:
    scores = np.asarray(incumbent(rows), dtype="float64").reshape(-1)
    if len(scores) != len(rows):
        raise ValueError(f"the incumbent gave {len(scores)} scores for {len(rows)} rows")
    missing = np.isnan(scores)
    if missing.all():
        return np.full(len(rows), 0.5), int(missing.sum())
    return np.where(missing, np.nanmean(scores), scores), int(missing.sum())


def fold_table(
    y: np.ndarray, folds: list, candidate: np.ndarray, incumbent: np.ndarray, probabilities: bool
) -> pd.DataFrame:
    """Per held-out fold: ROC AUC and Brier of both (the incumbent's Brier: its probabilities, or the
    base rate of the fold's training part when it gives a score), and the differences."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    out = []
    for k, (tr, te) in enumerate(folds, 1):
        theirs = incumbent[te] if probabilities else np.full(len(te), y[tr].mean())
        auc = (float(roc_auc_score(y[te], candidate[te])), float(roc_auc_score(y[te], incumbent[te])))
        brier = (float(brier_score_loss(y[te], candidate[te])), float(brier_score_loss(y[te], theirs)))
        out.append(
            {
                "fold": k,
                "customers": len(te),
                "candidate_roc_auc": auc[0],
                "incumbent_roc_auc": auc[1],
                "roc_auc_diff": auc[0] - auc[1],
                "candidate_brier": brier[0],
                "incumbent_brier": brier[1],
                "brier_diff": brier[0] - brier[1],
            }
        )
    return pd.DataFrame(out)


def decide(table: pd.DataFrame, name: str, probabilities: bool, unscored: int = 0) -> dict:
    """The gate's verdict on a :func:`fold_table`: ``promoted``, the ``verdict`` in plain words and the figures."""
    d_auc = table["roc_auc_diff"].to_numpy()
    mean, std = float(d_auc.mean()), float(d_auc.std())
    ours, theirs = float(table["candidate_roc_auc"].mean()), float(table["incumbent_roc_auc"].mean())
    brier_ours, brier_theirs = float(table["candidate_brier"].mean()), float(table["incumbent_brier"].mean())
    d_brier = float(table["brier_diff"].mean())
    ranks_better = mean - std > 0
    calibrated = d_brier <= BRIER_NOISE if probabilities else d_brier < 0
    reference = f"{name}'s probabilities" if probabilities else "the base rate"
    figures = (
        f"ranks leavers above stayers {ours:.0%} of the time against {theirs:.0%} for {name} on the "
        "same held-out customers"
    )
    if ours < MIN_AUC:
        why = f"no better than chance: it needs at least {MIN_AUC:.0%}"
    elif not ranks_better:
        why = f"not better beyond noise (ROC AUC {mean:+.3f} ± {std:.3f} per fold)"
    elif not calibrated:
        why = f"its probabilities are less accurate than {reference} (Brier {brier_ours:.4f} against {brier_theirs:.4f})"
    else:
        why = ""
    promoted = not why
    verdict = f"Promoted: {figures}" if promoted else f"Not promoted: {figures}; {why}"
    if unscored:
        verdict += f" ({unscored:,} customers {name} could not score were given its average score)"
    return {
        "promoted": promoted,
        "verdict": verdict + ".",
        "rule": RULE,
        "incumbent_name": name,
        "incumbent_probabilities": probabilities,
        "candidate": {"roc_auc": round(ours, 4), "brier": round(brier_ours, 4)},
        "incumbent": {
            "roc_auc": round(theirs, 4),
            "brier": round(brier_theirs, 4) if probabilities else None,
        },
        "base_rate_brier": None if probabilities else round(brier_theirs, 4),
        "roc_auc_diff_mean": round(mean, 4),
        "roc_auc_diff_std": round(std, 4),
        "brier_diff_mean": round(d_brier, 4),
        "unscored": unscored,
        "folds": table.round(4).to_dict(orient="records"),
    }


def gate(
    candidate,
    incumbent: Callable[[pd.DataFrame], np.ndarray],
    *,
    probabilities: bool,
    name: str = "what you use today",
) -> dict:
    """Compare a :class:`~retainwise.science.tenant.train.Candidate` with ``incumbent`` on its CV folds.

    ``incumbent(rows)`` scores the candidate's labelled rows (canonical columns, ``own:`` text); higher
    means more likely to leave. ``probabilities``: whether those scores are probabilities (Brier then
    compares with them). ``name`` says what the incumbent is, in the verdict ("the SaaS rules").
    """
    scores, unscored = _scores(incumbent, candidate.rows)
    table = fold_table(candidate.y, candidate.folds, candidate.oof, scores, probabilities)
    return decide(table, name, probabilities, unscored)


def no_incumbent(candidate) -> dict:
    """The verdict when the tenant has nothing to compare with: promoted when the candidate's CV ROC AUC
    reaches :data:`MIN_AUC` (not expected in use: the committed model and the rules always score)."""
    auc = float(candidate.cv["roc_auc"])
    promoted = auc >= MIN_AUC
    verdict = (
        f"{'Promoted' if promoted else 'Not promoted'}: ranks leavers above stayers {auc:.0%} of the time "
        f"on held-out customers, with nothing to compare with"
        + ("" if promoted else f"; no better than chance: it needs at least {MIN_AUC:.0%}")
        + "."
    )
    return {
        "promoted": promoted,
        "verdict": verdict,
        "rule": RULE,
        "incumbent_name": None,
        "candidate": {"roc_auc": round(auc, 4), "brier": candidate.cv["brier"]},
        "incumbent": None,
        "folds": [],
    }
