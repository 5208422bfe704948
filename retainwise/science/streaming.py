"""What a streamed run keeps between chunks: spilled rows and order-free totals.

A big file is read, validated and scored chunk by chunk; what later stages
need of the whole file is kept here, small:

- :class:`Spill`: the validated canonical rows, one Arrow IPC file per chunk
  in a private temporary folder (gone when the run is), read back one chunk
  at a time by the SHAP pool, prediction and explanation;
- :class:`ExactSum`: sums quantised to integers, so the total is the same
  whatever the chunking (floating-point sums depend on their order; a chunked
  run must give the whole-file figures digit for digit);
- :class:`Top`: the customers most at risk so far (and their canonical rows).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd


class Spill:
    """Chunks of rows parked on disk, read back in order.

    Arrow IPC, uncompressed: each chunk is written once and read three times (SHAP ahead, prediction,
    explanation); Parquet took 5x the CPU to write and 4x to read (about 3 CPU-s of a million-row run)
    for files 12x smaller. A million canonical rows take about 250 MB of disk until the run ends.
    """

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="retainwise-run-")
        self.paths: list[Path] = []
        self.rows = 0

    def put(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.feather as feather

        path = Path(self._dir.name) / f"chunk-{len(self.paths):05d}.arrow"
        feather.write_feather(
            pa.Table.from_pandas(frame, preserve_index=True), path, compression="uncompressed"
        )
        self.paths.append(path)
        self.rows += len(frame)

    def chunks(self) -> Iterator[pd.DataFrame]:
        """The chunks in the order they were put (index kept)."""
        for path in self.paths:
            yield read_chunk(path)

    def all(self) -> pd.DataFrame:
        """Every row at once (small files: tests, JupyterLab)."""
        frames = list(self.chunks())
        return pd.concat(frames) if frames else pd.DataFrame()

    def close(self) -> None:
        self._dir.cleanup()


def read_chunk(path: Path) -> pd.DataFrame:
    """One parked chunk (see :class:`Spill`), its index and dtypes as put."""
    import pyarrow.feather as feather

    return feather.read_table(path).to_pandas()


class ExactSum:
    """Per-column sums of values quantised to ``1 / scale``: integers, so the order of chunks cannot matter."""

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.total: np.ndarray | None = None

    def add(self, values: np.ndarray) -> None:
        q = np.rint(np.nan_to_num(np.asarray(values, dtype="float64")) * self.scale).astype(np.int64)
        # int64 within a chunk (|value| x scale x chunk rows stays far below 2**63), Python ints across chunks
        part = np.array(q.sum(axis=0).tolist(), dtype=object)
        self.total = part if self.total is None else self.total + part

    def value(self) -> np.ndarray | float:
        if self.total is None:
            return 0.0
        out = np.asarray(self.total, dtype=object) / self.scale
        return out.astype("float64") if np.ndim(out) else float(out)


class Top:
    """The ``n`` rows highest by ``by`` over every chunk added (ties: file order), each with its row of a
    companion frame (the customers' canonical fields).

    Why not sort the kept rows with each chunk: they are long text (explanations, factor lists), and a
    million-row run would re-sort 50,000 of them twenty times. Rows are only collected, and rows below the
    ``n``-th highest value collected so far are dropped (they can never be in the top); one stable sort
    at the end gives what sorting everything at once gives.
    """

    def __init__(self, n: int, by: str = "churn_probability") -> None:
        self.n, self.by = n, by
        self._parts: list[tuple[pd.DataFrame, pd.DataFrame | None]] = []
        self._rows, self._floor = 0, -np.inf

    def add(self, chunk: pd.DataFrame, companion: pd.DataFrame | None = None) -> None:
        """Collect ``chunk``'s rows that may be in the top (``companion``: same index, rows kept alongside)."""
        keep = (chunk[self.by] >= self._floor).to_numpy()
        if keep.any():
            self._parts.append((chunk.loc[keep], None if companion is None else companion.loc[keep]))
            self._rows += int(keep.sum())
        if self._rows >= 2 * self.n:  # prune: memory stays within about twice the top
            values = np.concatenate([part[self.by].to_numpy(dtype="float64") for part, _ in self._parts])
            self._floor = max(
                self._floor, float(np.partition(values, len(values) - self.n)[len(values) - self.n])
            )
            self._parts = [
                (part.loc[m], None if comp is None else comp.loc[m])
                for part, comp in self._parts
                for m in [(part[self.by] >= self._floor).to_numpy()]
                if m.any()
            ]
            self._rows = sum(len(part) for part, _ in self._parts)

    def frame(self) -> pd.DataFrame | None:
        """The top rows, highest first (None when nothing was added)."""
        if not self._parts:
            return None
        both = pd.concat([part for part, _ in self._parts])
        return both.sort_values(self.by, ascending=False, kind="stable").head(self.n)

    def companion(self, top: pd.DataFrame) -> pd.DataFrame | None:
        """The companion rows of ``top`` (from :meth:`frame`), in its order."""
        parts = [comp for _, comp in self._parts if comp is not None]
        return pd.concat(parts).loc[top.index] if parts else None
