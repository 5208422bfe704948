"""How far to trust one run, in figures and words: summary.json's ``model`` and ``realised``.

The pipeline decides *who* scores a file (the committed model, the rules, or the tenant's own model) and
hands the facts here: the domain verdict (domain.py), who served how many customers (experiment.py),
the file's own outcomes if it has them, and the model that scored it. What comes back is the confidence
level with its reason in plain words, the expected ROC AUC only where the evidence supports it (the
committed model in its domain: the card's figure for these columns; a tenant model: its own held-out
figure), and, with outcomes, both scores measured and the better one named.
"""

from __future__ import annotations

import pandas as pd

from retainwise.science import domain, drift, experiment


def realised(scores: pd.DataFrame, groups: dict, churned: pd.Series | None, threshold: float) -> dict | None:
    """The served scores against the file's outcomes; per arm in an A/B split; model and rules compared."""
    if churned is None:
        return None
    p, arm = scores["churn_probability"], scores["experiment_group"]
    out = drift.realised(churned, p, threshold)
    if out and groups["rules"]:  # the A/B read-out: each arm alone
        out["by_group"] = {
            g: drift.realised(churned[arm == g], p[arm == g], threshold if g == "ml" else 0.5)
            for g in experiment.GROUPS
        }
    if out:  # both scores on everyone they score: which ranked this file's leavers better
        ruled = scores["rules_probability"].notna()
        compared = domain.compare(
            drift.realised(churned, scores["ml_probability"], threshold),
            drift.realised(churned[ruled], scores.loc[ruled, "rules_probability"], 0.5),
        )
        if compared:
            out["compared"] = compared
    return out


def confidence(verdict: domain.Domain, experiment_: dict, realised_: dict | None, choice) -> dict:
    """Level, reason and (in the model's domain, served by it) the expected ROC AUC for the committed model."""
    groups = experiment_["groups"]
    served_by_rules = groups["rules"] > 0 and groups["rules"] >= groups["ml"]
    measured = (realised_ or {}).get("roc_auc")
    if not verdict.in_domain:
        return {
            "confidence": "low",
            "reason": domain.out_of_domain_reason(verdict, served_by_rules, measured),
        }
    if served_by_rules and experiment_["fallback_to_rules"]:
        return {"confidence": "low", "reason": domain.too_little_reason(choice.expected_roc_auc, measured)}
    return {
        "confidence": choice.confidence,
        "expected_roc_auc": round(choice.expected_roc_auc, 4),
        "reason": domain.in_domain_reason(choice.expected_roc_auc, choice.confidence, choice.missing),
    }


def tenant_confidence(model) -> dict:
    """A tenant's own model: trusted as far as its held-out figure on the tenant's own customers goes."""
    card = model.card
    auc, trained = float(card["cv"]["roc_auc"]), card.get("trained_on", {})
    level = "high" if auc >= 0.8 else "medium" if auc >= 0.7 else "low"
    return {
        "confidence": level,
        "expected_roc_auc": round(auc, 4),
        "reason": (
            f"Your own model ({model.version}), trained on {trained.get('rows', 0):,} of your customers "
            f"({trained.get('leavers', 0):,} who left): on customers it had not seen it ranked a leaver "
            f"above a stayer {auc:.0%} of the time."
        ),
    }


def model_summary(model, choice, experiment_: dict, confidence_: dict, verdict: domain.Domain) -> dict:
    """summary.json's ``model``: what scored the file (``kind``: the committed model's, ``rules`` when the
    rules served most customers, or ``tenant``), how confident the run is and why, and the domain verdict."""
    groups = experiment_["groups"]
    kind = "rules" if groups["rules"] > groups["ml"] else model.kind
    if choice is None:  # a tenant model
        trained = model.card.get("trained_on", {})
        details = {
            "feature_set": "tenant",
            "trained_on_rows": trained.get("rows"),
            "held_out_roc_auc": model.card["cv"]["roc_auc"],
            "missing_features": [],
        }
    else:
        details = choice.to_dict()
        details.pop("expected_roc_auc")
        if "expected_roc_auc" not in confidence_:  # the card's figures do not apply to this file
            details.pop("expected_roc_auc_by_set")
    return {"version": model.version, "kind": kind, **details, **confidence_, "domain": verdict.to_dict()}
