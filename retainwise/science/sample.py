"""The first rows of an upload, for a column review: read up to the sample and no further.

The portal shows a staged file's columns before it is scored. Reading the whole file for that
(``read_upload``) made a 313 KB workbook of 5M cells cost 117 MB and 13 s of CPU in the portal's
kernel; here the workbook is streamed (``xlsx.py``, in chunks of :data:`~retainwise.science.reading.
SAMPLE_ROWS` rows) and reading stops once the sample is in: the mapping is decided on those rows, as the
runner's is. Rows past the sample are not checked here; the runner reads and checks every row when
the file is scored, so a problem further down is reported on the run, with the CLI's words.
"""

from __future__ import annotations

import pandas as pd

from retainwise.science.reading import open_upload
from retainwise.science.upload_stream import SAMPLE_ROWS


def sample_frame(path, rows: int = SAMPLE_ROWS) -> pd.DataFrame:
    """The first ``rows`` customer rows of the upload at ``path`` (CSV or .xlsx), as text cells.

    Raises InputError, as ``read_upload`` does, for a file that is unusable from its first rows.
    """
    return open_upload(path, chunk_rows=rows).frame.head(rows)
