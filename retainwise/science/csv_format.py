"""A CSV upload's encoding and dialect, and its records streamed in frames.

- Encoding: :mod:`retainwise.science.encoding`.
- Delimiter: ``,`` ``;`` tab or ``|``, whichever splits the sample into the
  most consistent field counts (quoted fields with delimiters and newlines are
  parsed as CSV, not as lines). Title lines above the header ("Customer
  export, 1 May") are skipped: the header is the first row with the modal
  field count.
- Records of a UTF-8 file (with or without byte-order mark) with no title
  lines and at least two columns are read by Arrow's streaming CSV reader
  (1 MiB blocks, cells handed to pandas as Arrow strings: no Python objects),
  cut into frames of exactly the chunk size. They equal what pandas' C parser
  reads (tests/test_reading.py compares both). pandas reads instead where
  Arrow reads differently:
  - found before reading: other encodings, title lines, one column (pandas
    skips whitespace-only lines; Arrow keeps them and cannot tell them from a
    quoted "  "), a second byte-order mark (pandas strips it), a blank line
    ended by a lone CR before a row starting with an empty cell (pandas drops
    that cell and shifts the row left: a pandas quirk kept for sameness);
  - found while reading, from the first frame not yet handed out on (pandas
    parses the records before it again and skips them): a row of another width
    (padding, too many values), a whitespace-only line, a record longer than a
    block, any other Arrow error, and a file that may end inside a quoted field
    (Arrow reads an unclosed quote to the end; pandas refuses the file). Arrow's
    blocks never end between a CR and an LF (Arrow 26 loses such an LF inside a
    quoted value).
- pandas' C parser reads in chunks; a row shorter than the header is padded
  with empty cells; a row longer than the header switches to Python's csv
  module from that row on (extra cells must be empty: spreadsheets pad rows
  with delimiters).
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from retainwise.errors import InputError
from retainwise.science.encoding import BOMS, READ_BLOCK, SNIFF_CHARS

DELIMITERS = (",", ";", "\t", "|")
SNIFF_ROWS = 200
#: Encodings Arrow reads as they are (it reads UTF-8 and skips one UTF-8 byte-order mark).
_ARROW_ENCODINGS = ("utf-8", "utf-8-sig")
_ARROW_BLOCK = 1 << 20
#: More than reading.py's column limit: a wider header gets non-text columns and falls back to pandas.
_ARROW_MAX_COLUMNS = 1024
#: Whether Arrow parses on its own threads (read ahead while the caller works on a chunk).
_ARROW_THREADS = True


def _fail(message: str, code: str) -> InputError:
    return InputError(message, code=code)


def sniff(text: str) -> tuple[str, int, int]:
    """(delimiter, lines above the header, header width) for the start of a CSV ``text``."""
    sample = text[:SNIFF_CHARS]
    truncated = len(text) > SNIFF_CHARS
    best, best_score = (",", 0, 1), (-1.0, 0, 0)
    for delim in DELIMITERS:
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delim)
        rows: list[
            tuple[int, int, int]
        ] = []  # (physical line where the record starts, fields, filled fields)
        try:
            start = 0
            for record in reader:
                filled = sum(bool(cell.strip()) for cell in record)
                if filled:
                    rows.append((start, len(record), filled))
                start = reader.line_num
                if len(rows) >= SNIFF_ROWS:
                    break
        except csv.Error:
            continue
        if truncated and 1 < len(rows) < SNIFF_ROWS:
            rows.pop()  # the last record may be cut off
        if not rows:
            continue
        widths = Counter(n for _, n, _ in rows)
        modal = max(widths, key=lambda n: (widths[n], n))
        if modal < 2:
            continue
        # the header: the first row as wide as the table and at least half filled (not "Generated 1 May,,")
        header_at = next(
            (i for i, (_, n, k) in enumerate(rows) if n == modal and 2 * k >= n),
            next(i for i, (_, n, _) in enumerate(rows) if n == modal),
        )
        body = rows[header_at + 1 :]
        consistency = sum(n == modal for _, n, _ in body) / len(body) if body else 1.0
        score = (round(consistency, 2), len(body), modal)  # prefer reading every row, then more columns
        if score > best_score:
            best_score, best = score, (delim, rows[header_at][0], modal)
    if best_score[0] < 0:  # one column: any delimiter reads it the same
        return ",", 0, 1
    return best


def header_width(text: str, delimiter: str, skipped: int) -> int:
    """Fields in the first record after ``skipped`` lines of ``text`` (1 when it cannot be parsed)."""
    lines = io.StringIO(text, newline="")
    for _ in range(skipped):
        lines.readline()
    try:
        return len(next(csv.reader(lines, delimiter=delimiter), [""]))
    except csv.Error:
        return 1


def _open_text(path: Path, encoding: str, skipped: int):
    fh = open(path, encoding=encoding, newline="")  # noqa: SIM115 - handed to the caller, who closes it
    for _ in range(skipped):
        fh.readline()
    return fh


def frames(
    path: Path, encoding: str, delimiter: str, skipped: int, chunk_rows: int, name: str
) -> Iterator[pd.DataFrame]:
    """The file's records as frames of text (columns 0..width-1, index = record number, 0 = the header).

    Raises InputError for a file that is not CSV (unbalanced quotes) and for a
    row with more values than the header.
    """
    if skipped == 0 and encoding in _ARROW_ENCODINGS and _arrow_can_read(path, delimiter):
        yield from _arrow_frames(path, encoding, delimiter, chunk_rows, name)
    else:
        yield from _pandas_frames(path, encoding, delimiter, skipped, chunk_rows, name)


def _arrow_can_read(path: Path, delimiter: str) -> bool:
    """Whether nothing in the file reads differently in Arrow than in pandas' C parser (see the docstring)."""
    # pandas drops the first (empty) field of a record that follows a blank line ended by a lone CR
    # ("a,b\r\r,2\r" reads as ["2", ""]); Arrow reads ["", "2"]. Rare (old Mac exports), so such files keep
    # pandas' reading rather than read differently depending on where a fallback happened.
    shifted = (b"\r\r" + delimiter.encode(), b"\n\r" + delimiter.encode())
    with open(path, "rb") as fh:
        block = fh.read(READ_BLOCK)
        bom = BOMS[0][0]
        if block.startswith(bom * 2):
            return False  # pandas strips a second byte-order mark, Arrow keeps it in the first header cell
        tail = b"\n"  # the start of the file is the start of a line
        block = block.removeprefix(bom)
        while block:
            if b"\r" in block:
                window = tail + block
                if shifted[0] in window or shifted[1] in window:
                    return False
            tail = block[-2:]
            block = fh.read(READ_BLOCK)
    return True


def _arrow_frames(
    path: Path, encoding: str, delimiter: str, chunk_rows: int, name: str
) -> Iterator[pd.DataFrame]:
    """Records read by Arrow's streaming CSV reader, in frames of exactly ``chunk_rows`` rows.

    Anything Arrow cannot read the way pandas does (a row of another width, a whitespace-only line, a cell
    longer than a block) raises in Arrow; the records from the first frame not yet handed out on are then
    read by :func:`_pandas_frames`, which decides (padding, the csv module, or an InputError) as before.
    """
    done, pending, held = 0, [], 0  # rows handed out; batches read but not handed out, and their rows
    reader = None
    source = _WholeLineEnds(open(path, "rb"))  # noqa: SIM115 - closed below, also when the caller stops early
    try:
        reader = pacsv.open_csv(
            source,
            read_options=_arrow_read_options(),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=True,
            ),
            convert_options=_all_text(),
        )
        # one column: pandas skips whitespace-only lines, Arrow reads them as a cell (and it cannot tell
        # "  " from a quoted "  "); a wider table turns such a line into a short row, which fails below
        if len(reader.schema) < 2 or not all(pa.types.is_large_string(t) for t in reader.schema.types):
            raise _Fallback
        while True:
            batch = _next_batch(reader)
            if batch is None:
                break
            pending.append(batch)
            held += batch.num_rows
            while held > chunk_rows:  # the last chunk waits for the end of the file (see _ends_in_quotes)
                table = pa.Table.from_batches(pending)
                yield _text_frame(table.slice(0, chunk_rows), done)
                done += chunk_rows
                rest = table.slice(chunk_rows)
                pending, held = rest.to_batches(), rest.num_rows
        table = pa.Table.from_batches(pending, schema=reader.schema)
        if not table.num_rows or _ends_in_quotes(path, table.column(table.num_columns - 1)[-1].as_py()):
            raise _Fallback
        yield _text_frame(table, done)
        return
    except (_Fallback, pa.ArrowException):  # ArrowInvalid: a parse error
        pass
    finally:
        if reader is not None:
            reader.close()
        source.close()
    yield from _pandas_frames(path, encoding, delimiter, 0, chunk_rows, name, start=done)


class _WholeLineEnds:
    """A binary file read in blocks that never end between a CR and an LF.

    Arrow (26) drops the LF of a CRLF inside a quoted value when its block ends between the two
    ("two\r\nlines" reads "two\rlines"), so a block's final CR is held back for the next one.
    """

    def __init__(self, fh) -> None:
        self._fh, self._carry = fh, b""

    @property
    def closed(self) -> bool:
        return self._fh.closed

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            data, self._carry = self._carry + self._fh.read(), b""
            return data
        data = self._carry + self._fh.read(max(size - len(self._carry), 1))
        self._carry = b""
        if len(data) > 1 and data.endswith(b"\r"):
            self._carry, data = b"\r", data[:-1]
        return data

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self._fh.close()


class _Fallback(Exception):
    """The Arrow reading stops here; pandas reads on."""


def _all_text() -> pacsv.ConvertOptions:
    """Every column as text; empty cells stay "" (not null), as in pandas with ``na_filter=False``."""
    # names are f0, f1, ... (the header is read as a record); more names than columns are ignored
    # large_string: what pandas keeps ``str`` columns in (plain strings would be cast, chunk by chunk);
    # check_utf8 off: detect_encoding has decoded the whole file as UTF-8 already (saves 15% of the parse)
    return pacsv.ConvertOptions(
        column_types={f"f{i}": pa.large_string() for i in range(_ARROW_MAX_COLUMNS)},
        strings_can_be_null=False,
        check_utf8=False,
    )


def _arrow_read_options():
    # 1 MiB blocks read fastest here (4 and 16 MiB: +20-35% CPU); a record longer than a block fails and
    # falls back to pandas
    return pacsv.ReadOptions(
        autogenerate_column_names=True, block_size=_ARROW_BLOCK, use_threads=_ARROW_THREADS
    )


def _next_batch(reader):
    try:
        return reader.read_next_batch()
    except StopIteration:
        return None


def _ends_in_quotes(path: Path, last: str) -> bool:
    """Whether the file may end inside a quoted field whose value is ``last`` (the last record's last cell).

    Arrow takes an unclosed quote at the end of the file as running to the end; pandas refuses it. An unclosed
    quote in the last column swallows the rest of the file, so the file then ends with ``"`` and ``last``
    written with its quotes doubled. (A closed ``""`` at the very end looks the same: it falls back too.)
    """
    written = ('"' + last.replace('"', '""')).encode("utf-8")
    with open(path, "rb") as fh:
        size = fh.seek(0, 2)
        if size < len(written):
            return False
        fh.seek(size - len(written))
        return fh.read() == written


def _text_frame(table: pa.Table, first: int) -> pd.DataFrame:
    """``table`` as a frame of ``str`` columns 0..width-1 (Arrow strings handed over, no Python objects)."""
    # one piece per column, as pandas' parser gives: the batches' pieces would slow every later string
    # operation (~15% on a 50,000-row chunk) for a copy that costs ~4 ms
    frame = table.combine_chunks().to_pandas()
    frame.columns = pd.Index(np.arange(table.num_columns))  # as pandas labels them
    frame.index = pd.RangeIndex(first, first + table.num_rows)
    return frame


def _pandas_frames(
    path: Path, encoding: str, delimiter: str, skipped: int, chunk_rows: int, name: str, start: int = 0
) -> Iterator[pd.DataFrame]:
    """Records from number ``start`` on, read by pandas' C parser (and the csv module from a long row on)."""
    done = 0
    with _open_text(path, encoding, skipped) as fh:
        try:  # the reader parses its first block when it is made: a lone quote fails already here
            reader = pd.read_csv(
                fh,
                sep=delimiter,
                header=None,
                dtype="str",
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=True,
                engine="c",
                quotechar='"',
                chunksize=chunk_rows,
            )
            for chunk in reader:
                chunk.index = pd.RangeIndex(done, done + len(chunk))
                done += len(chunk)
                if done <= start:  # handed out already (by Arrow)
                    continue
                yield chunk.iloc[max(start - chunk.index[0], 0) :].fillna("")
            return
        except pd.errors.EmptyDataError:
            raise _fail(
                f"{name} has no text: upload a CSV with a header row and one row per customer.", "empty_file"
            ) from None
        except (pd.errors.ParserError, ValueError, OverflowError) as exc:
            if not re.search(r"Expected \d+ fields in line \d+, saw \d+", str(exc)):
                raise _fail(
                    f"{name} is not a readable CSV ({str(exc).strip().splitlines()[-1][:120]}); export it "
                    "again as CSV.",
                    "unparseable",
                ) from None
    yield from _ragged_frames(path, encoding, delimiter, skipped, chunk_rows, name, max(done, start))


def _ragged_frames(
    path: Path, encoding: str, delimiter: str, skipped: int, chunk_rows: int, name: str, done: int
) -> Iterator[pd.DataFrame]:
    """Records from ``done`` on, through the csv module: rows longer than the header are fine when the
    extra cells are empty (spreadsheets pad rows with delimiters); otherwise the file is refused."""
    width, batch, number = None, [], 0
    with _open_text(path, encoding, skipped) as fh:
        try:
            for record in csv.reader(fh, delimiter=delimiter):
                if not record:
                    continue
                number += 1
                if width is None:
                    width = len(record)
                if number <= done:
                    continue
                if len(record) > width and any(c.strip() for c in record[width:]):
                    raise _fail(
                        f"{name}: row {number} has {len(record)} fields but the header has {width}; quote "
                        "values that contain the delimiter and export again.",
                        "ragged",
                    )
                batch.append(record[:width] + [""] * (width - len(record)))
                if len(batch) == chunk_rows:
                    yield pd.DataFrame(batch, dtype="str", index=pd.RangeIndex(number - len(batch), number))
                    batch = []
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise _fail(
                    f"{name}: a cell after row {number} is longer than {csv.field_size_limit():,} "
                    "characters: check the file is a customer list.",
                    "cell_too_long",
                ) from None
            raise _fail(
                f"{name} is not a readable CSV ({exc}); export it again as CSV.", "unparseable"
            ) from None
    if batch:
        yield pd.DataFrame(batch, dtype="str", index=pd.RangeIndex(number - len(batch), number))
