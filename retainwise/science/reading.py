"""Reading an upload (CSV or Excel ``.xlsx``) into frames of text cells, chunk by chunk.

Every cell stays text here; normalisation (money, flags, contract terms)
happens after mapping, when we know what each column means.

- Format: from the file's first bytes, not its name. ``.xlsx`` is streamed by
  ``xlsx.py`` (first visible sheet that has data); archives (zip, gzip, bz2,
  xz, 7z, rar) are refused, never decompressed; legacy ``.xls``, PDF and other
  binaries are refused with what to export instead. CSV encoding and dialect:
  ``csv_format.py``.
- :func:`open_upload` reads the header and a sample (the first
  :data:`SAMPLE_ROWS` customer rows: what the column mapping is decided on),
  then hands out the file in chunks (:meth:`UploadStream.chunks`) whose size
  depends on the width of the file, so memory depends on the chunk, never on
  the file. :func:`read_upload` is the same, all at once (small files, tests).
- Limits, each a clear error (rows, cells and cell length as the chunks are
  read: upload_stream.py): bytes, rows, columns, cells (rows x columns, so
  a narrow-bodied file under a 500-column header cannot cost gigabytes), and
  the length of one cell (a spreadsheet cell holds at most 32,767 characters).
- Blank rows (also rows of empty cells, as spreadsheets leave at the end, or
  of whitespace as Arrow's utf8_trim_whitespace, i.e. pandas' ``str.strip``,
  sees it) are dropped and counted; these checks run on the cells' Arrow
  arrays. Blank or repeated header names are made unique (``column_7``,
  ``Phone (2)``); blank-named columns empty in the sample are left out.

A frame's index is the data row's position in the file (0 = first row under
the header), so a report's "row" examples point at the right record.
Unusable files end in an :class:`~retainwise.errors.InputError` naming what is
wrong and what to do.
"""

from __future__ import annotations

import itertools
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from retainwise.errors import InputError
from retainwise.science import csv_format, xlsx
from retainwise.science.encoding import detect_encoding
from retainwise.science.upload_stream import MAX_CELLS, MAX_COLUMNS, MAX_ROWS, Limits, UploadStream

MAX_BYTES = 200 * 1024 * 1024
CHUNK_ROWS = 50_000  # 1,000,000 rows peaked at 1.27 GiB in 100k chunks, 0.98 GiB in 50k
#: Cells per chunk, so a wide file reads in shorter chunks.
CHUNK_CELLS = 2_500_000
_ARCHIVES = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!", "RAR"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)


@dataclass
class Upload:
    """An upload read into text cells, with how it was read."""

    frame: pd.DataFrame
    encoding: str
    delimiter: str | None
    format: str  # csv | xlsx
    source_name: str
    #: rows of nothing but empty cells that were dropped
    blank_rows: int = 0
    #: lines above the header that were skipped (report titles)
    skipped_lines: int = 0
    #: the sheet read, for .xlsx
    sheet: str | None = None


def _fail(message: str, code: str) -> InputError:
    return InputError(message, code=code)


def open_upload(
    path,
    *,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
    max_columns: int = MAX_COLUMNS,
    max_cells: int = MAX_CELLS,
    chunk_rows: int = CHUNK_ROWS,
) -> UploadStream:
    """Open ``path`` (CSV in any common dialect, or .xlsx): header and sample read, rows to come in chunks.

    Raises InputError for a missing, empty, oversized, compressed, binary or
    shapeless file, and for one over ``max_columns`` columns; the row, cell and
    cell-length limits are checked as the chunks are read.
    """
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise _fail(f"{path}: no such file. Check the path and try again.", "no_file") from None
    if size == 0:
        raise _fail(
            f"{name} is empty: upload a CSV with a header row and one row per customer.", "empty_file"
        )
    if size > max_bytes:
        raise _fail(
            f"{name} is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.1f} MB limit: split it into "
            "smaller files.",
            "too_large",
        )
    limits = Limits(max_rows, max_columns, max_cells)
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK\x03\x04"):
        return _open_xlsx(path, name, limits, chunk_rows)
    _refuse_binary_formats(head, name)
    encoding = detect_encoding(path, name)
    with open(path, encoding=encoding, newline="") as fh:
        start = fh.read(csv_format.SNIFF_CHARS + 1).lstrip("\ufeff")
    if not start.strip():
        raise _fail(
            f"{name} has no text: upload a CSV with a header row and one row per customer.", "empty_file"
        )
    delimiter, skipped, width = csv_format.sniff(start)
    # the header's own width sizes the chunks (the body's modal width may be 1 under a 500-column header)
    width = max(width, csv_format.header_width(start, delimiter, skipped))
    _check_width(width, name, max_columns)
    rows = max(1, min(chunk_rows, CHUNK_CELLS // max(width, 1)))
    raw = csv_format.frames(path, encoding, delimiter, skipped, rows, name)
    first = next(raw)
    header = first.iloc[0].tolist()
    _check_width(len(header), name, max_columns)

    def body():
        yield first.iloc[1:].set_axis(pd.RangeIndex(0, len(first) - 1)), 0
        for frame in raw:
            yield frame.set_axis(frame.index - 1), 0

    return UploadStream(name, "csv", encoding, delimiter, header, body(), limits, skipped=skipped)


def _check_width(width: int, name: str, max_columns: int) -> None:
    if width > max_columns:
        raise _fail(
            f"{name} has {width} columns, over the limit of {max_columns}: remove columns you do not need.",
            "too_wide",
        )


def read_upload(path, **limits) -> Upload:
    """Read ``path`` whole (see :func:`open_upload` for the keyword limits and what it raises)."""
    stream = open_upload(path, **limits)
    frame = pd.concat(list(stream.chunks()))
    return Upload(
        frame,
        stream.encoding,
        stream.delimiter,
        stream.format,
        stream.source_name,
        blank_rows=stream.blank_rows,
        skipped_lines=stream.skipped_lines,
        sheet=stream.sheet,
    )


def _refuse_binary_formats(head: bytes, name: str) -> None:
    for magic, kind in _ARCHIVES:
        if head.startswith(magic):
            raise _fail(
                f"{name} is a {kind}-compressed file; uploads are never decompressed: extract it and "
                "upload the CSV or .xlsx inside.",
                "compressed",
            )
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _fail(
            f"{name} is an old Excel 97-2003 (.xls) workbook: save it as .xlsx or CSV and upload that.",
            "xls_unsupported",
        )
    if head.startswith(b"%PDF"):
        raise _fail(f"{name} is a PDF, not a table: export the customer list as CSV or .xlsx.", "not_text")


def _open_xlsx(path: Path, name: str, limits: Limits, chunk_rows: int) -> UploadStream:
    try:
        archive = zipfile.ZipFile(path)
        members = set(archive.namelist())
    except zipfile.BadZipFile:
        raise _fail(f"{name} is a damaged ZIP or .xlsx file: export it again.", "unparseable") from None
    if "xl/workbook.xml" not in members:
        raise _fail(
            f"{name} is a ZIP archive; uploads are never decompressed: extract it and upload the CSV or "
            ".xlsx inside.",
            "compressed",
        )
    for title, sheet in xlsx.open_sheets(archive, name, limits.cells):
        rows = sheet.rows()
        head = []  # the first rows: the header is the first filled at least half as wide as the widest
        for numbered in rows:
            head.append(numbered)
            if len(head) >= csv_format.SNIFF_ROWS:
                break
        if not head:
            continue
        filled = [sum(bool(c.strip()) for c in cells) for _, cells in head]
        at = next(i for i, k in enumerate(filled) if k >= max(filled) / 2)
        header_row, header = head[at]
        width = max(len(c) for _, c in head[at:])
        _check_width(width, name, limits.columns)
        step = max(1, min(chunk_rows, CHUNK_CELLS // width))
        raw = _sheet_frames(
            archive, itertools.chain(head[at + 1 :], rows), header_row, width, step, name, limits.columns
        )
        return UploadStream(
            name, "xlsx", "xlsx", None, header + [""] * (width - len(header)), raw, limits, sheet=title
        )
    raise _fail(f"{name} has no data in any sheet: put the customers on the first sheet.", "empty_file")


def _sheet_frames(archive, rows, header_row: int, width: int, step: int, name: str, max_columns: int):
    """(frame, blank rows skipped before it) from numbered sheet rows; a row wider than the table is refused."""
    batch, index, gaps, last = [], [], 0, header_row

    def flush():
        return pd.DataFrame(batch, dtype="str", index=pd.Index(index), columns=range(width)), gaps

    with archive:
        for number, cells in rows:
            if len(cells) > width:
                _check_width(len(cells), name, max_columns)
                raise _fail(
                    f"{name}: row {number} has values beyond the header's {width} columns; put every "
                    "value under a header and export again.",
                    "ragged",
                )
            gaps += number - last - 1
            last = number
            batch.append(cells + [""] * (width - len(cells)))
            index.append(number - header_row - 1)
            if len(batch) == step:
                yield flush()
                batch, index, gaps = [], [], 0
        if batch:
            yield flush()
