"""Reading uploads: encodings, delimiters, quoting, blank rows, Excel, caps and refusals."""

from __future__ import annotations

import bz2
import gzip
import io
import random
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from retainwise.errors import InputError
from retainwise.science import csv_format
from retainwise.science.encoding import detect_encoding
from retainwise.science.reading import read_upload
from retainwise.science.upload_stream import MAX_CELL_CHARS, _blank_rows, _check_cells

TEXT = 'customer_id,name,monthly_charges\nA1,José Müller,"1,234.50"\nA2,Zoë Ångström,29.85\n'


def write(tmp_path, data: bytes, name: str = "upload.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "encoding, expected",
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("utf-16", "utf-16"),
        ("utf-16-le", "utf-16-le"),
        ("utf-16-be", "utf-16-be"),
        ("cp1252", "cp1252"),
        ("latin-1", "cp1252"),
    ],
)
def test_encodings_are_detected_and_recorded(tmp_path, encoding, expected):
    upload = read_upload(write(tmp_path, TEXT.encode(encoding)))
    assert upload.encoding == expected
    assert list(upload.frame.columns) == ["customer_id", "name", "monthly_charges"]
    assert upload.frame["name"].tolist() == ["José Müller", "Zoë Ångström"]
    assert upload.frame["monthly_charges"].tolist() == ["1,234.50", "29.85"]


def test_cp1252_only_characters_survive(tmp_path):
    text = "id,note\n1,“quoted” – 5 €\n2,ok\n"
    upload = read_upload(write(tmp_path, text.encode("cp1252")))
    assert upload.encoding == "cp1252" and upload.frame.loc[0, "note"] == "“quoted” – 5 €"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_found_by_consistent_field_counts(tmp_path, delimiter):
    rows = [
        ["id", "tenure", "contract", "note"],
        ["1", "12", "Month-to-month", "a, b; c"],
        ["2", "3", "One year", "x|y\tz"],
        ["3", "40", "Two year", ""],
    ]
    buf = io.StringIO()
    pd.DataFrame(rows[1:], columns=rows[0]).to_csv(buf, sep=delimiter, index=False, quoting=1)
    upload = read_upload(write(tmp_path, buf.getvalue().encode()))
    assert upload.delimiter == delimiter
    assert upload.frame["note"].tolist() == ["a, b; c", "x|y\tz", ""]


def test_quoted_newlines_crlf_and_trailing_blank_rows(tmp_path):
    text = 'id,note,tenure\r\n1,"line one\r\nline two",3\r\n2,"say ""hi""",4\r\n,,\r\n\r\n , ,\r\n'
    upload = read_upload(write(tmp_path, text.encode()))
    assert upload.frame["note"].tolist() == ["line one\r\nline two", 'say "hi"']
    assert len(upload.frame) == 2 and upload.blank_rows == 2


def test_rows_padded_with_extra_empty_fields_are_read(tmp_path):
    upload = read_upload(write(tmp_path, b"id,tenure\n1,3\n2,4,,\n,,,\n"))
    assert upload.frame.to_dict("list") == {"id": ["1", "2"], "tenure": ["3", "4"]}


def test_rows_with_extra_values_are_refused_with_the_row(tmp_path):
    with pytest.raises(InputError, match=r"row 3 has 3 fields but the header has 2") as err:
        read_upload(write(tmp_path, b"id,tenure\n1,3\n2,4,oops\n"))
    assert err.value.code == "ragged"


def test_title_lines_above_the_header_are_skipped(tmp_path):
    text = "Customer report\nGenerated 2024-05-01,,\n\nid,tenure,contract\n1,2,monthly\n2,5,annual\n"
    upload = read_upload(write(tmp_path, text.encode()))
    assert list(upload.frame.columns) == ["id", "tenure", "contract"] and len(upload.frame) == 2
    assert upload.skipped_lines == 3


def test_blank_and_repeated_headers_are_made_unique(tmp_path):
    upload = read_upload(write(tmp_path, b"id,phone,phone,,\n1,a,b,c,\n2,d,e,f,\n"))
    assert list(upload.frame.columns) == ["id", "phone", "phone (2)", "column_4"]


def test_single_column_file_is_read(tmp_path):
    upload = read_upload(write(tmp_path, b"customer_id\nA\nB\n"))
    assert upload.frame["customer_id"].tolist() == ["A", "B"]


def test_cells_stay_text(tmp_path):
    upload = read_upload(write(tmp_path, b"id,tenure\n007,12\n008,\n"))
    assert pd.api.types.is_string_dtype(upload.frame["id"]) and upload.frame["id"].tolist() == ["007", "008"]


def test_index_is_the_row_position_in_the_file(tmp_path):
    upload = read_upload(write(tmp_path, b"id,x\n1,a\n,\n3,c\n"))
    assert upload.frame.index.tolist() == [0, 2]


def xlsx_bytes(rows, title=None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
        sheet.append([])
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def test_xlsx_is_read_from_its_first_sheet(tmp_path):
    data = xlsx_bytes(
        [
            ["Customer ID", "Tenure", "Monthly Charges", "Partner", "Notes"],
            ["0042", 12, 29.85, True, None],
            ["0043", 3.0, 1234.5, False, "call back"],
        ],
        title="Export",
    )
    upload = read_upload(write(tmp_path, data, "book.xlsx"))
    assert upload.format == "xlsx" and upload.encoding == "xlsx" and upload.delimiter is None
    assert upload.sheet == "Sheet"
    assert upload.frame.to_dict("list") == {
        "Customer ID": ["0042", "0043"],
        "Tenure": ["12", "3"],
        "Monthly Charges": ["29.85", "1234.5"],
        "Partner": ["yes", "no"],
        "Notes": ["", "call back"],
    }


def test_xlsx_format_comes_from_the_bytes_not_the_name(tmp_path):
    upload = read_upload(write(tmp_path, xlsx_bytes([["id", "tenure"], ["a", 1]]), "looks_like.csv"))
    assert upload.format == "xlsx"


@pytest.mark.parametrize(
    "kind, data",
    [
        ("gzip", gzip.compress(TEXT.encode())),
        ("bzip2", bz2.compress(TEXT.encode())),
    ],
)
def test_compressed_uploads_are_refused_not_decompressed(tmp_path, kind, data):
    with pytest.raises(InputError, match=f"{kind}-compressed.*never decompressed") as err:
        read_upload(write(tmp_path, data, "customers.csv.gz"))
    assert err.value.code == "compressed"


def test_zip_archive_is_refused(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("customers.csv", TEXT)
    with pytest.raises(InputError, match="ZIP archive; uploads are never decompressed"):
        read_upload(write(tmp_path, buf.getvalue(), "customers.zip"))


def test_legacy_xls_is_refused_with_what_to_do(tmp_path):
    with pytest.raises(InputError, match=r"\.xls\).*save it as \.xlsx or CSV"):
        read_upload(write(tmp_path, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old.xls"))


@pytest.mark.parametrize(
    "data, code",
    [
        (b"", "empty_file"),
        (b"  \n\n", "empty_file"),
        (b"id,tenure\n", "no_rows"),
        (b"id,tenure\n,\n,\n", "no_rows"),
        (bytes(range(256)) * 40, "not_text"),
        (b"%PDF-1.7\n...", "not_text"),
    ],
)
def test_unusable_files_fail_with_one_clear_line(tmp_path, data, code):
    with pytest.raises(InputError) as err:
        read_upload(write(tmp_path, data))
    assert err.value.code == code
    assert "\n" not in str(err.value) and ":" in str(err.value)


def test_caps_on_bytes_rows_and_columns(tmp_path):
    path = write(tmp_path, b"id,tenure\n" + b"".join(b"%d,1\n" % i for i in range(50)))
    with pytest.raises(InputError, match="over the .* limit") as err:
        read_upload(path, max_bytes=100)
    assert err.value.code == "too_large"
    with pytest.raises(InputError, match="more than 10 rows, over the limit") as err:
        read_upload(path, max_rows=10)
    assert err.value.code == "too_many_rows"
    wide = write(
        tmp_path, (",".join(f"c{i}" for i in range(30)) + "\n" + ",".join("1" * 30) + "\n").encode(), "w.csv"
    )
    with pytest.raises(InputError, match="30 columns, over the limit of 20") as err:
        read_upload(wide, max_columns=20)
    assert err.value.code == "too_wide"


def test_xlsx_caps(tmp_path):
    path = write(tmp_path, xlsx_bytes([["id", "t"]] + [[str(i), i] for i in range(30)]), "b.xlsx")
    with pytest.raises(InputError, match="more than 10 rows"):
        read_upload(path, max_rows=10)


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_upload(tmp_path / "nope.csv")


def test_semicolons_win_over_decimal_commas(tmp_path):
    upload = read_upload(write(tmp_path, b"id;mrr\nA;1,5\nB;2,25\n"))
    assert upload.delimiter == ";" and upload.frame.to_dict("list") == {
        "id": ["A", "B"],
        "mrr": ["1,5", "2,25"],
    }


def test_old_mac_line_endings_and_utf16_without_bom(tmp_path):
    assert read_upload(write(tmp_path, b"id,tenure\r1,2\r3,4\r")).frame["tenure"].tolist() == ["2", "4"]
    upload = read_upload(write(tmp_path, "id\ttenure\nA\t1\n".encode("utf-16-le"), "u.txt"))
    assert (upload.encoding, upload.delimiter, upload.frame.loc[0, "id"]) == ("utf-16-le", "\t", "A")


def test_unbalanced_quotes_are_an_input_error(tmp_path):
    with pytest.raises(InputError, match="not a readable CSV") as err:
        read_upload(write(tmp_path, b'id,note\n1,"abc\n2,def\n'))
    assert err.value.code == "unparseable"


def test_xlsx_formatting_far_beyond_the_data_is_ignored(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [["id", "tenure"], ["a", 1], ["b", 2]]:
        sheet.append(row)
    sheet.cell(row=3000, column=700).number_format = "0.00"  # styled, empty: stretches the used range
    path = tmp_path / "formatted.xlsx"
    book.save(path)
    upload = read_upload(path, max_rows=10, max_columns=20)
    assert upload.frame.to_dict("list") == {"id": ["a", "b"], "tenure": ["1", "2"]}


# --- Arrow's reading of a CSV equals pandas' (csv_format.frames: Arrow first, pandas where Arrow cannot) ---

DATA = Path(__file__).resolve().parent / "data"

#: name -> (bytes, delimiter, whether Arrow hands over to pandas somewhere in the file)
TRICKY = {
    "blank_lines": (b"id,note\n\n1,a\n\n\n2,b\n\n", ",", False),
    "crlf": (b"id,note\r\n1,a\r\n\r\n2,b\r\n", ",", False),
    "lone_cr": (b"id,note\r1,a\r\r2,b\r", ",", False),
    "quoted_newlines": (b'id,note\r\n1,"line one\r\nline two"\r\n2,"a\nb\rc"\r\n', ",", False),
    "doubled_quotes": (b'id,note\n1,"say ""hi"""\n2,""""\n3,""\n', ",", False),
    "quote_inside_unquoted": (b'id,note\n1,ab"c"d\n2,x"\n3,"ab"cd\n', ",", False),
    "whitespace_around": (b'id,note\n 1 , "2"\n3 ,"4" \n\t5\t,6\n', ",", False),
    "no_final_newline": (b"id,note\n1,a\n2,b", ",", False),
    "bom": (b"\xef\xbb\xbfid,note\n1,a\n", ",", False),
    "header_only": (b"id,note\n", ",", False),
    "unicode": (
        "id;note\n1;Zoë Ångström\n2;“quoted” – 5 €\n3;\u00a0\n4;\u3000 \u2003\n".encode(),
        ";",
        False,
    ),
    "rows_of_delimiters": (b"id|note|x\n1|a|b\n||\n | \t|\n2|c|d\n", "|", False),
    "tabs": (b"id\tnote\n1\t\n\t\n \t \n2\tb\n", "\t", False),
    "closed_empty_quote_at_end": (
        b'id,note\n1,""',
        ",",
        True,
    ),  # looks like an unclosed quote: pandas decides
    "trailing_delimiter": (b"id,note\n1,a,\n2,b,,\n", ",", True),
    "extra_values": (b"id,note\n1,a\n2,b,oops\n", ",", True),
    "short_rows": (b"id,note,x\n1,a,b\n2\n3,c\n", ",", True),
    "whitespace_line": (b"id,note\n1,a\n   \n2,b\n", ",", True),
    "whitespace_line_tab": (b"id\tnote\n1\ta\n  \n2\tb\n", "\t", True),
    "lone_cr_in_lf_file": (b"id,note\n1,x\ry\n", ",", True),
    "unclosed_quote_at_end": (b'id,note\n1,"abc\n2,def\n', ",", True),
    "unclosed_quote_last_row": (b'id,note\n1,a\n2,"abc', ",", True),
    "unclosed_doubled_quote": (b'id,note\n1,"x""\n', ",", True),
    "unclosed_quote_middle_column": (b'id,note,x\n1,"abc,d\n2,e,f\n', ",", True),
    "second_bom": (b"\xef\xbb\xbf\xef\xbb\xbfid,note\n1,a\n", ",", True),
    "blank_cr_line_then_empty_cell": (b"id,note,x\r\r,b,c\r1,2,3\r", ",", True),
    "one_column": (b"id\n1\n  \n\n2\n", ",", True),
}


def _outcome(frames):
    out = []
    try:
        out.extend(frames)
    except InputError as exc:
        return out, (exc.code, str(exc))
    return out, None


def _read_both_ways(
    path: Path, encoding: str, delimiter: str, chunk_rows: int, monkeypatch, skipped: int = 0
):
    """(Arrow-first frames, pandas' frames, the records from which Arrow handed over to pandas)."""
    real, handovers = csv_format._pandas_frames, []

    def spy(*args, start: int = 0):
        handovers.append(start)
        return real(*args, start=start)

    with monkeypatch.context() as patch:
        patch.setattr(csv_format, "_pandas_frames", spy)
        arrow = _outcome(csv_format.frames(path, encoding, delimiter, skipped, chunk_rows, path.name))
    return arrow, _outcome(real(path, encoding, delimiter, skipped, chunk_rows, path.name)), handovers


def _assert_same(arrow, pandas):
    (mine, my_error), (theirs, their_error) = arrow, pandas
    assert my_error == their_error
    assert len(mine) == len(theirs)
    for a, b in zip(mine, theirs, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True, check_index_type=True, check_column_type=True)
        assert all(dtype == "str" for dtype in a.dtypes)


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 50_000])
@pytest.mark.parametrize("case", sorted(TRICKY))
def test_arrow_frames_equal_pandas_frames(tmp_path, monkeypatch, case, chunk_rows):
    data, delimiter, hands_over = TRICKY[case]
    path = write(tmp_path, data)
    encoding = detect_encoding(path, path.name)
    arrow, pandas, handovers = _read_both_ways(path, encoding, delimiter, chunk_rows, monkeypatch)
    _assert_same(arrow, pandas)
    assert bool(handovers) == hands_over


def _fixtures():
    return sorted(
        p
        for folder in ("exports", "twins")
        for p in (DATA / folder).iterdir()
        if p.suffix in (".csv", ".txt", ".tsv")
    )


@pytest.mark.parametrize("chunk_rows", [7, 50_000])
@pytest.mark.parametrize("path", _fixtures(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_arrow_frames_equal_pandas_frames_for_the_fixtures(monkeypatch, path, chunk_rows):
    encoding = detect_encoding(path, path.name)
    with open(path, encoding=encoding, newline="") as fh:
        delimiter, skipped, _ = csv_format.sniff(fh.read(csv_format.SNIFF_CHARS + 1).lstrip("\ufeff"))
    arrow, pandas, handovers = _read_both_ways(path, encoding, delimiter, chunk_rows, monkeypatch, skipped)
    _assert_same(arrow, pandas)
    # pandas reads what is not UTF-8, title lines above the header, and from the padded row of dirty.csv on
    expected = (
        encoding not in ("utf-8", "utf-8-sig")
        or skipped > 0
        or path.name == "dirty.csv"
        and path.parent.name == "exports"
    )
    assert bool(handovers) == expected


def test_arrow_frames_equal_pandas_frames_for_random_text(tmp_path, monkeypatch):
    rng = random.Random(13)
    read_by_arrow = 0
    for i in range(600):
        delimiter = rng.choice([",", ";", "\t", "|"])
        width = rng.choice([2, 3])
        end = rng.choice(["\n", "\r\n", "\r"])
        cells = ["x", "", '"q,"', '"a""b"', '" "', " ", 'a"b', '"x\ny"', '""', '"\r\n"', "é", delimiter]
        rows = [delimiter.join(f"h{j}" for j in range(width))]
        rows += [delimiter.join(rng.choice(cells) for _ in range(width)) for _ in range(rng.randint(0, 12))]
        junk = ["a", delimiter, '"', "\n", "\r", " ", "\t", '""', "\r\n"]
        tail = "".join(rng.choice(junk) for _ in range(rng.choice([0, 0, 2, 8])))
        path = write(tmp_path, (end.join(rows) + rng.choice([end, ""]) + tail).encode(), f"r{i}.csv")
        # small blocks: records and quoted values across Arrow's block boundaries
        monkeypatch.setattr(csv_format, "_ARROW_BLOCK", rng.choice([32, 64, 1 << 20]))
        arrow, pandas, handovers = _read_both_ways(
            path, "utf-8", delimiter, rng.choice([1, 2, 5, 50]), monkeypatch
        )
        _assert_same(arrow, pandas)
        read_by_arrow += not handovers
    assert read_by_arrow > 60  # the comparison is not all fallbacks


def _long_file(tmp_path, rows: int, bad_row: int | None = None) -> Path:
    lines = ["id,note,amount"]
    for i in range(rows):
        note = ["plain", '"with, comma"', '"two\r\nlines"', '"say ""hi"""', ""][i % 5]
        lines.append(f"C{i:05d},{note},{i * 1.5}" if i != bad_row else f"C{i:05d},short")
    return write(tmp_path, ("\r\n".join(lines) + "\r\n").encode())


@pytest.mark.parametrize("chunk_rows", [1, 7, 500, 5000])
def test_arrow_batches_are_cut_into_exact_chunks(tmp_path, monkeypatch, chunk_rows):
    monkeypatch.setattr(csv_format, "_ARROW_BLOCK", 1024)  # many small batches
    path = _long_file(tmp_path, 3000)
    arrow, pandas, handovers = _read_both_ways(path, "utf-8", ",", chunk_rows, monkeypatch)
    _assert_same(arrow, pandas)
    assert handovers == []
    assert [len(f) for f in arrow[0][:-1]] == [chunk_rows] * (len(arrow[0]) - 1)


def test_pandas_reads_on_from_the_first_frame_arrow_did_not_hand_out(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_format, "_ARROW_BLOCK", 1024)
    path = _long_file(tmp_path, 3000, bad_row=2500)  # a short row: pandas pads it
    arrow, pandas, handovers = _read_both_ways(path, "utf-8", ",", 100, monkeypatch)
    _assert_same(arrow, pandas)
    assert len(handovers) == 1 and 0 < handovers[0] <= 2500 and handovers[0] % 100 == 0
    assert arrow[0][25].loc[2501].tolist() == ["C02500", "short", ""]


def test_a_record_longer_than_arrows_block_is_read_by_pandas(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_format, "_ARROW_BLOCK", 1024)
    path = write(tmp_path, b"id,note\n1,a\n2," + b"x" * 5000 + b"\n3,c\n")
    arrow, pandas, handovers = _read_both_ways(path, "utf-8", ",", 2, monkeypatch)
    _assert_same(arrow, pandas)
    assert handovers == [0]


@pytest.mark.parametrize("case", sorted(TRICKY) + ["long_cell", "sparse_wide"])
def test_uploads_read_the_same_with_and_without_arrow(tmp_path, monkeypatch, case):
    if case == "long_cell":
        data = (
            b"id,note\n1,a\n2,"
            + "é".encode() * MAX_CELL_CHARS
            + b"\n3,"
            + b"x" * (MAX_CELL_CHARS + 1)
            + b"\n"
        )
    elif case == "sparse_wide":
        data = b"a,b,c,,\n" + b"".join(b",,,%s,\n" % (b"x" if i % 3 else b" ") for i in range(60))
    else:
        data = TRICKY[case][0]
    path = write(tmp_path, data)

    def read():
        try:
            upload = read_upload(path, chunk_rows=4)
        except InputError as exc:
            return exc.code, str(exc)
        return upload.frame, upload.blank_rows, upload.encoding, upload.delimiter

    arrow = read()
    monkeypatch.setattr(csv_format, "_ARROW_ENCODINGS", ())
    pandas = read()
    if isinstance(arrow[0], pd.DataFrame):
        pd.testing.assert_frame_equal(arrow[0], pandas[0], check_exact=True)
        arrow, pandas = arrow[1:], pandas[1:]
    assert arrow == pandas


# --- the per-chunk checks on Arrow arrays equal the pandas ones they replace ---


def _blank_rows_by_pandas(frame: pd.DataFrame) -> list[int]:
    filled = pd.Series(False, index=frame.index)
    for col in frame.columns:
        values = frame[col]
        some = values.ne("")
        if some.any():
            filled |= some & values.where(some, "").str.strip().ne("")
    return [i for i, f in enumerate(filled) if not f]


def test_blank_rows_are_found_as_pandas_strip_found_them():
    rng = random.Random(5)
    cells = [
        "",
        " ",
        "\t",
        "\u00a0",
        "\u2003",
        "\u3000",
        "\x1c",
        "\x85",
        "\u200b",
        "\ufeff",
        "\r\n",
        "a",
        " b ",
    ]
    for _ in range(200):
        rows, width = rng.randint(0, 30), rng.randint(1, 4)
        frame = pd.DataFrame(
            [[rng.choice(cells) for _ in range(width)] for _ in range(rows)],
            columns=range(width),
            dtype="str",
            index=pd.RangeIndex(7, 7 + rows),
        )
        if rows and rng.random() < 0.2:
            frame.iloc[rng.randrange(rows), rng.randrange(width)] = None  # a missing cell counts as filled
        assert _blank_rows(frame).tolist() == _blank_rows_by_pandas(frame)


@pytest.mark.parametrize("header_row", [False, True])
def test_cell_lengths_are_counted_in_characters(header_row):
    ok = pd.DataFrame(
        {0: ["é" * MAX_CELL_CHARS, "x"], 1: ["a", "😀" * MAX_CELL_CHARS]}, dtype="str", index=[10, 11]
    )
    _check_cells(ok, "f.csv", header_row=header_row)  # up to 4 bytes a character: still within the limit
    long = ok.copy()
    long.loc[11, 0] = "é" * (MAX_CELL_CHARS + 1)
    long.loc[10, 1] = "y" * (MAX_CELL_CHARS + 5)
    with pytest.raises(InputError) as err:
        _check_cells(long, "f.csv", header_row=header_row)
    where = "the header" if header_row else "row 13"
    assert str(err.value) == (
        f"f.csv: {where} has a cell of {MAX_CELL_CHARS + 1:,} characters, over the limit "
        f"of {MAX_CELL_CHARS:,} (a spreadsheet cell's maximum): check the file is a customer "
        "list."
    )
    assert err.value.code == "cell_too_long"
