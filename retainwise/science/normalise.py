"""Normalising mapped values into the canonical representation (see schema.py): the converters.

Each converter takes a column's texts (a frame's distinct values: canonical.py
calls them once per distinct text, never per row) and returns canonical values:

- junk tokens (``N/A``, ``-``, ``unknown``, ``#N/A``, blank, ...) become missing;
- numbers lose currency symbols and codes, spaces (also the thin and no-break
  spaces of European exports), ``%`` and apostrophes; ``(12.50)`` is negative.
  Whether ``,`` or ``.`` is the decimal mark is decided once per column from
  the values themselves (``1.234,50`` and ``12,5`` vote for a comma,
  ``1,234.50`` and ``12.5`` for a point), so a column is never read half one
  way and half the other;
- yes/no flags accept ``Y``/``N``, ``True``/``False``, ``1``/``0``, ``on``/``off``;
- categories go through spelling tables (``M2M``, ``One year``, ``2-Year``,
  ``biennial``, ``12 months``, ``quarterly``; plan tiers such as ``Starter`` or
  ``Pro monthly``; regions such as ``NA`` or ``Asia Pacific``), then the value
  itself in snake_case; a contract term in months or years counts as monthly
  below a year, annual below two years, two years from then on;
- tenure given in days or years (the header says so: the mapping's ``units``)
  becomes months, rounded to 0.1 month so that one day's rounding in the
  export never moves a customer across a whole-month boundary.

Values present in the file but not understood are missing in the canonical
frame and counted, with examples, in ``frame.attrs["not_understood"]`` for the
validation report.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from retainwise.science import schema
from retainwise.science.vocabulary import CATEGORY_SPELLINGS, FLAGS, JUNK

_CONTRACT_TERM = re.compile(r"^(\d+)\s*(months?|mos?|m|years?|yrs?|y)$")
_CURRENCY = re.compile(
    r"[\s\u00a0\u202f'’$€£¥₹%]|^(?:usd|eur|gbp|chf|cad|aud|sek|nok|dkk|kr)|(?:usd|eur|gbp|chf|cad|aud|sek|nok|dkk|kr)$"
)
#: Tenure unit (from the header) -> months per unit.
TENURE_UNITS = {"months": 1.0, "days": 12 / 365.25, "weeks": 12 / 52.1775, "years": 12.0}


def junk_key(s: pd.Series) -> pd.Series:
    """Lower-cased, stripped text with junk tokens as missing (NaN)."""
    s = s.astype("str").str.strip().str.lower()
    return s.mask(s.isin(JUNK))


def _spelling_key(s: pd.Series) -> pd.Series:
    return s.str.replace(r"[()\[\]]", "", regex=True).str.replace(r"[\s\-_/.,]+", " ", regex=True).str.strip()


def number_texts(values: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """``values`` as number text (junk NaN; currency, spaces and ``%`` gone; ``(x)`` as ``-x``), and each
    value's vote for a decimal comma and for a decimal point (bool arrays)."""
    s = junk_key(values)
    s = s.str.replace(_CURRENCY, "", regex=True)
    s = s.str.replace(r"^\((.*)\)$", r"-\1", regex=True)  # accounting negatives
    has_c, has_d = s.str.contains(",", regex=False), s.str.contains(".", regex=False)
    both = has_c & has_d
    comma_last = s.str.rfind(",") > s.str.rfind(".")
    comma_votes = (
        (both & comma_last)
        | (has_c & ~has_d & s.str.contains(r",(?:\d{1,2}|\d{4,})$"))
        | (has_d & ~has_c & (s.str.count(r"\.") > 1))
    )
    point_votes = (
        (both & ~comma_last)
        | (has_d & ~has_c & s.str.contains(r"\.(?:\d{1,2}|\d{4,})$"))
        | (has_c & ~has_d & (s.str.count(",") > 1))
    )
    return s, comma_votes.to_numpy(dtype=bool), point_votes.to_numpy(dtype=bool)


def read_numbers(s: pd.Series, decimal_comma: bool) -> pd.Series:
    """Number text from :func:`number_texts` read with the column's decimal mark (float64, NaN if not a number)."""
    if decimal_comma:
        s = s.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        s = s.str.replace(",", "", regex=False)
    # only plain decimal notation: "1e400", "inf" or "0x1f" are not amounts anyone exports
    s = s.where(s.str.fullmatch(r"[-+]?(?:\d+\.?\d*|\.\d+)", na=False))
    out = pd.to_numeric(s, errors="coerce").astype("float64")
    return out.where(np.isfinite(out))


def parse_numbers(values: pd.Series) -> pd.Series:
    """Numbers (float64, NaN when missing or not a number) from text like ``$1,234.50`` or ``1.234,50 €``.

    The decimal mark is the one most of ``values`` vote for (a point when they tie).
    """
    s, comma_votes, point_votes = number_texts(values)
    return read_numbers(s, comma_votes.sum() > point_votes.sum())


def flag_values(values: pd.Series) -> pd.Series:
    """Yes/no flags as 1.0 / 0.0 (NaN when missing or not a flag word)."""
    return junk_key(values).map(FLAGS).astype("float64")


def normalise_category(name: str, values: pd.Series) -> pd.Series:
    """Canonical category values (``str``, NaN when missing or unknown) for ``values`` of column ``name``."""
    col = schema.column(name)
    s = values.astype("str").str.strip().str.lower()
    keyed = _spelling_key(s)
    table = CATEGORY_SPELLINGS.get(name, {})
    # "none" is a real internet service value, so the spelling table speaks before junk tokens do
    mapped = keyed.map(table).astype("str") if table else pd.Series(np.nan, index=s.index, dtype="str")
    if name == "contract":
        term = keyed.str.extract(_CONTRACT_TERM)
        months = pd.to_numeric(term[0], errors="coerce") * np.where(
            term[1].str.startswith("y", na=False), 12, 1
        )
        by_term = (
            pd.Series(
                # a term under a year commits to no year (monthly, as "quarterly" is), then a year, two or more
                np.select(
                    [months < 12, months < 24, months >= 24], ["monthly", "annual", "two_year"], default=""
                ),
                index=s.index,
            )
            .replace("", np.nan)
            .astype("str")
        )
        mapped = mapped.fillna(by_term)
    snake = keyed.str.replace(" ", "_", regex=False)
    mapped = mapped.fillna(snake.where(snake.isin(col.categories)))
    return mapped.mask(s.isin(JUNK) & mapped.isna()).astype("str")


def value_fit(name: str, values: pd.Series) -> float | None:
    """Share (0..1) of the non-junk ``values`` that fit canonical column ``name``; None if all are junk.

    Used by the mapper as value-based evidence: a column whose values look
    like contract terms supports a mapping to ``contract``, and so on.
    """
    col = schema.column(name)
    present = values[junk_key(values).notna()]
    if present.empty:
        return None
    if col.kind == "id":
        return float(present.nunique() / len(present))
    if col.kind == "number":
        parsed = parse_numbers(present)
        ok = parsed.notna()
        if col.minimum is not None:
            ok &= parsed >= col.minimum
        return float(ok.mean())
    if col.kind == "flag":
        return float(flag_values(present).notna().mean())
    return float(normalise_category(name, present).notna().mean())


_JUNK_ANY_CASE = pa.array(
    sorted(JUNK | {j.upper() for j in JUNK} | {j.title() for j in JUNK}), pa.large_string()
)
_MISSING_TEXT = pa.scalar(None, pa.large_string())


def arrow_text(raw: pd.Series) -> pa.Array:
    """``raw`` as one Arrow large_string array (missing = null), whatever the frame's dtype."""
    if not isinstance(raw.dtype, pd.StringDtype):
        raw = raw.astype("str")
    arr = pa.array(raw.array)  # a str column is already Arrow: no copy, no Python objects
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if arr.type == pa.large_string() else arr.cast(pa.large_string())


def str_series(arr: pa.Array, index) -> pd.Series:
    """An Arrow text array as a pandas ``str`` column on ``index``, without a copy."""
    return pd.Series(pd.array(arr, dtype="str"), index=index, copy=False)


def id_values(raw: pd.Series) -> pd.Series:
    """Customer ids: stripped text, junk tokens missing (ids are never lower-cased or otherwise changed)."""
    # str.strip of a str column is utf8_trim_whitespace; done in Arrow it skips pandas' wrapping on every chunk.
    # Ids are mostly distinct: no lower-casing of 50,000 of them, compare with the usual spellings of junk.
    s = pc.utf8_trim_whitespace(arrow_text(raw))
    junk = pc.is_in(s, value_set=_JUNK_ANY_CASE)
    return str_series(pc.if_else(junk, _MISSING_TEXT, s) if pc.any(junk).as_py() else s, raw.index)
