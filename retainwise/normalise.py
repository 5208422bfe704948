"""Normalising mapped values into the canonical representation (see schema.py).

Vectorised per column: text is lower-cased and mapped through spelling tables
(yes/no flags, contract terms, service values); money strings lose currency
symbols and thousands separators; junk tokens (``N/A``, ``-``, ``unknown``,
blank) become missing.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from . import schema

JUNK = {"", "na", "n/a", "nan", "none", "null", "-", "--", "unknown", "?"}
FLAGS = {"yes": 1.0, "y": 1.0, "true": 1.0, "t": 1.0, "1": 1.0, "1.0": 1.0,
         "no": 0.0, "n": 0.0, "false": 0.0, "f": 0.0, "0": 0.0, "0.0": 0.0}
CATEGORY_SPELLINGS = {
    "contract": {"month-to-month": "monthly", "month to month": "monthly", "monthly": "monthly", "m2m": "monthly",
                 "one year": "annual", "annual": "annual", "yearly": "annual", "12 months": "annual",
                 "1 year": "annual", "two year": "two_year", "two_year": "two_year", "2 year": "two_year",
                 "2-year": "two_year", "24 months": "two_year", "biennial": "two_year"},
    "internet_service": {"no": "none", "none": "none", "dsl": "dsl", "fiber optic": "fiber_optic",
                         "fiber_optic": "fiber_optic", "fibre optic": "fiber_optic", "fiber": "fiber_optic"},
    "payment_method": {"electronic check": "electronic_check", "mailed check": "mailed_check",
                       "bank transfer (automatic)": "bank_transfer", "bank transfer": "bank_transfer",
                       "credit card (automatic)": "credit_card", "credit card": "credit_card"},
}


def _text(series: pd.Series) -> pd.Series:
    s = series.astype("str").str.strip().str.lower()
    return s.mask(s.isin(JUNK))


def _number(series: pd.Series) -> pd.Series:
    s = _text(series).str.replace(r"[$€£\s]", "", regex=True).str.replace(",", "", regex=False)
    return pd.to_numeric(s, errors="coerce").astype("float64")


def _category(name: str, series: pd.Series) -> pd.Series:
    col = schema.column(name)
    s = _text(series)
    table = CATEGORY_SPELLINGS.get(name, {})
    mapped = s.map(lambda v: table.get(v, re.sub(r"[^a-z0-9]+", "_", v).strip("_")) if isinstance(v, str) else v)
    return mapped.where(mapped.isin(col.categories)).astype("str")


def to_canonical(frame: pd.DataFrame, mapping) -> pd.DataFrame:
    """Canonical columns (schema order) with canonical values, from ``frame`` and its mapping."""
    by_target = {target: source for source, target in mapping.mapping.items()}
    out = {}
    for col in schema.COLUMNS:
        if col.name not in by_target:
            continue
        raw = frame[by_target[col.name]]
        if col.kind == "id":
            s = raw.astype("str").str.strip()
            out[col.name] = s.mask(s == "")
        elif col.kind == "number":
            out[col.name] = _number(raw)
        elif col.kind == "flag":
            out[col.name] = _text(raw).map(FLAGS).astype("float64")
        else:
            out[col.name] = _category(col.name, raw)
    result = pd.DataFrame(out, index=frame.index)
    for name, values in result.items():
        if schema.column(name).kind == "category":
            result[name] = values.where(values.notna(), np.nan)
    return result
