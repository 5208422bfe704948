"""Who serves each customer of a run: the model or the rules baseline.

The rules serve everyone they can score when the model knows nothing useful about the file: its
expected ROC AUC on the file's columns is below ``experiment.ML_FLOOR``, or the file is outside the
model's domain (domain.py: a SaaS-like file, or the model's main columns far from its training data).
Otherwise ``rules_share`` of the customers (by a hash of tenant and customer) are served by the rules,
for an A/B test. A tenant's own model serves all of its customers: they are its domain.
"""

from __future__ import annotations

import pandas as pd

from retainwise.science import domain, experiment


def serve(
    ml: pd.DataFrame, by_rules: pd.DataFrame, run, reference: dict, share: float
) -> tuple[domain.Domain, pd.DataFrame, dict]:
    """``(domain verdict, served scores, experiment summary)`` of ``run`` (a Pipeline after its
    prediction pass: ``model``, ``choice``, ``models``, ``present``, ``drift``, ``tenant``) from every
    customer's model scores ``ml`` and rules scores ``by_rules``. Raises nothing of ours."""
    importance = {} if run.choice is None else domain.importance(run.models.card, run.model.features)
    verdict = domain.assess(
        run.present if run.choice else frozenset(), run.drift, reference, importance, len(ml)
    )
    fallback = run.choice is not None and (
        run.choice.expected_roc_auc < experiment.ML_FLOOR or domain.router_prefers_rules(verdict, run.present)
    )
    groups = experiment.assign(run.tenant, ml["customer_id"], 1.0 if fallback else share)
    scores = experiment.route(ml, by_rules, groups, run.model.threshold)
    return verdict, scores, {**experiment.summary(scores, share), "fallback_to_rules": bool(fallback)}
