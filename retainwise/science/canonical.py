"""Upload chunks into canonical columns: :class:`Normaliser` (a file's chunks) and :func:`to_canonical`.

Every column is normalised over its *distinct* values (Arrow dictionary
encoding) and the result is taken back to the rows (numpy / Arrow ``take``),
so a 100,000-row upload costs a handful of vectorised string operations per
column, never a Python loop per row. A file read in chunks goes through one
:class:`Normaliser`, which remembers what each distinct text became, so the
converters (normalise.py) see a text once per file, not once per chunk; its
results are exactly :func:`to_canonical`'s chunk by chunk.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from retainwise.science import normalise, schema
from retainwise.science.column import Column
from retainwise.science.vocabulary import CATEGORY_SPELLINGS

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
        converted = normalise.flag_values(new)
        lost = converted.isna() & normalise.junk_key(new).notna()
        self.values = self._padded(np.concatenate([self.values[:-1], converted.to_numpy()]), np.nan)
        self.lost = self._padded(np.concatenate([self.lost[:-1], lost.to_numpy(dtype=bool)]), False)

    def spread(self, codes: np.ndarray, found: pa.Array, index) -> tuple[pd.Series, np.ndarray]:
        return pd.Series(self.values.take(codes), index=index, copy=False), self.lost.take(codes)


class _CategoryMemo(_Memo):
    def clear(self) -> None:
        super().clear()
        self.values, self.lost = pa.array([], pa.large_string()), np.zeros(1, dtype=bool)

    def _add(self, new: pd.Series) -> None:
        converted = normalise.normalise_category(self.name, new)
        lost = converted.isna() & normalise.junk_key(new).notna()
        self.values = pa.concat_arrays([self.values, normalise.arrow_text(converted)])
        self.lost = self._padded(np.concatenate([self.lost[:-1], lost.to_numpy(dtype=bool)]), False)

    def spread(self, codes: np.ndarray, found: pa.Array, index) -> tuple[pd.Series, np.ndarray]:
        # taken in Arrow (a null code takes a null): the str column is built without a Python object per row
        return normalise.str_series(self.values.take(found), index), self.lost.take(codes)


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
        texts, comma, point = normalise.number_texts(new)
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
            more = normalise.read_numbers(self.texts.iloc[done:], decimal_comma).to_numpy()
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


def _conversion(col: Column) -> tuple:
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
        self._plan: list[tuple[Column, str, float | None]] = []
        # canonical column -> its memo (shared, see _conversion); None once the column turned out mostly distinct
        self._memos: dict[str, _Memo | None] = {}
        self._chunks = 0
        shared: dict[tuple, _Memo] = {}
        for col in schema.COLUMNS:
            if col.name not in by_target:
                continue
            source = by_target[col.name]
            unit = units.get(source, "months") if col.name == "tenure_months" else "months"
            self._plan.append((col, source, None if unit == "months" else normalise.TENURE_UNITS[unit]))
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
                out[col.name] = normalise.id_values(raw)
                continue
            shared = self._memos[col.name]
            # a mostly distinct column: a memo for this chunk only (a memo's truth is its length: test None)
            memo = _MEMOS[col.kind](col.name) if shared is None else shared
            text = normalise.arrow_text(raw)
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
