"""Normalising mapped values into the canonical representation (see schema.py).

Every column is normalised over its *distinct* values (``pandas.factorize``)
and the result is broadcast back, so a 100,000-row upload costs a handful of
vectorised string operations per column, never a Python loop per row.

- junk tokens (``N/A``, ``-``, ``unknown``, ``#N/A``, blank, ...) become missing;
- numbers lose currency symbols and codes, spaces (also the thin and no-break
  spaces of European exports), ``%`` and apostrophes; ``(12.50)`` is negative.
  Whether ``,`` or ``.`` is the decimal mark is decided once per column from
  the values themselves (``1.234,50`` and ``12,5`` vote for a comma,
  ``1,234.50`` and ``12.5`` for a point), so a column is never read half one
  way and half the other;
- yes/no flags accept ``Y``/``N``, ``True``/``False``, ``1``/``0``, ``on``/``off``;
- categories go through spelling tables (``M2M``, ``One year``, ``2-Year``,
  ``biennial``, ``12 months`` ...), then the value itself in snake_case;
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

from retainwise.science import schema

JUNK = frozenset(
    {
        "",
        "na",
        "n/a",
        "n.a.",
        "nan",
        "none",
        "null",
        "nil",
        "-",
        "--",
        "---",
        "?",
        "??",
        "unknown",
        "unk",
        "#n/a",
        "#na",
        "#value!",
        "#ref!",
        "#div/0!",
        "#num!",
        "#null!",
        "#name?",
        "missing",
        "not available",
        "not applicable",
        "undefined",
        "(blank)",
        "blank",
        ".",
        "tbd",
        "n.v.",
        "k.a.",
    }
)
FLAGS = {
    "yes": 1.0,
    "y": 1.0,
    "true": 1.0,
    "t": 1.0,
    "1": 1.0,
    "1.0": 1.0,
    "on": 1.0,
    "x": 1.0,
    "ja": 1.0,
    "oui": 1.0,
    "si": 1.0,
    "sí": 1.0,
    "no": 0.0,
    "n": 0.0,
    "false": 0.0,
    "f": 0.0,
    "0": 0.0,
    "0.0": 0.0,
    "off": 0.0,
    "nein": 0.0,
    "non": 0.0,
}
_YES_NO = {
    "yes": "yes",
    "y": "yes",
    "true": "yes",
    "t": "yes",
    "1": "yes",
    "1.0": "yes",
    "on": "yes",
    "no": "no",
    "n": "no",
    "false": "no",
    "f": "no",
    "0": "no",
    "0.0": "no",
    "off": "no",
}
_ADDON = {
    **_YES_NO,
    "no internet service": "no_internet_service",
    "no internet": "no_internet_service",
    "no_internet_service": "no_internet_service",
    "not subscribed to internet": "no_internet_service",
}
CATEGORY_SPELLINGS: dict[str, dict[str, str]] = {
    "contract": {
        "month to month": "monthly",
        "monthly": "monthly",
        "month": "monthly",
        "m2m": "monthly",
        "mtm": "monthly",
        "1 month": "monthly",
        "1 mo": "monthly",
        "rolling": "monthly",
        "monthly rolling": "monthly",
        "no contract": "monthly",
        "pay as you go": "monthly",
        "payg": "monthly",
        "mo": "monthly",
        "one year": "annual",
        "annual": "annual",
        "annually": "annual",
        "yearly": "annual",
        "year": "annual",
        "12 months": "annual",
        "12 month": "annual",
        "12 mo": "annual",
        "1 year": "annual",
        "1 yr": "annual",
        "1yr": "annual",
        "12m": "annual",
        "1y": "annual",
        "yr": "annual",
        "annual contract": "annual",
        "two year": "two_year",
        "two_year": "two_year",
        "two years": "two_year",
        "2 year": "two_year",
        "2 years": "two_year",
        "2 yr": "two_year",
        "2yr": "two_year",
        "2y": "two_year",
        "24 months": "two_year",
        "24 month": "two_year",
        "24 mo": "two_year",
        "24m": "two_year",
        "biennial": "two_year",
        "biannual": "two_year",
        "bi annual": "two_year",
        "2 year contract": "two_year",
    },
    "internet_service": {
        "no": "none",
        "none": "none",
        "no internet": "none",
        "no internet service": "none",
        "dsl": "dsl",
        "adsl": "dsl",
        "vdsl": "dsl",
        "fiber optic": "fiber_optic",
        "fibre optic": "fiber_optic",
        "fiber": "fiber_optic",
        "fibre": "fiber_optic",
        "ftth": "fiber_optic",
        "fttp": "fiber_optic",
    },
    "payment_method": {
        "electronic check": "electronic_check",
        "e check": "electronic_check",
        "echeck": "electronic_check",
        "electronic cheque": "electronic_check",
        "mailed check": "mailed_check",
        "mailed cheque": "mailed_check",
        "check": "mailed_check",
        "cheque": "mailed_check",
        "check by mail": "mailed_check",
        "bank transfer automatic": "bank_transfer",
        "bank transfer": "bank_transfer",
        "direct debit": "bank_transfer",
        "ach": "bank_transfer",
        "sepa": "bank_transfer",
        "sepa direct debit": "bank_transfer",
        "wire transfer": "bank_transfer",
        "bank": "bank_transfer",
        "credit card automatic": "credit_card",
        "credit card": "credit_card",
        "card": "credit_card",
        "cc": "credit_card",
        "visa": "credit_card",
        "mastercard": "credit_card",
        "amex": "credit_card",
        "debit card": "credit_card",
    },
    "gender": {
        "female": "female",
        "f": "female",
        "woman": "female",
        "w": "female",
        "male": "male",
        "m": "male",
        "man": "male",
    },
    "multiple_lines": {**_YES_NO, "no phone service": "no_phone_service", "no phone": "no_phone_service"},
    **{
        name: _ADDON
        for name in (
            "online_security",
            "online_backup",
            "device_protection",
            "tech_support",
            "streaming_tv",
            "streaming_movies",
        )
    },
}
_CONTRACT_TERM = re.compile(r"^(\d+)\s*(months?|mos?|m|years?|yrs?|y)$")
_CURRENCY = re.compile(
    r"[\s\u00a0\u202f'’$€£¥₹%]|^(?:usd|eur|gbp|chf|cad|aud|sek|nok|dkk|kr)|(?:usd|eur|gbp|chf|cad|aud|sek|nok|dkk|kr)$"
)
#: Tenure unit (from the header) -> months per unit.
TENURE_UNITS = {"months": 1.0, "days": 12 / 365.25, "weeks": 12 / 52.1775, "years": 12.0}


def _key(s: pd.Series) -> pd.Series:
    """Lower-cased, stripped text with junk tokens as missing (NaN)."""
    s = s.astype("str").str.strip().str.lower()
    return s.mask(s.isin(JUNK))


def _spelling_key(s: pd.Series) -> pd.Series:
    return s.str.replace(r"[()\[\]]", "", regex=True).str.replace(r"[\s\-_/.,]+", " ", regex=True).str.strip()


def _distinct(raw: pd.Series) -> tuple[np.ndarray, pd.Series]:
    codes, uniques = pd.factorize(raw.astype("str"), use_na_sentinel=True)
    return codes, pd.Series(np.asarray(uniques, dtype=object), dtype="str")


def _spread(codes: np.ndarray, values: pd.Series, index, dtype) -> pd.Series:
    """``values`` (one per distinct value) taken back to every row; code -1 (missing) takes a NaN."""
    padded = pd.concat([values.astype(dtype), pd.Series([np.nan], dtype=dtype)], ignore_index=True)
    out = padded.take(codes)
    out.index = index
    return out


def parse_numbers(values: pd.Series) -> pd.Series:
    """Numbers (float64, NaN when missing or not a number) from text like ``$1,234.50`` or ``1.234,50 €``."""
    s = _key(values)
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
    if comma_votes.sum() > point_votes.sum():
        s = s.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        s = s.str.replace(",", "", regex=False)
    # only plain decimal notation: "1e400", "inf" or "0x1f" are not amounts anyone exports
    s = s.where(s.str.fullmatch(r"[-+]?(?:\d+\.?\d*|\.\d+)", na=False))
    out = pd.to_numeric(s, errors="coerce").astype("float64")
    return out.where(np.isfinite(out))


def _by_distinct(raw: pd.Series, convert, dtype: str) -> tuple[pd.Series, pd.Series]:
    """``convert`` applied to the distinct values of ``raw``, spread back; plus the not-understood mask."""
    codes, uniques = _distinct(raw)
    converted = convert(uniques)
    lost = (converted.isna() & _key(uniques).notna()).astype("float64")
    return _spread(codes, converted, raw.index, dtype), _spread(codes, lost, raw.index, "float64").eq(1.0)


def _flag_values(values: pd.Series) -> pd.Series:
    return _key(values).map(FLAGS).astype("float64")


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
                np.select(
                    [months == 1, months == 12, months == 24], ["monthly", "annual", "two_year"], default=""
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
    present = values[_key(values).notna()]
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
        return float(_flag_values(present).notna().mean())
    return float(normalise_category(name, present).notna().mean())


_JUNK_ANY_CASE = frozenset(JUNK | {j.upper() for j in JUNK} | {j.title() for j in JUNK})


def _id(raw: pd.Series) -> pd.Series:
    s = raw.astype("str").str.strip()
    # ids are mostly distinct: skip lower-casing 100,000 of them, compare with the usual spellings of junk
    return s.mask(s.isin(_JUNK_ANY_CASE))


def to_canonical(frame: pd.DataFrame, mapping) -> pd.DataFrame:
    """Canonical columns (schema order) with canonical values, from ``frame`` and its ``mapping``.

    ``mapping`` is a :class:`~retainwise.science.mapping.ColumnMapping` (``.mapping``
    source -> canonical, optional ``.units`` source -> ``days``/``weeks``/``years``).
    The result's ``attrs["not_understood"]`` maps canonical column ->
    ``{"count", "examples", "rows"}`` (index labels) for values present but not understood.
    """
    by_target = {target: source for source, target in mapping.mapping.items()}
    units = getattr(mapping, "units", {}) or {}
    out: dict[str, pd.Series] = {}
    not_understood: dict[str, dict] = {}
    for col in schema.COLUMNS:
        if col.name not in by_target:
            continue
        source = by_target[col.name]
        raw = frame[source]
        if col.kind == "id":
            out[col.name] = _id(raw)
            continue
        if col.kind == "number":
            values, lost = _by_distinct(raw, parse_numbers, "float64")
            if col.name == "tenure_months" and units.get(source, "months") != "months":
                values = (values * TENURE_UNITS[units[source]]).round(1)
        elif col.kind == "flag":
            values, lost = _by_distinct(raw, _flag_values, "float64")
        else:
            values, lost = _by_distinct(raw, lambda u, n=col.name: normalise_category(n, u), "str")
        out[col.name] = values
        if lost.any():
            not_understood[col.name] = {
                "count": int(lost.sum()),
                "rows": tuple(frame.index[lost.to_numpy()].tolist()),
                "examples": list(dict.fromkeys(raw[lost].astype("str")))[:5],
            }
    result = pd.DataFrame(out, index=frame.index)
    result.attrs["not_understood"] = not_understood
    return result
