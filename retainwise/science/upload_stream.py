"""An upload being read: its limits, its header and sample, then its rows chunk by chunk.

reading.py opens a file (format, encoding, dialect, where the header is) and hands its raw frames to
an :class:`UploadStream`, which names the columns (blank or repeated header names made unique:
``column_7``, ``Phone (2)``; blank-named columns empty in the sample left out), drops and counts blank
rows, and checks the limits as the chunks come: rows, cells (rows x columns) and the length of one
cell. The checks run on the cells' Arrow arrays, never a Python loop per cell.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from retainwise.errors import InputError

MAX_ROWS = 1_000_000
MAX_COLUMNS = 500
#: rows x columns: 1,000,000 customers with 50 columns, or 100,000 with 500.
MAX_CELLS = 50_000_000
#: The most characters a spreadsheet cell can hold (Excel's limit); longer is not a customer list.
MAX_CELL_CHARS = 32_767
#: Rows the column mapping looks at (and the sample a notebook shows).
SAMPLE_ROWS = 2000


@dataclass
class Limits:
    rows: int = MAX_ROWS
    columns: int = MAX_COLUMNS
    cells: int = MAX_CELLS


class UploadStream:
    """An upload being read: how it was read, its columns and sample, then its rows chunk by chunk.

    ``frame`` is the sample (the first :data:`SAMPLE_ROWS` customer rows);
    ``rows_read`` and ``blank_rows`` grow as :meth:`chunks` is consumed.
    """

    def __init__(
        self,
        name: str,
        fmt: str,
        encoding: str,
        delimiter: str | None,
        header: list[str],
        raw: Iterator[tuple[pd.DataFrame, int]],
        limits: Limits,
        skipped: int = 0,
        sheet: str | None = None,
    ) -> None:
        self.source_name, self.format, self.encoding, self.delimiter = name, fmt, encoding, delimiter
        self.skipped_lines, self.sheet, self.limits = skipped, sheet, limits
        self.rows_read = self.blank_rows = 0
        _check_cells(pd.DataFrame([header], dtype="str"), name, header_row=True)
        self._names = _names(header)
        self._raw = raw
        self._buffer: list[pd.DataFrame] = []
        seen = 0
        for frame, gaps in raw:  # the sample: enough rows for the mapping's value evidence
            self._buffer.append(self._finish(frame, gaps))
            seen += len(self._buffer[-1])
            if seen >= SAMPLE_ROWS:
                break
        body = pd.concat(self._buffer) if self._buffer else pd.DataFrame(columns=self._names, dtype="str")
        unnamed = [
            n
            for n, raw_name in zip(self._names, header, strict=True)
            if not str(raw_name).strip() and not body[n].str.strip().ne("").any()
        ]
        self._keep = [n for n in self._names if n not in unnamed]
        self.frame = body[self._keep].head(SAMPLE_ROWS)
        if self.frame.empty or not self._keep:
            raise InputError(
                f"{name} has a header but no customer rows: add one row per customer below the header.",
                code="no_rows",
            )

    @property
    def columns(self) -> list[str]:
        return list(self._keep)

    def _finish(self, frame: pd.DataFrame, gaps: int) -> pd.DataFrame:
        """Check one raw chunk, drop (and count) its blank rows, name its columns."""
        _check_cells(frame, self.source_name)
        frame.columns = self._names
        blank = _blank_rows(frame)
        self.blank_rows += gaps + len(blank)
        if len(blank):
            keep = np.ones(len(frame), dtype=bool)
            keep[blank] = False
            frame = frame.loc[keep]
        self.rows_read += len(frame)
        if self.rows_read > self.limits.rows:
            raise InputError(
                f"{self.source_name} has more than {self.limits.rows:,} rows, over the limit: split the "
                "file.",
                code="too_many_rows",
            )
        if self.rows_read * len(self._names) > self.limits.cells:
            raise InputError(
                f"{self.source_name} has more than {self.limits.cells:,} cells ({self.rows_read:,} rows x "
                f"{len(self._names)} columns), over the limit: remove columns you do not need or split "
                "the file.",
                code="too_many_cells",
            )
        return frame

    def chunks(self) -> Iterator[pd.DataFrame]:
        """The customer rows chunk by chunk (the sample's rows first); can be iterated once.

        Raises InputError when a limit is passed or the file turns out unreadable further down.
        """
        while self._buffer:
            yield self._buffer.pop(0)[self._keep]
        for frame, gaps in self._raw:
            yield self._finish(frame, gaps)[self._keep]


def _check_cells(frame: pd.DataFrame, name: str, header_row: bool = False) -> None:
    for col in range(frame.shape[1]):
        values = _arrow(frame.iloc[:, col])
        # a character takes at least one byte: only a column with a cell of more bytes is measured in characters
        if (pc.max(pc.binary_length(values)).as_py() or 0) <= MAX_CELL_CHARS:
            continue
        lengths = pc.utf8_length(values)
        longest = pc.max(lengths).as_py()
        if longest is not None and longest > MAX_CELL_CHARS:
            at = pc.index(lengths, longest).as_py()  # the first longest cell, as idxmax
            where = "the header" if header_row else f"row {int(frame.index[at]) + 2}"
            raise InputError(
                f"{name}: {where} has a cell of {int(longest):,} characters, over the limit of "
                f"{MAX_CELL_CHARS:,} (a spreadsheet cell's maximum): check the file is a customer list.",
                code="cell_too_long",
            )


def _arrow(values: pd.Series) -> pa.ChunkedArray:
    """A text column's cells as Arrow strings (the ``str`` dtype's own array, not a copy)."""
    data = values.array
    if hasattr(data, "__arrow_array__"):
        data = data.__arrow_array__()
    else:
        data = pa.array(values.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
    return data if isinstance(data, pa.ChunkedArray) else pa.chunked_array([data])


def _blank_rows(frame: pd.DataFrame) -> np.ndarray:
    """Positions of the rows whose cells are all empty or whitespace (a missing cell counts as filled).

    Whitespace is what Arrow's utf8_trim_whitespace trims, the same as pandas' ``str.strip()`` on Arrow
    strings. Column by column, only the rows still blank so far are looked at: usually the first column
    settles nearly every row.
    """
    undecided = None  # positions of the rows blank so far (None: all)
    for col in range(frame.shape[1]):
        values = _arrow(frame.iloc[:, col])
        if undecided is not None:
            values = values.take(undecided)
        blank = pc.fill_null(pc.equal(pc.binary_length(pc.utf8_trim_whitespace(values)), 0), False)
        where = pc.indices_nonzero(blank)
        undecided = where if undecided is None else undecided.take(where)
        if len(undecided) == 0:
            break
    if undecided is None:
        return np.arange(len(frame))
    return undecided.to_numpy()


def _names(header: list[str]) -> list[str]:
    names, seen = [], Counter()
    for i, raw in enumerate(header):
        name = re.sub(r"[\ufeff\u200b\u00a0]", " ", str(raw)).strip() or f"column_{i + 1}"
        seen[name] += 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names
