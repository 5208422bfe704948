"""The run snapshot: every scored customer as the run saw them, in ``snapshot.parquet``.

One row per scored customer, in results.parquet's order (the same customers: rows the validator
rejected are not here), with ``customer_id``, every canonical field the file has as normalised and
validated (numbers and flags float64, categories ``str``), ``churned`` when the file has it, and the
tenant's own columns: each source column the mapping left out, as ``own:<original header>``, its raw
cell text (``str``), cut at :data:`MAX_CELL_CHARS` characters. At most :data:`MAX_OWN` own columns are
kept (file order); the rest are listed as dropped in summary.json (``snapshot``).

This is what outcomes are joined to later (outcomes.py): the customers as they were when this run
scored them, never as a later file describes them. :class:`SnapshotWriter` appends chunk by chunk
(pyarrow's ParquetWriter), so a run never holds the whole file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from retainwise.science import schema

FILE = "snapshot.parquet"
OWN_PREFIX = "own:"
#: Own (unmapped) columns kept per run; the rest are listed as dropped.
MAX_OWN = 50
#: An own cell's text is cut at this many characters.
MAX_CELL_CHARS = 200
_KINDS = {c.name: c.kind for c in schema.COLUMNS}


def own_columns(unmapped: list[str]) -> tuple[list[str], list[str]]:
    """(kept, dropped) of the source columns the mapping left out: the first :data:`MAX_OWN` are kept."""
    unmapped = [str(c) for c in unmapped]
    return unmapped[:MAX_OWN], unmapped[MAX_OWN:]


def kept_positions(canonical: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """Positions in ``canonical`` (one validated chunk) of ``rows`` (what the validator kept of it).

    The validator keeps, of each id, its first row in the chunk at most (repeats and rows without an id
    are rejected), in order; so each kept row is the first row of its id. Raises RuntimeError if not.
    """
    if len(rows) == len(canonical):  # nothing rejected (the usual chunk): every row, in order
        return np.arange(len(rows))
    ids = canonical["customer_id"]
    first = (~ids.duplicated() & ids.notna()).to_numpy()
    at = pd.Index(ids.to_numpy()[first]).get_indexer(rows["customer_id"].to_numpy())
    if (at < 0).any():
        raise RuntimeError("snapshot rows do not line up with the validated rows")
    return np.flatnonzero(first)[at]


def _canonical_type(name: str) -> pa.DataType:
    return pa.string() if _KINDS.get(name) in ("id", "category") else pa.float64()


class SnapshotWriter:
    """Writes ``snapshot.parquet`` chunk by chunk: ``with SnapshotWriter(path, unmapped) as w: w.add(...)``.

    The file is written under a temporary name and only renamed into place when the block ends without
    an exception (a failed run leaves no partial snapshot). Chunks are compressed and written by one
    background thread (in order; Arrow releases the GIL), off the validation's main thread.
    """

    def __init__(self, path: str | Path, unmapped: list[str]) -> None:
        self.path = Path(path)
        self.own, self.dropped = own_columns(unmapped)
        self.rows = 0
        self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self._writer = self._schema = None
        self._pool, self._pending = None, []

    def __enter__(self) -> SnapshotWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self

    def add(self, raw: pd.DataFrame, canonical: pd.DataFrame, rows: pd.DataFrame) -> None:
        """One chunk: ``raw`` the upload's text cells, ``canonical`` them normalised, ``rows`` the validated
        rows kept of them (what was parked for scoring, in order)."""
        if not len(rows):
            return
        at = kept_positions(canonical, rows)
        columns = {name: self._canonical(name, rows[name]) for name in rows.columns}
        for source in self.own:
            cells = (
                raw[source] if isinstance(raw[source].dtype, pd.StringDtype) else raw[source].astype("str")
            )
            text = pa.array(cells.array).take(pa.array(at))
            if isinstance(text, pa.ChunkedArray):
                text = text.combine_chunks()
            columns[OWN_PREFIX + source] = pc.utf8_slice_codeunits(text.cast(pa.string()), 0, MAX_CELL_CHARS)
        table = pa.table(columns)
        if self._writer is None:
            from concurrent.futures import ThreadPoolExecutor

            import pyarrow.parquet as pq

            self._schema = table.schema
            self._writer = pq.ParquetWriter(self._tmp, self._schema, compression="zstd", compression_level=1)
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snapshot")
        while len(self._pending) >= 2:  # at most two chunks wait for the writer: memory stays a chunk's
            self._pending.pop(0).result()  # a failed write raises here
        self._pending.append(self._pool.submit(self._writer.write_table, table.cast(self._schema)))
        self.rows += len(rows)

    @staticmethod
    def _canonical(name: str, values: pd.Series) -> pa.Array:
        kind = _canonical_type(name)
        if kind == pa.float64():
            return pa.array(values.to_numpy(dtype="float64", na_value=np.nan), pa.float64(), from_pandas=True)
        return pa.array(values.astype("str").array, from_pandas=True).cast(pa.string())

    def summary(self) -> dict:
        """summary.json's ``snapshot``: rows, own columns kept and dropped, the cell limit."""
        return {
            "file": FILE,
            "rows": self.rows,
            "own_columns": list(self.own),
            "own_columns_dropped": list(self.dropped),
            "cell_chars": MAX_CELL_CHARS,
        }

    def _finish(self, wait: bool) -> None:
        """Every chunk written (``wait``: a failed write raises) and the file closed."""
        try:
            while wait and self._pending:
                self._pending.pop(0).result()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=not wait)
            if self._writer is not None:
                self._writer.close()

    def __exit__(self, exc_type, *exc) -> None:
        try:
            self._finish(wait=exc_type is None)
        except BaseException:
            self._tmp.unlink(missing_ok=True)
            raise
        if exc_type is not None:
            self._tmp.unlink(missing_ok=True)
            return
        if self._writer is None:  # nothing scored (validation raises then); an empty snapshot all the same
            import pyarrow.parquet as pq

            pq.write_table(pa.table({"customer_id": pa.array([], pa.string())}), self._tmp)
        os.replace(self._tmp, self.path)


def read_snapshot(path: str | Path) -> pd.DataFrame:
    """A run's snapshot as written (small and medium runs: it is read whole)."""
    return pd.read_parquet(path)


def own_name(source: str) -> str:
    """The snapshot column of the source column ``source``."""
    return OWN_PREFIX + str(source)
