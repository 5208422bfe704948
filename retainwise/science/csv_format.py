"""A CSV upload's encoding and dialect, and its records streamed in frames.

- Encoding: a byte-order mark decides (UTF-8, UTF-16, UTF-32); UTF-16 without
  one is recognised by its zero bytes; then strict UTF-8; then
  charset-normalizer, with Western files read as cp1252 (the superset of
  Latin-1 that Excel on Windows writes). The whole file is checked block by
  block (an incremental decoder), never held decoded in memory.
- Delimiter: ``,`` ``;`` tab or ``|``, whichever splits the sample into the
  most consistent field counts (quoted fields with delimiters and newlines are
  parsed as CSV, not as lines). Title lines above the header ("Customer
  export, 1 May") are skipped: the header is the first row with the modal
  field count.
- Records are parsed by pandas' C parser in chunks; a row longer than the
  header switches to Python's csv module from that row on (extra cells must be
  empty: spreadsheets pad rows with delimiters).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from retainwise.errors import InputError

DELIMITERS = (",", ";", "\t", "|")
SNIFF_CHARS = 256 * 1024
SNIFF_ROWS = 200
_BLOCK = 1 << 20
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_WESTERN = {"cp1252", "latin_1", "iso8859_15", "iso8859_1", "cp1250", "mac_roman", "cp850", "cp437", "iso8859_2",
            "ascii", "windows-1252"}
# control characters no text export contains (vertical tab and form feed do occur: FileMaker line breaks)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
#: Share of control characters above which a file is taken for binary data.
CONTROL_SHARE = 0.05


def _fail(message: str, code: str) -> InputError:
    return InputError(message, code=code)


def _binary(name: str) -> InputError:
    return _fail(f"{name} looks like binary data, not a CSV: export the customer list as CSV and upload that.",
                 "not_text")


def _decodes(path: Path, encoding: str, name: str) -> bool:
    """Whether the whole file decodes as ``encoding``; raises InputError on NUL characters (binary data)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with open(path, "rb") as fh:
        try:
            while block := fh.read(_BLOCK):
                if "\x00" in decoder.decode(block):
                    raise _binary(name)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def detect_encoding(path: Path, name: str) -> str:
    """The encoding to read ``path`` with. Raises InputError for binary data or a broken byte-order-marked file."""
    with open(path, "rb") as fh:
        sample = fh.read(SNIFF_CHARS)
    encoding = next((enc for bom, enc in _BOMS if sample.startswith(bom)), None)
    window = sample[:65536]
    if encoding is None and b"\x00" in window:
        half = max(len(window) // 2, 1)
        even, odd = window[0::2].count(0), window[1::2].count(0)
        if odd > 0.3 * half and even < 0.02 * half:
            encoding = "utf-16-le"
        elif even > 0.3 * half and odd < 0.02 * half:
            encoding = "utf-16-be"
        else:
            raise _binary(name)
    if encoding is None:
        encoding = "utf-8" if _decodes(path, "utf-8", name) else _legacy(path, sample, name)
    elif not _decodes(path, encoding, name):
        raise _fail(f"{name} starts like {encoding} but is not valid {encoding}: export it again as UTF-8 CSV.",
                    "bad_encoding")
    text = sample.decode(encoding, errors="ignore").lstrip("\ufeff")[:65536]
    if len(_CONTROL.findall(text)) > CONTROL_SHARE * max(len(text), 1):
        raise _binary(name)
    return encoding


def _legacy(path: Path, sample: bytes, name: str) -> str:
    """A file that is not UTF-8: charset-normalizer's guess, Western guesses read as cp1252."""
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    guess = best.encoding if best is not None else "cp1252"
    candidates = ["cp1252", "latin-1"] if guess in _WESTERN else [guess, "cp1252", "latin-1"]
    for enc in candidates:
        try:
            if _decodes(path, enc, name):
                return enc
        except LookupError:
            continue
    raise _binary(name)  # pragma: no cover - latin-1 decodes any bytes


def sniff(text: str) -> tuple[str, int, int]:
    """(delimiter, lines above the header, header width) for the start of a CSV ``text``."""
    sample = text[:SNIFF_CHARS]
    truncated = len(text) > SNIFF_CHARS
    best, best_score = (",", 0, 1), (-1.0, 0, 0)
    for delim in DELIMITERS:
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delim)
        rows: list[tuple[int, int, int]] = []  # (physical line where the record starts, fields, filled fields)
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
        header_at = next((i for i, (_, n, k) in enumerate(rows) if n == modal and 2 * k >= n),
                         next(i for i, (_, n, _) in enumerate(rows) if n == modal))
        body = rows[header_at + 1:]
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


def frames(path: Path, encoding: str, delimiter: str, skipped: int, chunk_rows: int,
           name: str) -> Iterator[pd.DataFrame]:
    """The file's records as frames of text (columns 0..width-1, index = record number, 0 = the header).

    Raises InputError for a file that is not CSV (unbalanced quotes) and for a
    row with more values than the header.
    """
    done = 0
    with _open_text(path, encoding, skipped) as fh:
        try:  # the reader parses its first block when it is made: a lone quote fails already here
            reader = pd.read_csv(fh, sep=delimiter, header=None, dtype="str", keep_default_na=False,
                                 na_filter=False, skip_blank_lines=True, engine="c", quotechar='"',
                                 chunksize=chunk_rows)
            for chunk in reader:
                chunk.index = pd.RangeIndex(done, done + len(chunk))
                done += len(chunk)
                yield chunk.fillna("")
            return
        except pd.errors.EmptyDataError:
            raise _fail(f"{name} has no text: upload a CSV with a header row and one row per customer.",
                        "empty_file") from None
        except (pd.errors.ParserError, ValueError, OverflowError) as exc:
            if not re.search(r"Expected \d+ fields in line \d+, saw \d+", str(exc)):
                raise _fail(f"{name} is not a readable CSV ({str(exc).strip().splitlines()[-1][:120]}); export it "
                            "again as CSV.", "unparseable") from None
    yield from _ragged_frames(path, encoding, delimiter, skipped, chunk_rows, name, done)


def _ragged_frames(path: Path, encoding: str, delimiter: str, skipped: int, chunk_rows: int, name: str,
                   done: int) -> Iterator[pd.DataFrame]:
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
                    raise _fail(f"{name}: row {number} has {len(record)} fields but the header has {width}; quote "
                                "values that contain the delimiter and export again.", "ragged")
                batch.append(record[:width] + [""] * (width - len(record)))
                if len(batch) == chunk_rows:
                    yield pd.DataFrame(batch, dtype="str", index=pd.RangeIndex(number - len(batch), number))
                    batch = []
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise _fail(f"{name}: a cell after row {number} is longer than {csv.field_size_limit():,} "
                            "characters: check the file is a customer list.", "cell_too_long") from None
            raise _fail(f"{name} is not a readable CSV ({exc}); export it again as CSV.", "unparseable") from None
    if batch:
        yield pd.DataFrame(batch, dtype="str", index=pd.RangeIndex(number - len(batch), number))
