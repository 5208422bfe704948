"""Which columns of a labelled frame a tenant model learns from, and its input built from them.

:func:`select_features` decides once, at training time, and returns the *spec* (stored in the card):
a list of ``{"name", "kind"}`` entries, kind ``number``, ``flag`` or ``category`` (with ``levels``),
for the schema fields present and the own columns (``own:<header>``) that convert (columns.py), plus
``excluded`` {column: reason in plain words}. :func:`feature_frame` builds the model input from any
rows by that spec, identically at training and scoring time: numbers and flags float64, categories
pandas Categorical with the stored levels (XGBoost's native categorical splits), anything unknown or
absent missing.

Never features: ``customer_id``, ``churned`` and bookkeeping columns (names starting with ``_``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from retainwise.science import schema
from retainwise.science.tenant import columns, leakage

OWN = "own:"
LABEL = "churned"
#: Schema fields a tenant model never uses, with the reason for the card.
NEVER = {"gender": "left out on purpose: a churn score should not depend on a customer's gender"}


def candidates(rows: pd.DataFrame) -> tuple[list[str], list[str]]:
    """(schema fields, own columns) of ``rows`` that could be features, in schema / file order."""
    fields = [f for f in schema.FEATURES if f in rows.columns]
    own = [c for c in rows.columns if isinstance(c, str) and c.startswith(OWN)]
    return fields, own


def _schema_entry(name: str, values: pd.Series, n: int) -> dict | str:
    if name in NEVER:
        return NEVER[name]
    filled = values.dropna()
    if len(filled) < max(1, columns.MIN_FILLED * n):
        return "empty: (almost) no filled cells"
    if filled.nunique() < 2:
        return f"constant: every filled cell holds {filled.iloc[0]!r}"
    col = schema.column(name)
    if col.kind == "category":
        return {"name": name, "kind": "category", "levels": list(col.categories)}
    return {"name": name, "kind": col.kind}


def select_features(rows: pd.DataFrame, y: np.ndarray) -> tuple[list[dict], dict[str, str]]:
    """The feature spec for labelled ``rows`` (outcome ``y``, 0/1 per row) and the columns left out, with why.

    Leakage (leakage.py) is checked first, so an outcome column is named as leakage even when it would
    also have been left out for another reason (a cancellation date is a date too).
    """
    y = np.asarray(y, dtype="float64")
    fields, own = candidates(rows)
    spec, excluded = [], {}
    for name in fields + own:
        values = rows[name]
        text = columns.cells(values) if name in own else values
        reason = leakage.by_name(name, text) if name in own else None
        reason = reason or leakage.by_filling(text.notna().to_numpy(), y)
        entry = reason or (
            columns.describe(name, values, len(rows))
            if name in own
            else _schema_entry(name, values, len(rows))
        )
        if isinstance(entry, dict):
            entry = leakage.by_separation(_column(entry, rows), y) or entry
        if isinstance(entry, dict):
            spec.append(entry)
        else:
            excluded[name] = entry
    return spec, excluded


def _column(entry: dict, rows: pd.DataFrame) -> pd.Series | pd.Categorical:
    """One model input column for ``rows`` by its spec ``entry``."""
    name, n = entry["name"], len(rows)
    values = rows[name] if name in rows.columns else None
    if name.startswith(OWN):
        return columns.convert(entry, values, n)
    if entry["kind"] == "category":
        levels = list(entry["levels"])
        if values is None:
            return pd.Categorical.from_codes(np.full(n, -1, dtype=np.int16), categories=levels)
        text = values.astype("str").to_numpy()
        return pd.Categorical.from_codes(
            pd.Index(levels).get_indexer(text).astype(np.int16), categories=levels
        )
    if values is None:
        return pd.Series(np.full(n, np.nan))
    return pd.to_numeric(values, errors="coerce").astype("float64")


def feature_frame(rows: pd.DataFrame, spec: list[dict]) -> pd.DataFrame:
    """The model input for ``rows`` (canonical columns and ``own:`` text; any subset) by ``spec``.

    Columns exactly the spec's names, in its order; the index is ``rows``'s.
    """
    out = {}
    for entry in spec:
        values = _column(entry, rows)
        out[entry["name"]] = values.to_numpy() if isinstance(values, pd.Series) else values
    return pd.DataFrame(out, index=rows.index)


def names(spec: list[dict]) -> list[str]:
    """The feature names of ``spec``, in order."""
    return [entry["name"] for entry in spec]


def with_own_columns(
    rows: pd.DataFrame, raw: pd.DataFrame, canonical: pd.DataFrame, spec: list[dict]
) -> pd.DataFrame:
    """``rows`` (validated canonical rows of one chunk) with the own columns ``spec`` uses, as text from ``raw``
    (the chunk as uploaded), lined up by snapshot.kept_positions: what a tenant model scores."""
    from retainwise.science.snapshot import OWN_PREFIX, kept_positions

    wanted = [f["name"] for f in spec if f["name"].startswith(OWN_PREFIX)]
    if not wanted or not len(rows):
        return rows
    at, out = kept_positions(canonical, rows), rows.copy()
    for name in wanted:
        source = name[len(OWN_PREFIX) :]
        if source in raw.columns:
            out[name] = pd.Series(raw[source].astype("str").to_numpy()[at], index=rows.index, dtype="str")
    return out
