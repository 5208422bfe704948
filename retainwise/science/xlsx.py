"""Streaming the first visible sheet of an ``.xlsx`` workbook, row by row, with hard limits.

openpyxl materialised every row a sheet declared, padded to the declared width
(a 1.7 KB file declaring ``A1:XFD1048576`` meant 17 billion cells), and only
checked the row limit after building rows. Here, before any sheet XML is
parsed, the ZIP directory's uncompressed sizes (each member and the total) and
the sheet's declared ``<dimension>`` are checked; rows are then produced one at
a time from the XML stream (expat), holding only the cells a row actually has,
so a reader can stop at its row limit. A DTD or entity declaration (which
Excel never writes: the "billion laughs" family) and malformed XML end in an
:class:`~retainwise.errors.InputError`, like every other unreadable file.

Cell values become text as openpyxl gave them: shared and inline strings as
they are, booleans ``yes``/``no``, whole numbers without ``.0``, numbers in a
date format as ISO dates, error values as their text (``#N/A``).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from xml.parsers import expat

from retainwise.errors import InputError

#: Largest uncompressed part (sheet XML, shared strings) and total; a real 1,000,000-row export is ~250 MB.
MAX_MEMBER_BYTES = 400 * 1024 * 1024
MAX_UNPACKED_BYTES = 600 * 1024 * 1024
_BLOCK = 1 << 16
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#: Built-in number formats that are dates or times (ECMA-376 18.8.30).
_DATE_FORMATS = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47})
_EPOCH = datetime(1899, 12, 30)


def _fail(message: str, code: str = "unparseable") -> InputError:
    return InputError(message, code=code)


class _Refused(Exception):
    """Raised inside expat callbacks; turned into an InputError by the caller."""


def _parse(stream, name: str, start=None, end=None, text=None) -> None:
    """Feed ``stream`` (a binary file) through expat with the given handlers; refuse DTDs and entities."""
    parser = _RowParser(start, end, text)
    while block := stream.read(_BLOCK):
        parser.feed(block, name)
    parser.feed(b"", name, final=True)


def _local(tag: str) -> str:
    return tag.rsplit(":", 1)[-1]


def check_archive(archive: zipfile.ZipFile, name: str) -> None:
    """Refuse a workbook whose parts unpack to more than the limits (read from the ZIP directory)."""
    sizes = [(info.filename, info.file_size) for info in archive.infolist()]
    biggest = max(sizes, key=lambda s: s[1], default=("", 0))
    total = sum(s for _, s in sizes)
    if biggest[1] > MAX_MEMBER_BYTES or total > MAX_UNPACKED_BYTES:
        raise _fail(
            f"{name} unpacks to {total / 1e6:.0f} MB ({biggest[0]}: {biggest[1] / 1e6:.0f} MB), over the "
            f"limit of {MAX_UNPACKED_BYTES / 1e6:.0f} MB: split the workbook or export CSV.",
            "too_large",
        )


def _first_visible_sheets(archive: zipfile.ZipFile, name: str) -> list[tuple[str, str]]:
    """(title, member path) of the workbook's visible sheets, in order."""
    sheets, targets = [], {}

    def on_book(tag, attrs):
        if _local(tag) == "sheet" and attrs.get("state", "visible") == "visible":
            sheets.append((attrs.get("name", ""), attrs.get(f"{_REL} id") or attrs.get("r:id", "")))

    def on_rels(tag, attrs):
        if _local(tag) == "Relationship":
            targets[attrs.get("Id", "")] = attrs.get("Target", "")

    with archive.open("xl/workbook.xml") as fh:
        _parse(fh, name, start=on_book)
    if "xl/_rels/workbook.xml.rels" in archive.namelist():
        with archive.open("xl/_rels/workbook.xml.rels") as fh:
            _parse(fh, name, start=on_rels)
    out = []
    for title, rid in sheets:
        target = targets.get(rid, "").lstrip("/")
        path = target if target.startswith("xl/") else f"xl/{target}"
        if path in archive.namelist():
            out.append((title, path))
    return out


def _shared_strings(archive: zipfile.ZipFile, name: str) -> list[str]:
    strings: list[str] = []
    parts: list[str] = []
    depth = {"si": 0, "t": 0, "rPh": 0}

    def start(tag, _attrs):
        tag = _local(tag)
        if tag in depth:
            depth[tag] += 1

    def end(tag):
        tag = _local(tag)
        if tag in depth:
            depth[tag] -= 1
        if tag == "si":
            strings.append("".join(parts))
            parts.clear()

    def text(data):
        if depth["t"] and not depth["rPh"]:  # phonetic hints (rPh) are not part of the value
            parts.append(data)

    if "xl/sharedStrings.xml" in archive.namelist():
        with archive.open("xl/sharedStrings.xml") as fh:
            _parse(fh, name, start, end, text)
    return strings


def _date_styles(archive: zipfile.ZipFile, name: str) -> set[int]:
    """Indexes of the cell styles (``s`` attribute) whose number format is a date or time."""
    custom: dict[int, str] = {}
    xfs: list[int] = []
    inside = {"cellXfs": False}

    def start(tag, attrs):
        tag = _local(tag)
        if tag == "numFmt":
            custom[int(attrs.get("numFmtId", -1))] = attrs.get("formatCode", "")
        elif tag == "cellXfs":
            inside["cellXfs"] = True
        elif tag == "xf" and inside["cellXfs"]:
            xfs.append(int(attrs.get("numFmtId", 0)))

    def end(tag):
        if _local(tag) == "cellXfs":
            inside["cellXfs"] = False

    if "xl/styles.xml" in archive.namelist():
        with archive.open("xl/styles.xml") as fh:
            _parse(fh, name, start, end)

    def is_date(fmt: int) -> bool:
        if fmt in _DATE_FORMATS:
            return True
        code = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", custom.get(fmt, ""))
        return bool(re.search(r"[dmyhs]", code, re.IGNORECASE))

    return {i for i, fmt in enumerate(xfs) if is_date(fmt)}


def _column_index(ref: str) -> int:
    n = 0
    for ch in ref:
        if not ch.isalpha():
            break
        n = n * 26 + (ord(ch.upper()) - 64)
    return n - 1


def _dimension_cells(ref: str) -> int:
    """Cells in a declared range such as ``A1:XFD1048576`` (0 when unreadable)."""
    m = re.fullmatch(r"\$?([A-Z]+)\$?(\d+)(?::\$?([A-Z]+)\$?(\d+))?", ref.strip().upper())
    if not m:
        return 0
    c1, r1, c2, r2 = m.group(1), int(m.group(2)), m.group(3) or m.group(1), int(m.group(4) or m.group(2))
    return (abs(_column_index(c2) - _column_index(c1)) + 1) * (abs(r2 - r1) + 1)


def _number(text: str, as_date: bool) -> str:
    try:
        value = float(text)
    except ValueError:
        return text
    if as_date:
        moment = _EPOCH + timedelta(days=value)
        return moment.date().isoformat() if moment.time() == datetime.min.time() else moment.isoformat()
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


class SheetReader:
    """The rows of one sheet as ``(row number, cells)``; cells are text, trailing empty cells dropped."""

    def __init__(self, archive: zipfile.ZipFile, member: str, name: str, max_cells: int) -> None:
        self.archive, self.member, self.name, self.max_cells = archive, member, name, max_cells
        self.strings = _shared_strings(archive, name)
        self.dates = _date_styles(archive, name)

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Rows in order; raises InputError for a declared range over the cell limit or broken XML."""
        done: list[tuple[int, list[str]]] = []
        state = {"row": 0, "cells": {}, "cell": None, "type": "n", "style": 0, "text": [], "in_value": False}

        def start(tag, attrs):
            tag = _local(tag)
            if tag == "dimension":
                cells = _dimension_cells(attrs.get("ref", ""))
                if cells > self.max_cells:
                    raise _Refused_dimension(attrs.get("ref", ""), cells)
            elif tag == "row":
                state["row"] = int(attrs.get("r", state["row"] + 1))
                state["cells"] = {}
                state["next_col"] = 0
            elif tag == "c":
                ref = attrs.get("r")
                state["cell"] = _column_index(ref) if ref else state.get("next_col", 0)
                state["type"], state["style"] = attrs.get("t", "n"), int(attrs.get("s", 0))
                state["text"] = []
            elif tag in ("v", "t"):
                state["in_value"] = True

        def end(tag):
            tag = _local(tag)
            if tag in ("v", "t"):
                state["in_value"] = False
            elif tag == "c":
                value = self._value("".join(state["text"]), state["type"], state["style"])
                if value.strip():
                    state["cells"][state["cell"]] = value
                state["next_col"] = state["cell"] + 1
            elif tag == "row":
                cells = state["cells"]
                if cells:
                    width = max(cells) + 1
                    done.append((state["row"], [cells.get(i, "") for i in range(width)]))

        def text(data):
            if state["in_value"]:
                state["text"].append(data)

        parser = _RowParser(start, end, text)
        with self.archive.open(self.member) as fh:
            while block := fh.read(_BLOCK):
                parser.feed(block, self.name)
                yield from done
                done.clear()
            parser.feed(b"", self.name, final=True)
            yield from done

    def _value(self, raw: str, kind: str, style: int) -> str:
        if kind == "s":
            try:
                return self.strings[int(raw)]
            except (ValueError, IndexError):
                return ""
        if kind == "b":
            return "yes" if raw.strip() == "1" else "no"
        if kind in ("str", "inlineStr", "e"):
            return raw
        return _number(raw, style in self.dates) if raw else ""


class _Refused_dimension(_Refused):  # noqa: N801 - a flavour of _Refused with its own message
    def __init__(self, ref: str, cells: int) -> None:
        super().__init__(ref)
        self.ref, self.cells = ref, cells


class _RowParser:
    """An expat parser fed block by block (so rows can be handed out as they complete)."""

    def __init__(self, start, end, text) -> None:
        self.parser = expat.ParserCreate()
        self.parser.buffer_text = True

        def no_dtd(*_args):
            raise _Refused("a DTD or entity declaration")

        self.parser.StartDoctypeDeclHandler = no_dtd
        self.parser.EntityDeclHandler = no_dtd
        if start:
            self.parser.StartElementHandler = start
        if end:
            self.parser.EndElementHandler = end
        if text:
            self.parser.CharacterDataHandler = text

    def feed(self, block: bytes, name: str, final: bool = False) -> None:
        try:
            self.parser.Parse(block, final)
        except _Refused_dimension as exc:
            raise _fail(
                f"{name} declares a used range of {exc.ref} ({exc.cells:,} cells), over the limit: delete "
                "the empty rows and columns around the data, or export CSV.",
                "too_large",
            ) from None
        except _Refused as exc:
            raise _fail(
                f"{name} contains {exc}, which Excel never writes: save it again from Excel or export CSV."
            ) from None
        except expat.ExpatError as exc:
            raise _fail(
                f"{name} is not a readable .xlsx workbook (damaged XML: {exc}): save it again from Excel "
                "or export CSV."
            ) from None


def open_sheets(archive: zipfile.ZipFile, name: str, max_cells: int) -> Iterator[tuple[str, SheetReader]]:
    """The visible sheets as (title, reader), after the archive's sizes are checked.

    Raises InputError for a workbook over the unpacked-size limits or with unreadable XML.
    """
    check_archive(archive, name)
    for title, member in _first_visible_sheets(archive, name):
        yield title, SheetReader(archive, member, name, max_cells)
