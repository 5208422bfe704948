"""Canonical customer rows -> the model's feature matrix.

The model sees every canonical feature column (schema.FEATURES) in a fixed
order. Categories become pandas ``category`` columns with the schema's fixed
levels, so XGBoost's native categorical splits see the same codes at training
and scoring time and an unknown value is simply missing. Columns the upload
does not have are present as all-missing, which XGBoost routes down each
split's learned default branch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import schema

#: Business feature each model feature is explained as (identity for canonical columns).
BUSINESS_FEATURE: dict[str, str] = {name: name for name in schema.FEATURES}


def feature_frame(rows: pd.DataFrame, features: tuple[str, ...] | list[str] = schema.FEATURES) -> pd.DataFrame:
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
            values = rows[name] if present else pd.Series([None] * n, index=rows.index, dtype="str")
            out[name] = pd.Categorical(values, categories=list(col.categories))
        else:
            values = rows[name] if present else np.full(n, np.nan)
            out[name] = pd.to_numeric(pd.Series(values, index=rows.index), errors="coerce").astype("float64")
    return pd.DataFrame(out, index=rows.index)
