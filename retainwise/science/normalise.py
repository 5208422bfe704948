"""Normalising mapped values into the canonical representation (see schema.py).

Every column is normalised over its *distinct* values (Arrow dictionary
encoding) and the result is taken back to the rows (numpy / Arrow ``take``),
so a 100,000-row upload costs a handful of vectorised string operations per
column, never a Python loop per row. A file read in chunks goes through one
:class:`Normaliser`, which remembers what each distinct text became, so the
converters see a text once per file, not once per chunk; its results are
exactly :func:`to_canonical`'s chunk by chunk.

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
from retainwise.science.vocabulary import _ADDON, _YES_NO, CATEGORY_SPELLINGS, FLAGS, JUNK  # noqa: F401 - re-exported

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


def _number_texts(values: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """``values`` as number text (junk NaN; currency, spaces and ``%`` gone; ``(x)`` as ``-x``), and each
    value's vote for a decimal comma and for a decimal point (bool arrays)."""
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
    return s, comma_votes.to_numpy(dtype=bool), point_votes.to_numpy(dtype=bool)


def _read_numbers(s: pd.Series, decimal_comma: bool) -> pd.Series:
    """Number text from :func:`_number_texts` read with the column's decimal mark (float64, NaN if not a number)."""
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
    s, comma_votes, point_votes = _number_texts(values)
    return _read_numbers(s, comma_votes.sum() > point_votes.sum())


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


_JUNK_ANY_CASE = pa.array(
    sorted(JUNK | {j.upper() for j in JUNK} | {j.title() for j in JUNK}), pa.large_string()
)
_MISSING_TEXT = pa.scalar(None, pa.large_string())


def _text(raw: pd.Series) -> pa.Array:
    """``raw`` as one Arrow large_string array (missing = null), whatever the frame's dtype."""
    if not isinstance(raw.dtype, pd.StringDtype):
        raw = raw.astype("str")
    arr = pa.array(raw.array)  # a str column is already Arrow: no copy, no Python objects
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr if arr.type == pa.large_string() else arr.cast(pa.large_string())


def _str_series(arr: pa.Array, index) -> pd.Series:
    return pd.Series(pd.array(arr, dtype="str"), index=index, copy=False)


def _id(raw: pd.Series) -> pd.Series:
    # str.strip of a str column is utf8_trim_whitespace; done in Arrow it skips pandas' wrapping on every chunk.
    # Ids are mostly distinct: no lower-casing of 50,000 of them, compare with the usual spellings of junk.
    s = pc.utf8_trim_whitespace(_text(raw))
    junk = pc.is_in(s, value_set=_JUNK_ANY_CASE)
    return _str_series(pc.if_else(junk, _MISSING_TEXT, s) if pc.any(junk).as_py() else s, raw.index)


#: Distinct raw texts one memo holds; past it, it forgets and starts again from the chunk at hand (every
#: chunk's lookup builds a hash table of all a memo holds, so it must not grow without end).
MEMO_LIMIT = 200_000
#: A column whose later chunk brings more new texts than this and than a quarter of its cells is mostly
#: distinct (amounts to the cent over a million customers): remembering gains nothing and costs a lookup,
#: so from then on each of its chunks is converted on its own, as to_canonical does.
MOSTLY_NEW = 1000


class _Memo:
    """Distinct raw texts (``keys``, in the order met) and what each was converted to, for the columns
    that convert text alike (all flags; all numbers; categories with the same spellings and categories).

    Subclasses convert new texts (:meth:`_add`) and spread the converted values over a chunk's rows
    (:meth:`spread`, from ``codes``: per row the position in ``keys``, -1 where the cell is missing).
    """

    def __init__(self, name: str):
        self.name = name  # a category memo converts as this column does, as do the others sharing it
        self.clear()

    def clear(self) -> None:
        self.keys = pa.array([], pa.large_string())

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, new: pa.Array) -> None:
        """Convert ``new`` (distinct texts, none already in ``keys``) and remember them."""
        self._add(pd.Series(pd.array(new, dtype="str")))
        self.keys = pa.concat_arrays([self.keys, new]) if len(self.keys) else new

    def codes(self, arr: pa.Array) -> tuple[pa.Array, int]:
        """Per row of ``arr``, its position in ``keys`` (null where missing), new texts converted first;
        and how many texts were new."""
        if len(self.keys):
            found = pc.index_in(arr, value_set=self.keys)
            if found.null_count == arr.null_count:  # the usual case after the first chunk: nothing new
                return found, 0
            new = pc.unique(arr.filter(pc.and_(found.is_null(), arr.is_valid())))
            if len(self.keys) + len(new) <= MEMO_LIMIT:
                self.add(new)
                return pc.index_in(arr, value_set=self.keys), len(new)
            self.clear()
        encoded = arr.dictionary_encode()  # one pass: codes, and the distinct texts in the order met
        self.add(encoded.dictionary)
        return encoded.indices, len(encoded.dictionary)

    @staticmethod
    def _padded(values: np.ndarray, missing) -> np.ndarray:
        """``values`` plus one trailing entry for code -1 (a missing cell), so a row's value is one take."""
        return np.append(values, np.array([missing], dtype=values.dtype))


class _FlagMemo(_Memo):
    def clear(self) -> None:
        super().clear()
        self.values, self.lost = self._padded(np.empty(0), np.nan), np.zeros(1, dtype=bool)

    def _add(self, new: pd.Series) -> None:
        converted = _flag_values(new)
        lost = converted.isna() & _key(new).notna()
        self.values = self._padded(np.concatenate([self.values[:-1], converted.to_numpy()]), np.nan)
        self.lost = self._padded(np.concatenate([self.lost[:-1], lost.to_numpy(dtype=bool)]), False)

    def spread(self, codes: np.ndarray, found: pa.Array, index) -> tuple[pd.Series, np.ndarray]:
        return pd.Series(self.values.take(codes), index=index, copy=False), self.lost.take(codes)


class _CategoryMemo(_Memo):
    def clear(self) -> None:
        super().clear()
        self.values, self.lost = pa.array([], pa.large_string()), np.zeros(1, dtype=bool)

    def _add(self, new: pd.Series) -> None:
        converted = normalise_category(self.name, new)
        lost = converted.isna() & _key(new).notna()
        self.values = pa.concat_arrays([self.values, _text(converted)])
        self.lost = self._padded(np.concatenate([self.lost[:-1], lost.to_numpy(dtype=bool)]), False)

    def spread(self, codes: np.ndarray, found: pa.Array, index) -> tuple[pd.Series, np.ndarray]:
        # taken in Arrow (a null code takes a null): the str column is built without a Python object per row
        return _str_series(self.values.take(found), index), self.lost.take(codes)


class _NumberMemo(_Memo):
    """Numbers are read with the decimal mark the *chunk's* distinct values vote for (as parse_numbers
    decides for one call), so each text keeps its votes and is read with each mark the first time a
    chunk needs that mark."""

    def clear(self) -> None:
        super().clear()
        self.texts = pd.Series([], dtype="str")
        self.comma_votes, self.point_votes = np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
        self.present = np.zeros(0, dtype=bool)  # not a junk token
        self.read: dict[bool, tuple[np.ndarray, np.ndarray]] = {}  # decimal comma? -> (values, lost), padded

    def _add(self, new: pd.Series) -> None:
        texts, comma, point = _number_texts(new)
        self.texts = pd.concat([self.texts, texts], ignore_index=True) if len(self.texts) else texts
        self.comma_votes = np.concatenate([self.comma_votes, comma])
        self.point_votes = np.concatenate([self.point_votes, point])
        self.present = np.concatenate([self.present, texts.notna().to_numpy()])

    def _values(self, decimal_comma: bool) -> tuple[np.ndarray, np.ndarray]:
        values, lost = self.read.get(
            decimal_comma, (self._padded(np.empty(0), np.nan), np.zeros(1, dtype=bool))
        )
        done = len(values) - 1
        if done < len(self.texts):
            more = _read_numbers(self.texts.iloc[done:], decimal_comma).to_numpy()
            values = self._padded(np.concatenate([values[:-1], more]), np.nan)
            lost = self._padded(np.concatenate([lost[:-1], np.isnan(more) & self.present[done:]]), False)
            self.read[decimal_comma] = values, lost
        return values, lost

    def spread(self, codes: np.ndarray, found: pa.Array, index) -> tuple[pd.Series, np.ndarray]:
        in_chunk = np.bincount(codes + 1, minlength=len(self.texts) + 1)[1:] > 0
        decimal_comma = self.comma_votes[in_chunk].sum() > self.point_votes[in_chunk].sum()
        values, lost = self._values(bool(decimal_comma))
        return pd.Series(values.take(codes), index=index, copy=False), lost.take(codes)


_MEMOS = {"number": _NumberMemo, "flag": _FlagMemo, "category": _CategoryMemo}


def _conversion(col: schema.Column) -> tuple:
    """What a column's conversion of one text depends on: columns with the same key convert alike."""
    if col.kind != "category":  # parse_numbers' decimal mark is decided per column and chunk, not per text
        return (col.kind,)
    table = CATEGORY_SPELLINGS.get(col.name) or {}
    return (col.kind, col.name == "contract", col.categories, tuple(sorted(table.items())))


class Normaliser:
    """:func:`to_canonical` for the chunks of one file: ``Normaliser(mapping).canonical(chunk)`` per chunk.

    It remembers each distinct raw text it has converted (value and whether it was understood), so a text
    is converted once per file, not once per chunk: the chunks of one upload share nearly all their
    distinct values. Columns that convert text alike share what they remember (``Yes`` is met once for
    every flag column, once for the six internet add-ons). A chunk's result is exactly
    ``to_canonical(chunk, mapping)``'s, whatever came before it (numbers still take the decimal mark their
    own column in their own chunk votes for). Memory: at most :data:`MEMO_LIMIT` texts per memo; a column
    of mostly distinct values stops being remembered (:data:`MOSTLY_NEW`). Not thread-safe: one file, one
    thread.
    """

    def __init__(self, mapping):
        by_target = {target: source for source, target in mapping.mapping.items()}
        units = getattr(mapping, "units", {}) or {}
        self._plan: list[tuple[schema.Column, str, float | None]] = []
        # canonical column -> its memo (shared, see _conversion); None once the column turned out mostly distinct
        self._memos: dict[str, _Memo | None] = {}
        self._chunks = 0
        shared: dict[tuple, _Memo] = {}
        for col in schema.COLUMNS:
            if col.name not in by_target:
                continue
            source = by_target[col.name]
            unit = units.get(source, "months") if col.name == "tenure_months" else "months"
            self._plan.append((col, source, None if unit == "months" else TENURE_UNITS[unit]))
            if col.kind != "id":
                key = _conversion(col)
                shared.setdefault(key, _MEMOS[col.kind](col.name))
                self._memos[col.name] = shared[key]

    def canonical(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Canonical columns of ``frame`` (one chunk of the file); see :func:`to_canonical`."""
        out: dict[str, pd.Series] = {}
        not_understood: dict[str, dict] = {}
        for col, source, per_unit in self._plan:
            raw = frame[source]
            if col.kind == "id":
                out[col.name] = _id(raw)
                continue
            shared = self._memos[col.name]
            # a mostly distinct column: a memo for this chunk only (a memo's truth is its length: test None)
            memo = _MEMOS[col.kind](col.name) if shared is None else shared
            text = _text(raw)
            found, new = memo.codes(text)
            codes = pc.fill_null(found, -1).to_numpy()
            values, lost = memo.spread(codes, found, frame.index)
            if per_unit is not None:
                values = (values * per_unit).round(1)
            out[col.name] = values
            if lost.any():
                lost_codes = codes[lost]
                _, first = np.unique(lost_codes, return_index=True)  # each text's first lost row
                not_understood[col.name] = {
                    "count": int(lost.sum()),
                    "rows": tuple(frame.index[lost].tolist()),
                    "examples": memo.keys.take(lost_codes[np.sort(first)[:5]]).to_pylist(),
                }
            if (
                shared is not None
                and self._chunks
                and new > max(MOSTLY_NEW, (len(text) - text.null_count) / 4)
            ):
                self._memos[col.name] = None
                shared.clear()  # what it brought would only make the other columns' lookups slower
        self._chunks += 1
        result = pd.DataFrame(out, index=frame.index)
        result.attrs["not_understood"] = not_understood
        return result


def to_canonical(frame: pd.DataFrame, mapping) -> pd.DataFrame:
    """Canonical columns (schema order) with canonical values, from ``frame`` and its ``mapping``.

    ``mapping`` is a :class:`~retainwise.science.mapping.ColumnMapping` (``.mapping``
    source -> canonical, optional ``.units`` source -> ``days``/``weeks``/``years``).
    The result's ``attrs["not_understood"]`` maps canonical column ->
    ``{"count", "examples", "rows"}`` (index labels; examples: the first 5 distinct raw texts) for
    values present but not understood. A file read in chunks: :class:`Normaliser`, same results.
    """
    return Normaliser(mapping).canonical(frame)
