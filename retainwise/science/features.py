"""Canonical customer rows -> the model's feature matrix, and the feature sets.

Two feature sets are trained (see training.py):

- ``full``: every canonical column the training data carries, except
  ``gender`` (no signal in cross-validation, and a churn score should not move
  with it) and the SaaS usage columns (the training data has none; the rules
  baseline uses them).
- ``core``: the four columns almost every business can export (schema.CORE
  without the id).

Categories become pandas ``category`` columns with the schema's fixed levels,
so XGBoost's native categorical splits see the same codes at training and
scoring time and an unknown value is simply missing. Columns the upload does
not have are present as all-missing, which XGBoost routes down each split's
learned default branch (the models are trained with masked copies of the data
so those branches mean "unknown").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from retainwise.science import schema

CORE_FEATURES: tuple[str, ...] = tuple(c for c in schema.CORE if c != "customer_id")
#: Left out of the model on purpose (reason recorded in the model card).
EXCLUDED: dict[str, str] = {
    "gender": "no cross-validated signal; a churn score should not depend on it",
    **{
        c.name: "not in the training data (scored by the rules baseline)"
        for c in schema.COLUMNS
        if c.group == "usage"
    },
}
FULL_FEATURES: tuple[str, ...] = tuple(f for f in schema.FEATURES if f not in EXCLUDED)
FEATURE_SETS: dict[str, tuple[str, ...]] = {"full": FULL_FEATURES, "core": CORE_FEATURES}

#: Business feature each model feature is explained as (identity for canonical columns).
BUSINESS_FEATURE: dict[str, str] = {name: name for name in schema.FEATURES}


def feature_frame(rows: pd.DataFrame, features: tuple[str, ...] | list[str] = FULL_FEATURES) -> pd.DataFrame:
    """Build the model input for ``rows`` (canonical columns; any subset).

    Returns a frame with exactly ``features`` as columns: float64 for numbers
    and flags, ``category`` with the schema's levels for categories.
    """
    out = {}
    n = len(rows)
    for name in features:
        col = schema.column(name)
        present = name in rows.columns
        if col.kind == "category":
            out[name] = _categorical(rows[name] if present else None, list(col.categories), n)
        else:
            values = rows[name] if present else np.full(n, np.nan)
            out[name] = pd.to_numeric(pd.Series(values, index=rows.index), errors="coerce").astype("float64")
    return pd.DataFrame(out, index=rows.index)


def _categorical(values: pd.Series | None, levels: list[str], n: int) -> pd.Categorical:
    """``values`` as a categorical of ``levels`` (others and missing: missing).

    Each distinct value is looked up once (a column has a handful): ``pd.Categorical(values, levels)``
    gives the same codes at about three times the cost per chunk, paid twice per chunk of a big run.
    """
    if values is None:
        return pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), categories=levels)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    known = pd.Index(levels).get_indexer(pd.Index(uniques, dtype="str"))
    return pd.Categorical.from_codes(np.append(known, -1)[codes], categories=levels)


def present_features(rows: pd.DataFrame) -> frozenset[str]:
    """Canonical feature columns of ``rows`` that hold at least one value (an empty column counts as absent)."""
    return frozenset(f for f in schema.FEATURES if f in rows.columns and rows[f].notna().any())


def mask_columns(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """A copy of a feature frame with ``columns`` set to missing (as if the upload lacked them)."""
    out = frame.copy()
    for name in columns:
        if isinstance(out[name].dtype, pd.CategoricalDtype):
            out[name] = pd.Categorical([None] * len(out), categories=out[name].cat.categories)
        else:
            out[name] = np.nan
    return out
