"""Writers of a run's outputs: ``results.csv``, ``results.parquet`` and ``summary.json``.

``results.csv`` has one row per distinct customer, in the order of the upload,
with the contract columns in order (the docs' "Output formats" page), then ``monthly_charges`` (for revenue at risk in the report; empty when
the upload had none) and the A/B detail: ``ml_probability``,
``rules_probability`` (empty where the rules cannot score) and
``scores_disagree``. Cells that echo customer text are neutralised against
CSV injection before writing. :class:`ResultsWriter` appends chunk after
chunk to both the CSV and ``results.parquet`` (the same rows and columns,
typed, for data scientists), so a big run never holds all its results.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from retainwise.science.neutralise import neutralise_frame

RESULT_COLUMNS = [
    "customer_id",
    "churn_probability",
    "churn_risk",
    "predicted_churn",
    "explanation",
    "risk_factors",
    "protective_factors",
    "recommended_action",
    "model_version",
    "experiment_group",
]
#: After the DESIGN columns: revenue for the report, then the A/B detail (both scores, strong disagreement 0/1).
EXTRA_COLUMNS = ["monthly_charges", "ml_probability", "rules_probability", "scores_disagree"]
#: Columns that may echo text the customer wrote.
ECHOED = ["customer_id", "explanation", "risk_factors", "protective_factors"]


def write_results(results: pd.DataFrame, path: Path) -> Path:
    """Write ``results`` (must hold RESULT_COLUMNS) as CSV, echoed text neutralised. Raises ValueError if not."""
    with ResultsWriter(path, parquet=False) as writer:
        writer.append(results)
    return path


class ResultsWriter:
    """Appends result chunks to ``results.csv`` and (``parquet``) ``results.parquet`` next to it.

    Every chunk must hold RESULT_COLUMNS (ValueError otherwise) and the same
    extra columns as the first. Use as a context manager; files are complete on exit.
    """

    def __init__(self, path: Path, *, parquet: bool = True) -> None:
        self.path, self.parquet_path = Path(path), Path(path).with_suffix(".parquet") if parquet else None
        self.columns: list[str] | None = None
        self._csv = self._parquet = self._schema = None
        self.rows = 0

    def __enter__(self) -> ResultsWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._csv = open(self.path, "wb")  # noqa: SIM115 - closed in __exit__
        return self

    def append(self, results: pd.DataFrame) -> None:
        """Write one chunk of results (its rows after the ones already written)."""
        missing = [c for c in RESULT_COLUMNS if c not in results.columns]
        if missing:
            raise ValueError(f"results lack columns {missing}")
        if self.columns is None:
            self.columns = RESULT_COLUMNS + [c for c in EXTRA_COLUMNS if c in results.columns]
        safe = neutralise_frame(results[self.columns], ECHOED)
        if self.rows == 0:
            self._csv.write((",".join(self.columns) + "\n").encode())
        self._csv.write(csv_bytes(safe))
        if self.parquet_path is not None:
            self._append_parquet(safe)
        self.rows += len(safe)

    def _append_parquet(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._schema is None:
            self._schema = pa.Schema.from_pandas(frame, preserve_index=False)
            self._parquet = pq.ParquetWriter(self.parquet_path, self._schema, compression="zstd")
        self._parquet.write_table(pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False))

    def __exit__(self, *exc) -> None:
        if self.rows == 0 and self._csv is not None:  # no chunk came: still a CSV with its header
            self._csv.write((",".join(RESULT_COLUMNS) + "\n").encode())
        if self._csv is not None:
            self._csv.close()
        if self._parquet is not None:
            self._parquet.close()


def _significant(x: np.ndarray, digits: int = 6) -> np.ndarray:
    """``x`` rounded to ``digits`` significant digits (what ``%.6g`` prints), vectorised."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.floor(np.log10(np.abs(x)))
    e = (digits - 1) - np.where(np.isfinite(mag), mag, 0)
    up = e >= 0  # scale by an exact power of ten, so the result is the double nearest the decimal
    scale = 10.0 ** np.abs(e)
    return np.where(
        up,
        np.round(x * np.where(up, scale, 1.0)) / np.where(up, scale, 1.0),
        np.round(x / np.where(up, 1.0, scale)) * np.where(up, 1.0, scale),
    )


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame``'s rows as CSV (no header, ``\\n`` line ends, every non-empty text field quoted, empty
    text and missing values as empty fields, floats to 6 significant digits), by Arrow's CSV writer.

    Why Arrow's writer: a million results (700 MB) take it about 2 s; building the lines ourselves,
    quoting only the fields that need it as pandas does, took 13 s. Quoting every text field is the
    same table to every CSV reader (RFC 4180).
    """
    import io

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    if frame.shape[1] == 0 or not len(frame):
        return b""
    columns = {}
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_float_dtype(values):
            columns[name] = pa.array(_significant(values.to_numpy(dtype="float64")), from_pandas=True)
        elif pd.api.types.is_integer_dtype(values) or pd.api.types.is_bool_dtype(values):
            columns[name] = pa.array(values.astype("int64"), from_pandas=True)
        else:
            text = pa.array(values.astype("str"), from_pandas=True).cast(pa.string())
            columns[name] = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)  # "" as empty
    out = io.BytesIO()
    pacsv.write_csv(
        pa.table(columns), out, write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed")
    )
    return out.getvalue()


def write_customers(rows: pd.DataFrame, path: Path) -> Path:
    """The canonical fields of the customers a report shows (``rows``, in results_top.csv's order) as Parquet.

    Their values are the customers' own, as mapped and normalised: read by the report (segments, what-if)
    instead of the upload, and never written to CSV, so nothing here reaches a spreadsheet.
    """
    rows.reset_index(drop=True).to_parquet(path, index=False, compression="zstd")
    return Path(path)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_summary(summary: dict, path: Path) -> Path:
    """Write ``summary`` (or any record) as pretty JSON, numpy scalars and NaN made JSON-safe, atomically.

    Raises OSError when the folder cannot be written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(_jsonable(summary), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)  # readers (the runner, `retainwise score`) never see half a file
    return path
