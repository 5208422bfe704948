"""The column review's sample (retainwise.science.sample): a workbook is read up to its sample and no further.

Measured once on 2 shared cores, a 100,000 x 50 sheet (5M cells, a 389 KB file): the portal's old whole
read took 25.1 s of CPU and +274 MB of resident memory, the sample 0.6 s and +18 MB. Under tracemalloc the
whole read peaked at 176 MB; the sample peaks at 7.6 MB, the same as for a 2,500-row sheet. The test
asserts that ratio to the small sheet, not a time.
"""

from __future__ import annotations

import tracemalloc
import zipfile
from pathlib import Path

import pytest

from retainwise.errors import InputError
from retainwise.science.sample import sample_frame
from retainwise.science.upload_stream import SAMPLE_ROWS

pytestmark = pytest.mark.slow

_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'


def workbook(path: Path, rows: int, cols: int, *, bad_row_at: int | None = None) -> Path:
    """An .xlsx of a header and ``rows`` rows of ``cols`` numbers, written as XML (openpyxl would take minutes
    for 5M cells); ``bad_row_at``: that row is wider than the header (an error only a whole read finds)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(
            "xl/workbook.xml",
            f'<workbook {_NS} {_REL}><sheets><sheet name="Customers" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        )
        header = b"".join(b'<c t="inlineStr"><is><t>column %d</t></is></c>' % j for j in range(cols))
        row = b"<row>" + b"".join(b"<c><v>%d</v></c>" % j for j in range(cols)) + b"</row>"
        with z.open("xl/worksheets/sheet1.xml", "w") as fh:
            fh.write(f"<worksheet {_NS}><sheetData><row>".encode() + header + b"</row>")
            for start in range(0, rows, 1000):
                if bad_row_at is not None and start <= bad_row_at < start + 1000:
                    fh.write(row * (bad_row_at - start) + row.replace(b"</row>", b"<c><v>9</v></c></row>"))
                    fh.write(row * (min(1000, rows - start) - (bad_row_at - start) - 1))
                else:
                    fh.write(row * min(1000, rows - start))
            fh.write(b"</sheetData></worksheet>")
    return path


def _peak(path: Path):
    tracemalloc.start()
    try:
        frame = sample_frame(path)
        return frame, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_5m_cell_workbook_is_sampled_in_the_memory_of_a_small_one(tmp_path):
    small = workbook(tmp_path / "small.xlsx", 2_500, 50)
    big = workbook(tmp_path / "big.xlsx", 100_000, 50)  # 5,000,000 cells
    small_frame, small_peak = _peak(small)
    big_frame, big_peak = _peak(big)
    assert big_frame.shape == small_frame.shape == (SAMPLE_ROWS, 50)
    assert list(big_frame.columns) == [f"column {j}" for j in range(50)]
    # the whole read peaked at 23x the small sheet (176 MB against 7.6 MB): the sample must stay level
    assert big_peak < 1.5 * small_peak, (big_peak, small_peak)


def test_the_sample_is_the_first_rows_and_a_problem_further_down_is_left_to_the_run(tmp_path):
    from retainwise.science.reading import read_upload

    path = workbook(tmp_path / "ragged.xlsx", 5_000, 4, bad_row_at=4_000)
    frame = sample_frame(path)
    assert len(frame) == SAMPLE_ROWS and frame.index[0] == 0 and frame.index[-1] == SAMPLE_ROWS - 1
    with pytest.raises(InputError, match="beyond the header"):  # the runner's whole read still refuses it
        read_upload(path)


def test_an_unusable_workbook_is_refused_from_its_first_rows(tmp_path):
    path = tmp_path / "empty.xlsx"
    workbook(path, 0, 3)
    with pytest.raises(InputError, match="no customer rows"):
        sample_frame(path)


@pytest.mark.aws
def test_the_portal_reads_only_the_sample_of_a_staged_workbook(stack, tmp_path):
    from retainwise.reports.portal import read_sample

    path = workbook(tmp_path / "customers.xlsx", 5_000, 4, bad_row_at=4_000)
    key = "uploads/acme/portal/0123456789ab-customers.xlsx"
    stack.storage.put_bytes(key, path.read_bytes())
    frame = read_sample(stack.storage, key, "customers.xlsx")  # the whole read refused this file (row 4,000)
    assert len(frame) == SAMPLE_ROWS and list(frame.columns) == [f"column {j}" for j in range(4)]
