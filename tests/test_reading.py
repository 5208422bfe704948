"""Reading uploads: encodings, delimiters, quoting, blank rows, Excel, caps and refusals."""

from __future__ import annotations

import bz2
import gzip
import io
import zipfile

import openpyxl
import pandas as pd
import pytest

from retainwise.errors import InputError
from retainwise.science.reading import read_upload

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
