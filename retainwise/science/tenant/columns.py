"""A tenant's own columns (raw cell text, ``own:<header>``): what each one is, and its values as a model reads them.

:func:`describe` looks at one column of text and answers with a spec entry (``{"name", "kind", ...}``:
a number, a flag or a category) or with the plain-words reason it is left out (empty, constant, an id,
near-unique, free text, a date, too many categories). :func:`convert` turns cells into model input by a
spec entry, the same way at training and at scoring time:

- **number**: "1,234.5", "$12", "45%", "(3)" read as 1234.5, 12, 45, -3 (normalise.py's reading, with the
  decimal mark the training data voted for, stored in the spec so a small batch cannot read it otherwise);
  a column is a number when at least :data:`NUMERIC_SHARE` of its filled cells read as one.
- **flag**: yes/no, true/false, y/n, 1/0 (vocabulary.FLAGS) as 1.0/0.0.
- **category**: at most :data:`MAX_LEVELS` levels, each seen in at least :data:`MIN_LEVEL_SHARE` of the
  rows; rarer values, and values never seen in training, are missing.

Empty cells and junk tokens ("n/a", "-", "null", ...: vocabulary.JUNK) are missing everywhere.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from retainwise.science.normalise import number_texts, read_numbers
from retainwise.science.vocabulary import FLAGS, JUNK

NUMERIC_SHARE = 0.90
FLAG_SHARE = 0.98
MAX_LEVELS = 20
MIN_LEVEL_SHARE = 0.01
NEAR_UNIQUE = 0.90
DATE_SHARE = 0.5
MIN_FILLED = 0.01
FREE_TEXT_CHARS = 30
FREE_TEXT_WORDS = 4
_ID_WORDS = re.compile(
    r"(^|[^a-z])(id|ids|uuid|guid|key|ref|reference|number|no|nr|num|code|email|e-mail|"
    r"phone|name|url|token|hash)([^a-z]|$)",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}([ t]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?)?z?"
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}( \d{1,2}:\d{2}(:\d{2})?)?"
    r"|\d{1,2}[ -](jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?[ -,]*\d{2,4}"
    r"|(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4})\s*$",
    re.IGNORECASE,
)


def cells(values: pd.Series) -> pd.Series:
    """Stripped text of ``values`` (``str``), missing where empty or a junk token."""
    s = values.astype("str").str.strip()
    return s.mask(s.str.lower().isin(JUNK))


def numbers(text: pd.Series, decimal_comma: bool | None = None) -> tuple[pd.Series, bool]:
    """Cells (from :func:`cells`) read as float64 numbers (NaN otherwise), and the decimal mark used.

    ``decimal_comma`` ``None``: the one most cells vote for (a point on a tie).
    """
    s, comma_votes, point_votes = number_texts(text)
    if decimal_comma is None:
        decimal_comma = bool(comma_votes.sum() > point_votes.sum())
    return read_numbers(s, decimal_comma), decimal_comma


def flags(text: pd.Series) -> pd.Series:
    """Cells read as 1.0 / 0.0 (NaN when not a yes/no word)."""
    return text.str.lower().map(FLAGS).astype("float64")


def _date_share(text: pd.Series) -> float:
    return float(text.str.fullmatch(_DATE.pattern, case=False, na=False).mean())


def _is_free_text(text: pd.Series) -> bool:
    words = text.str.count(r"\s+") + 1
    return bool(text.str.len().mean() >= FREE_TEXT_CHARS or words.mean() >= FREE_TEXT_WORDS)


def describe(name: str, values: pd.Series, rows: int) -> dict | str:
    """The spec entry of own column ``name`` (raw text ``values``, ``rows`` labelled rows), or why it is left out."""
    text = cells(values).dropna()
    if len(text) < max(1, MIN_FILLED * rows):
        return "empty: (almost) no filled cells"
    distinct = text.nunique()
    if distinct == 1:
        return f"constant: every filled cell holds {text.iloc[0]!r}"
    if text.str.lower().isin(FLAGS.keys()).mean() >= FLAG_SHARE and flags(text).nunique() == 2:
        return {"name": name, "kind": "flag"}
    parsed, comma = numbers(text)
    if parsed.notna().mean() >= NUMERIC_SHARE:
        if distinct >= NEAR_UNIQUE * len(text) and _ID_WORDS.search(_label(name)) and (parsed % 1 == 0).all():
            return (
                f"an identifier: {distinct / len(text):.0%} of its values are distinct and its name says id"
            )
        return {"name": name, "kind": "number", "decimal_comma": comma}
    if _date_share(text) >= DATE_SHARE:
        return "a date: most cells read as dates (a date as such means nothing to the model)"
    if distinct >= NEAR_UNIQUE * len(text):
        if _is_free_text(text):
            return f"free text: {distinct / len(text):.0%} distinct, about {text.str.len().mean():.0f} characters each"
        if _ID_WORDS.search(_label(name)):
            return f"an identifier: {distinct / len(text):.0%} of its values are distinct"
        return f"near-unique: {distinct / len(text):.0%} of its values are distinct, like an id"
    if _is_free_text(text):
        return f"free text: about {text.str.len().mean():.0f} characters per cell"
    counts = text.value_counts()
    levels = sorted(str(v) for v in counts.index[counts >= MIN_LEVEL_SHARE * rows])
    if len(levels) > MAX_LEVELS:
        return f"too many categories: {len(levels)} values each on at least 1% of rows (at most {MAX_LEVELS})"
    if len(levels) < 2:
        return f"too scattered: {distinct} distinct values, fewer than two of them on 1% of rows"
    return {"name": name, "kind": "category", "levels": levels}


def _label(name: str) -> str:
    return name.split(":", 1)[1] if name.startswith("own:") else name


def convert(entry: dict, values: pd.Series | None, n: int) -> pd.Series | pd.Categorical:
    """Own column ``values`` (raw text; ``None`` when the rows lack it) as the model input ``entry`` describes."""
    kind = entry["kind"]
    if kind == "category":
        levels = list(entry["levels"])
        if values is None:
            return pd.Categorical.from_codes(np.full(n, -1, dtype=np.int16), categories=levels)
        codes = pd.Index(levels).get_indexer(cells(values).to_numpy())
        return pd.Categorical.from_codes(codes.astype(np.int16), categories=levels)
    if values is None:
        return pd.Series(np.full(n, np.nan))
    text = cells(values)
    if kind == "flag":
        return flags(text)
    return numbers(text, bool(entry.get("decimal_comma", False)))[0]
