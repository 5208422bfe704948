"""Reading an upload into a frame of text cells.

Every cell stays text here; normalisation (money, flags, contract terms)
happens after mapping, when we know what each column means. Unusable files end
in an :class:`~retainwise.errors.InputError` naming what is wrong and what to do.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import InputError

MAX_BYTES = 200 * 1024 * 1024
MAX_ROWS = 1_000_000
MAX_COLUMNS = 500
_ENCODINGS = ("utf-8-sig", "utf-8", "cp1252", "latin-1")


@dataclass
class Upload:
    frame: pd.DataFrame
    encoding: str
    delimiter: str | None
    format: str
    source_name: str


def read_upload(path: str | os.PathLike, *, max_bytes: int = MAX_BYTES, max_rows: int = MAX_ROWS,
                max_columns: int = MAX_COLUMNS) -> Upload:
    """Read ``path`` as a CSV of customers. Raises InputError for empty, binary or shapeless files."""
    path = Path(path)
    name = path.name
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{name} is empty: upload a CSV with a header row and one row per customer.",
                         code="empty_file")
    if size > max_bytes:
        raise InputError(f"{name} is {size / 1e6:.0f} MB, over the {max_bytes / 1e6:.0f} MB limit: split it into "
                         "smaller files.", code="too_large")
    data = path.read_bytes()
    text, encoding = _decode(data, name)
    if not text.strip():
        raise InputError(f"{name} has no text: upload a CSV with a header row and one row per customer.",
                         code="empty_file")
    delimiter = _sniff_delimiter(text)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype="str", keep_default_na=False,
                            skip_blank_lines=True, engine="c")
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(f"{name} is not a readable CSV ({exc}); export it again as CSV.", code="unparseable") from exc
    frame.columns = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    if frame.shape[1] > max_columns:
        raise InputError(f"{name} has {frame.shape[1]} columns, over the limit of {max_columns}.", code="too_wide")
    frame = frame.loc[~(frame == "").all(axis=1)].reset_index(drop=True)
    if frame.empty:
        raise InputError(f"{name} has a header but no customer rows: add one row per customer below the header.",
                         code="no_rows")
    if len(frame) > max_rows:
        raise InputError(f"{name} has {len(frame):,} rows, over the limit of {max_rows:,}: split the file.",
                         code="too_many_rows")
    return Upload(frame=frame, encoding=encoding, delimiter=delimiter, format="csv", source_name=name)


def _decode(data: bytes, name: str) -> tuple[str, str]:
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{name} looks like binary data, not a CSV: export the customer list as CSV and upload that.",
                         code="not_text")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    for encoding in _ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        control = sum(1 for ch in text[:10000] if ord(ch) < 32 and ch not in "\r\n\t")
        if control > 0.01 * min(len(text), 10000):
            break
        return text, encoding
    raise InputError(f"{name} looks like binary data, not a CSV: export the customer list as CSV and upload that.",
                     code="not_text")


def _sniff_delimiter(text: str) -> str:
    sample = text[:65536]
    lines = [line for line in sample.splitlines() if line.strip()][:50]
    best, best_score = ",", -1
    for delim in (",", ";", "\t", "|"):
        counts = [len(row) for row in csv.reader(lines, delimiter=delim)]
        if not counts or counts[0] < 2:
            continue
        consistent = sum(1 for c in counts if c == counts[0])
        score = consistent * 1000 + counts[0]
        if score > best_score:
            best, best_score = delim, score
    return best
