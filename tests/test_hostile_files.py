"""Hostile uploads (issue 13, items 10-13): each is refused with one clear InputError, in bounded time and memory.

Each file is generated here. The read runs in a child process so its peak memory (``VmHWM`` of the
child) can be checked; the child's timeout only guards against a hang, it is not a speed target.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import pytest

from retainwise.science.reading import read_upload
from retainwise.science.upload_stream import MAX_CELL_CHARS

#: What reading any of these may cost at most (the CLI, kernel and pipeline together must fit 1.5 GiB).
PEAK_LIMIT_MB = 700

_CHILD = """
import json, sys
from retainwise.errors import InputError
from retainwise.science.reading import open_upload
try:
    stream = open_upload(sys.argv[1])
    rows = sum(len(c) for c in stream.chunks())
    out = {"rows": rows}
except InputError as exc:
    out = {"code": exc.code, "message": str(exc)}
# VmHWM is this process's own peak: ru_maxrss would also count the parent's size at fork (Linux keeps it
# across exec), so a large pytest process would fail every check here whatever the read cost.
with open("/proc/self/status") as status:
    out["peak_mb"] = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:")) / 1024
print(json.dumps(out))
"""


def read_in_child(path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def refused(path, code: str) -> dict:
    out = read_in_child(path)
    assert out.get("code") == code, out
    assert "\n" not in out["message"] and len(out["message"]) < 400
    assert out["peak_mb"] < PEAK_LIMIT_MB, out
    return out


_WORKBOOK = (
    b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
    b'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships"><sheets><sheet name="Data" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
    b'2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
_SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
    b'spreadsheetml/2006/main">'
)


def raw_xlsx(path, sheet_parts, *, prolog: bytes = b""):
    """A minimal workbook whose sheet XML is ``prolog`` + head + the parts, written as a stream."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("xl/workbook.xml", _WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", _RELS)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(prolog or _SHEET_HEAD)
            for part in sheet_parts:
                sheet.write(part)
    return path


def cell(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


def test_a_50_mb_cell_is_refused_on_input(tmp_path):
    path = tmp_path / "field_50mb.csv"
    with open(path, "wb") as fh:
        fh.write(b"customer_id,tenure\n")
        fh.write(b"A" * (50 * 1024 * 1024) + b",1\nB,2\n")
    out = refused(path, "cell_too_long")
    assert f"{MAX_CELL_CHARS:,}" in out["message"] and "row 2" in out["message"]


def test_cells_just_under_the_limit_are_read(tmp_path):
    path = tmp_path / "long_notes.csv"
    path.write_text("customer_id,notes\nA," + "x" * MAX_CELL_CHARS + "\n", encoding="utf-8")
    assert read_upload(path).frame["notes"].str.len().tolist() == [MAX_CELL_CHARS]


@pytest.mark.slow
def test_a_wide_header_over_a_million_short_rows_is_refused(tmp_path):
    path = tmp_path / "wide_header.csv"
    with open(path, "wb") as fh:
        fh.write(",".join(f"col{i}" for i in range(500)).encode() + b"\n")
        fh.writelines(b"%d\n" % i for i in range(1_000_000))
    out = refused(path, "too_many_cells")
    assert "500 columns" in out["message"]


@pytest.mark.slow
def test_the_same_shape_as_xlsx_is_refused(tmp_path):
    header = (
        b'<sheetData><row r="1">' + b"".join(cell(f"{_col(i)}1", f"c{i}") for i in range(500)) + b"</row>"
    )
    rows = (b'<row r="%d"><c r="A%d"><v>%d</v></c></row>' % (n, n, n) for n in range(2, 1_000_002))
    path = raw_xlsx(tmp_path / "wide_header.xlsx", [header, *rows, b"</sheetData></worksheet>"])
    refused(path, "too_many_cells")


def _col(i: int) -> str:
    name = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name


def test_an_xlsx_bomb_is_refused_from_the_zip_directory(tmp_path):
    block = b'<row><c t="inlineStr"><is><t>xxxxxxxx</t></is></c></row>' * 20_000
    parts = [b"<sheetData>", *([block] * 420), b"</sheetData></worksheet>"]  # ~460 MB of XML, a few MB zipped
    path = raw_xlsx(tmp_path / "bomb.xlsx", parts)
    assert path.stat().st_size < 10 * 1024 * 1024
    out = refused(path, "too_large")
    assert "unpacks to" in out["message"]


def test_a_declared_range_of_the_whole_sheet_is_refused_before_parsing(tmp_path):
    parts = [
        b'<dimension ref="A1:XFD1048576"/><sheetData><row r="1">',
        cell("A1", "id"),
        b"</row>",
        b'<row r="1048576">',
        cell("XFD1048576", "x"),
        b"</row></sheetData></worksheet>",
    ]
    path = raw_xlsx(tmp_path / "dimension.xlsx", parts)
    assert path.stat().st_size < 4096
    out = refused(path, "too_large")
    assert "A1:XFD1048576" in out["message"]


def test_rows_stop_at_the_limit_while_streaming(tmp_path):
    rows = (b'<row r="%d">' % n + cell(f"A{n}", str(n)) + b"</row>" for n in range(2, 200_002))
    path = raw_xlsx(
        tmp_path / "long.xlsx",
        [b'<sheetData><row r="1">', cell("A1", "id"), b"</row>", *rows, b"</sheetData></worksheet>"],
    )
    with pytest.raises(Exception, match="more than 1,000 rows") as err:
        read_upload(path, max_rows=1000)
    assert err.value.code == "too_many_rows"


@pytest.mark.parametrize("where", ["start", "after 500 KB"])
def test_malformed_sheet_xml_is_a_clear_input_error(tmp_path, where):
    filler = [b'<row r="%d">' % n + cell(f"A{n}", str(n)) + b"</row>" for n in range(2, 12_000)]
    parts = [b'<sheetData><row r="1">', cell("A1", "id"), b"</row>"]
    parts += (filler if where != "start" else []) + [b"<row><c><v>1</c></row>", b"</sheetData></worksheet>"]
    out = refused(raw_xlsx(tmp_path / "broken.xlsx", parts), "unparseable")
    assert "damaged XML" in out["message"]


def test_entity_laden_sheet_xml_is_refused(tmp_path):
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "lol">'
        + b"".join(
            b'<!ENTITY %s "%s">' % (chr(98 + i).encode(), b"&" + chr(97 + i).encode() + b";" * 1)
            for i in range(8)
        )
        + b"]>"
    )
    parts = [
        _SHEET_HEAD[_SHEET_HEAD.index(b"<worksheet") :],
        b'<sheetData><row r="1">',
        cell("A1", "&i;"),
        b"</row></sheetData></worksheet>",
    ]
    out = refused(raw_xlsx(tmp_path / "laughs.xlsx", parts, prolog=laughs), "unparseable")
    assert "entity" in out["message"]
