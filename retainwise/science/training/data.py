"""The labelled training file: reading it into canonical rows, and its profile."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from retainwise.errors import InputError
from retainwise.resources import TRAINING_DATA
from retainwise.science import schema
from retainwise.science.features import FULL_FEATURES


def load_training_rows(path: str | Path = TRAINING_DATA):
    """The training file as canonical rows plus the 0/1 label.

    Raises :class:`InputError` when the file is missing or has no churn label.
    """
    from retainwise.science.canonical import to_canonical
    from retainwise.science.mapping import map_columns
    from retainwise.science.reading import read_upload

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such training file. Pass --data with a labelled CSV.", code="no_file")
    upload = read_upload(path)
    canonical = to_canonical(upload.frame, map_columns(upload.frame))
    if "churned" not in canonical.columns:
        raise InputError(
            f"{path.name} has no churn label column (e.g. 'Churn'): it cannot be trained on.",
            code="no_label",
            column="churned",
        )
    canonical = canonical[canonical["churned"].notna()].reset_index(drop=True)
    return canonical, canonical["churned"].to_numpy(dtype="int64")


def profile(rows: pd.DataFrame, y: np.ndarray):
    """Per model column: kind, missing values, distinct values, a summary and the churn rate where missing.

    Returned as a pandas Styler whose caption gives rows and churn rate, and
    says what blank total charges are (customers in their first month, not
    billed yet) when that is what the file holds. Raises nothing.
    """
    records = []
    for name in FULL_FEATURES:
        values = rows[name] if name in rows.columns else pd.Series([None] * len(rows), dtype="object")
        missing = values.isna().to_numpy()
        kind = schema.column(name).kind
        if kind == "category" or not pd.api.types.is_numeric_dtype(values):
            top = values.dropna().astype(str).value_counts()
            summary = f"{top.index[0]} ({top.iloc[0] / max(1, len(values)):.0%})" if len(top) else ""
        elif kind == "flag":
            summary = f"yes {values.mean():.0%}"
        else:
            summary = f"median {values.median():.4g}, range {values.min():.4g}-{values.max():.4g}"
        records.append(
            {
                "column": name,
                "kind": kind,
                "missing": int(missing.sum()),
                "missing share": round(float(missing.mean()), 4),
                "distinct": int(values.nunique()),
                "summary": summary,
                "churn rate where missing": round(float(y[missing].mean()), 3) if missing.any() else None,
            }
        )
    caption = f"{len(y):,} customers, {y.mean():.1%} churned."
    if "total_charges" in rows.columns and "tenure_months" in rows.columns:
        blank = rows["total_charges"].isna()
        if blank.any():
            new = int((blank & (rows["tenure_months"].fillna(-1) == 0)).sum())
            caption += (
                f" total_charges is blank for {int(blank.sum())} customers, {new} of them in their "
                "first month (tenure 0, not billed yet): kept as missing, which the model learns."
            )
    frame = pd.DataFrame(records).set_index("column")
    return frame.style.set_caption(html.escape(caption)).format(precision=4, na_rep="", escape="html")
