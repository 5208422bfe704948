"""What a tenant gets today: the incumbent a candidate tenant model is gated against.

- The tenant's active model, when it has one (its probabilities).
- Otherwise what a scoring run would serve these customers: the committed model, or the SaaS rules
  where the run would route to them (domain.py: a SaaS-like file, the model's main columns drifted far,
  or too few of its columns), decided on the labelled rows as a run decides on an upload.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from retainwise.science import domain, drift, experiment, rules
from retainwise.science.features import present_features
from retainwise.science.model import load_model


def what_it_gets_today(
    rows: pd.DataFrame, current=None, model_dir=None
) -> tuple[str, Callable[[pd.DataFrame], np.ndarray], bool]:
    """``(name, score(rows), are_probabilities)`` of what serves ``rows`` today.

    ``current``: the tenant's active :class:`~retainwise.science.tenant.TenantModel`, if any;
    ``model_dir``: another committed-model directory (tests).
    """
    if current is not None:
        return f"your current model ({current.version})", current.predict_proba, True
    models = load_model(model_dir)
    present = present_features(rows)
    choice = models.choose_for(present)
    reference = models.card.get("drift_reference", {})
    report = drift.psi_report(rows, reference)
    verdict = domain.assess(
        present, report, reference, domain.importance(models.card, choice.model.features), len(rows)
    )
    if choice.expected_roc_auc < experiment.ML_FLOOR or domain.router_prefers_rules(verdict, present):
        finder = rules.ScaleFinder()
        finder.add(rows)
        scales = finder.scales()
        return "the SaaS rules", lambda r: rules.score(r, scales).to_numpy(), False
    return "the committed model", choice.model.predict_proba, True
