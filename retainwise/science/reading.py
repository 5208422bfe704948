"""Reading an upload (CSV or Excel ``.xlsx``) into a frame of text cells.

Every cell stays text here; normalisation (money, flags, contract terms)
happens after mapping, when we know what each column means.

- Format: from the file's first bytes, not its name. ``.xlsx`` is read with
  openpyxl (first sheet that has data); archives (zip, gzip, bz2, xz, 7z, rar)
  are refused, never decompressed; legacy ``.xls``, PDF and other binaries
  are refused with what to export instead.
- Encoding: a byte-order mark decides (UTF-8, UTF-16, UTF-32); UTF-16 without
  one is recognised by its zero bytes; then strict UTF-8; then
  charset-normalizer, with Western files read as cp1252 (the superset of
  Latin-1 that Excel on Windows writes). The encoding used is recorded.
- Delimiter: ``,`` ``;`` tab or ``|``, whichever splits the sample into the
  most consistent field counts (quoted fields with delimiters and newlines are
  parsed as CSV, not as lines). Title lines above the header ("Customer
  export, 1 May") are skipped: the header is the first row with the modal
  field count.
- Caps on bytes, rows and columns; blank rows (also rows of empty cells, as
  spreadsheets leave at the end) are dropped and counted. Blank or repeated
  header names are made unique (``column_7``, ``Phone (2)``).

The frame's index is the data row's position in the file (0 = first row under
the header), so a report's "row" examples point at the right record.
Unusable files end in an :class:`~retainwise.errors.InputError` naming what is
wrong and what to do.
"""

from __future__ import annotations

import csv
import io
import os
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import pandas as pd

from retainwise.errors import InputError

MAX_BYTES = 200 * 1024 * 1024
MAX_ROWS = 1_000_000
MAX_COLUMNS = 500
DELIMITERS = (",", ";", "\t", "|")
SNIFF_CHARS = 256 * 1024
SNIFF_ROWS = 200
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_ARCHIVES = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!", "RAR"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
_WESTERN = {
    "cp1252",
    "latin_1",
    "iso8859_15",
    "iso8859_1",
    "cp1250",
    "mac_roman",
    "cp850",
    "cp437",
    "iso8859_2",
    "ascii",
    "windows-1252",
}
# control characters no text export contains (vertical tab and form feed do occur: FileMaker line breaks)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
#: Share of control characters above which a file is taken for binary data.
CONTROL_SHARE = 0.05


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


def check_size(name: str, size: int, max_bytes: int = MAX_BYTES) -> None:
    """InputError when a file of ``size`` bytes is empty or over ``max_bytes`` (also checked before an upload)."""
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


def read_upload(
    path: str | os.PathLike,
    *,
    max_bytes: int = MAX_BYTES,
    max_rows: int = MAX_ROWS,
    max_columns: int = MAX_COLUMNS,
) -> Upload:
    """Read ``path`` (CSV in any common dialect, or .xlsx) as one row per customer.

    Raises InputError for a missing, empty, oversized, compressed, binary or
    shapeless file, and for one over ``max_rows`` rows or ``max_columns`` columns.
    """
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise _fail(f"{path}: no such file. Check the path and try again.", "no_file") from None
    check_size(name, size, max_bytes)
    data = path.read_bytes()
    head = data[:8]
    if head.startswith(b"PK\x03\x04"):
        header, sheet = _read_xlsx(data, name, max_bytes, max_rows, max_columns)
        frame, blank = _finish(header, name, max_rows, max_columns)
        return Upload(frame, "xlsx", None, "xlsx", name, blank_rows=blank, sheet=sheet)
    _refuse_binary_formats(head, name)
    text, encoding = _decode(data, name)
    if not text.strip():
        raise _fail(
            f"{name} has no text: upload a CSV with a header row and one row per customer.", "empty_file"
        )
    delimiter, skipped, width = _sniff(text)
    if width > max_columns:
        raise _fail(
            f"{name} has {width} columns, over the limit of {max_columns}: remove columns you do not need.",
            "too_wide",
        )
    if skipped:
        text = text.split("\n", skipped)[-1]
    cells = _parse(text, delimiter, name)
    frame, blank = _finish(cells, name, max_rows, max_columns)
    return Upload(frame, encoding, delimiter, "csv", name, blank_rows=blank, skipped_lines=skipped)


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


def _decode(data: bytes, name: str) -> tuple[str, str]:
    binary = _fail(
        f"{name} looks like binary data, not a CSV: export the customer list as CSV and upload that.",
        "not_text",
    )
    encoding = None
    for bom, enc in _BOMS:
        if data.startswith(bom):
            encoding = enc
            break
    sample = data[:65536]
    if encoding is None and b"\x00" in sample:
        half = max(len(sample) // 2, 1)
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if odd > 0.3 * half and even < 0.02 * half:
            encoding = "utf-16-le"
        elif even > 0.3 * half and odd < 0.02 * half:
            encoding = "utf-16-be"
        else:
            raise binary
    if encoding is None:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = _legacy(data, binary)
    else:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            raise _fail(
                f"{name} starts like {encoding} but is not valid {encoding}: export it again as UTF-8 CSV.",
                "bad_encoding",
            ) from None
    text = text.lstrip("\ufeff")
    window = text[:65536]
    if "\x00" in text or len(_CONTROL.findall(window)) > CONTROL_SHARE * max(len(window), 1):
        raise binary
    return text, encoding


def _legacy(data: bytes, binary: InputError) -> tuple[str, str]:
    """Decode a file that is not UTF-8: charset-normalizer's guess, Western guesses read as cp1252."""
    from charset_normalizer import from_bytes

    best = from_bytes(data[:262144]).best()
    guess = best.encoding if best is not None else "cp1252"
    candidates = ["cp1252", "latin-1"] if guess in _WESTERN else [guess, "cp1252", "latin-1"]
    for enc in candidates:
        try:
            return data.decode(enc), enc
        except (UnicodeDecodeError, LookupError):
            continue
    raise binary  # pragma: no cover - latin-1 decodes any bytes


def _sniff(text: str) -> tuple[str, int, int]:
    """(delimiter, lines above the header, header width) for CSV ``text``."""
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
        if truncated and len(rows) > 1 and len(rows) < SNIFF_ROWS:
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


def _parse(text: str, delimiter: str, name: str) -> list[list[str]]:
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            dtype="str",
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
            engine="c",
            quotechar='"',
        )
    except pd.errors.EmptyDataError:
        raise _fail(
            f"{name} has no text: upload a CSV with a header row and one row per customer.", "empty_file"
        ) from None
    except (pd.errors.ParserError, ValueError, OverflowError) as exc:
        if re.search(r"Expected \d+ fields in line \d+, saw \d+", str(exc)):
            return _parse_ragged(text, delimiter, name)
        raise _fail(
            f"{name} is not a readable CSV ({str(exc).strip().splitlines()[-1][:120]}); export it again "
            "as CSV.",
            "unparseable",
        ) from None
    frame = frame.fillna("")
    return [frame.iloc[0].tolist(), frame.iloc[1:]]


def _parse_ragged(text: str, delimiter: str, name: str) -> list:
    """Rows longer than the header are fine when the extra cells are empty (spreadsheets pad rows with
    delimiters); otherwise the file is ambiguous and refused."""
    try:
        records = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r]
    except csv.Error as exc:
        raise _fail(f"{name} is not a readable CSV ({exc}); export it again as CSV.", "unparseable") from None
    header, width = records[0], len(records[0])
    line = 1
    for record in records[1:]:
        line += 1
        if len(record) > width and any(c.strip() for c in record[width:]):
            raise _fail(
                f"{name}: row {line} has {len(record)} fields but the header has {width}; quote values "
                "that contain the delimiter and export again.",
                "ragged",
            )
    body = [r[:width] + [""] * (width - len(r)) for r in records[1:]]
    return [header, pd.DataFrame(body, dtype="str")]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return str(value)


def _read_xlsx(data: bytes, name: str, max_bytes: int, max_rows: int, max_columns: int):
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = set(archive.namelist())
        unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise _fail(f"{name} is a damaged ZIP or .xlsx file: export it again.", "unparseable") from None
    if "xl/workbook.xml" not in members:
        raise _fail(
            f"{name} is a ZIP archive; uploads are never decompressed: extract it and upload the CSV or "
            ".xlsx inside.",
            "compressed",
        )
    if unpacked > 4 * max_bytes:
        raise _fail(
            f"{name} unpacks to {unpacked / 1e6:.0f} MB, over the limit: split the workbook.", "too_large"
        )
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken workbook
        raise _fail(
            f"{name} is not a readable .xlsx workbook ({type(exc).__name__}): save it again from Excel or "
            "export CSV.",
            "unparseable",
        ) from None
    try:
        for sheet in book.worksheets:
            if getattr(sheet, "sheet_state", "visible") != "visible":
                continue
            rows: list[list[str]] = []
            gap = 0  # empty rows not yet kept: formatting often stretches a sheet far below its data
            for row in sheet.iter_rows(values_only=True):
                cells = [_cell(v) for v in row]
                while cells and not cells[-1].strip():
                    cells.pop()  # formatted but empty cells to the right
                if not cells:
                    gap += 1
                    continue
                if len(cells) > max_columns:
                    raise _fail(
                        f"{name} has {len(cells)} columns, over the limit of {max_columns}: remove columns "
                        "you do not need.",
                        "too_wide",
                    )
                rows.extend([[]] * gap)
                gap = 0
                rows.append(cells)
                if len(rows) > max_rows + 1:
                    raise _fail(f"{name} has more than {max_rows:,} rows: split the file.", "too_many_rows")
            while rows and not any(c.strip() for c in rows[-1]):
                rows.pop()
            if rows:
                width = max(len(r) for r in rows)
                cells = [r + [""] * (width - len(r)) for r in rows]
                # the header is the first row filled at least half as wide as the table (skips report titles)
                filled = [sum(bool(c.strip()) for c in r) for r in cells[:SNIFF_ROWS]]
                first = next(i for i, k in enumerate(filled) if k and k >= max(filled) / 2)
                cells = cells[first:]
                return [cells[0], pd.DataFrame(cells[1:], dtype="str")], sheet.title
    finally:
        book.close()
    raise _fail(f"{name} has no data in any sheet: put the customers on the first sheet.", "empty_file")


def _names(header: list[str]) -> list[str]:
    names, seen = [], Counter()
    for i, raw in enumerate(header):
        name = re.sub(r"[\ufeff\u200b\u00a0]", " ", str(raw)).strip() or f"column_{i + 1}"
        seen[name] += 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names


def _finish(cells, name: str, max_rows: int, max_columns: int) -> tuple[pd.DataFrame, int]:
    header, body = cells[0], (cells[1] if len(cells) > 1 else None)
    if len(header) > max_columns:
        raise _fail(
            f"{name} has {len(header)} columns, over the limit of {max_columns}: remove columns you do not "
            "need.",
            "too_wide",
        )
    names = _names(header)
    if body is None or body.empty:
        raise _fail(
            f"{name} has a header but no customer rows: add one row per customer below the header.", "no_rows"
        )
    body = body.astype("str")
    body.columns = names
    body.index = pd.RangeIndex(len(body))
    filled = body.apply(lambda s: s.str.strip().ne("")).any(axis=1)
    blank = int((~filled).sum())
    body = body.loc[filled]
    unnamed_empty = [
        n
        for n, raw in zip(names, header, strict=True)
        if not str(raw).strip() and not body[n].str.strip().ne("").any()
    ]
    body = body.drop(columns=unnamed_empty)
    if body.empty or body.shape[1] == 0:
        raise _fail(
            f"{name} has a header but no customer rows: add one row per customer below the header.", "no_rows"
        )
    if len(body) > max_rows:
        raise _fail(
            f"{name} has {len(body):,} rows, over the limit of {max_rows:,}: split the file.", "too_many_rows"
        )
    return body, blank
