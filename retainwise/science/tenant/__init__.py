"""Tenant models: a business's own churn, learned from its own labelled history.

Pure science: no storage, queues, database or Papermill; directories are handed in. The whole API::

    from retainwise.science import tenant

    candidate = tenant.train(labelled, tenant="acme", seed=42, sources=["run-1"])   # -> Candidate
    verdict = tenant.gate(candidate, incumbent, probabilities=True, name="the committed model")
    card = tenant.save(directory, candidate.booster, tenant.build_card(candidate, verdict))
    model = tenant.load(directory)                                                  # -> TenantModel
    model.predict_proba(rows); model.margin(rows); model.contributions(rows)

``labelled``: a DataFrame, one row per customer: ``customer_id``, ``churned`` (0.0/1.0; NaN rows are
dropped), canonical schema columns as the normaliser outputs them, the tenant's own columns as
``own:<original header>`` raw text, and bookkeeping columns starting with ``_`` (never features).

- :func:`train` (train.py) refuses fewer than 500 labelled customers or 50 who left (InputError
  ``too_little_data``, saying how many more to send), chooses the features (features.py: the schema
  fields present, own columns as numbers, flags or categories; ids, near-unique columns, free text,
  dates, empty and constant columns left out with a reason; the leakage guard in leakage.py), runs a
  seeded stratified 5-fold CV (out-of-fold probabilities, ROC AUC per fold, Brier) and fits the final
  XGBoost booster on every row.
- :func:`gate` (gate.py) compares the candidate with ``incumbent(rows) -> scores`` (what the tenant gets
  today) on the same held-out folds; ``promoted`` and a ``verdict`` in plain words.
- :func:`build_card`, :func:`save`, :func:`load` (artefacts.py): ``model.ubj`` (UBJSON) and ``card.json``
  (kind ``tenant``, tenant, version ``t-<12 hex of the model's SHA-256>``, trained_at, trained_on
  {rows, leavers, churn_rate, sources}, features (the spec), excluded {column: reason}, cv {roc_auc,
  roc_auc_folds, brier, ...}, gate, threshold, sha256). A tampered model.ubj is refused (ModelError).
- :class:`TenantModel` scores like the committed ``ChurnModel``: ``version``, ``kind`` ("tenant"),
  ``name`` ("tenant"), ``card``, ``features``, ``threshold``, ``margin``, ``predict_proba``,
  ``contributions`` (TreeSHAP, summing to the margin), ``with_threads``.
- :func:`select_features` and :func:`feature_frame` (features.py): the spec, and the model input by it.
"""

from retainwise.science.tenant.artefacts import TenantModel, build_card, load, save
from retainwise.science.tenant.features import feature_frame, select_features, with_own_columns
from retainwise.science.tenant.gate import gate
from retainwise.science.tenant.train import MIN_LEAVERS, MIN_ROWS, Candidate, train

__all__ = [
    "MIN_LEAVERS",
    "MIN_ROWS",
    "Candidate",
    "TenantModel",
    "build_card",
    "feature_frame",
    "gate",
    "load",
    "save",
    "select_features",
    "train",
    "with_own_columns",
]
