"""What a streamed run keeps between chunks: spilled rows and order-free totals.

A big file is read, validated and scored chunk by chunk; what later stages
need of the whole file is kept here, small:

- :class:`Spill`: the validated canonical rows, one Parquet file per chunk in
  a private temporary folder (gone when the run is), read back one chunk at a
  time by prediction and explanation;
- :class:`ExactSum`: sums quantised to integers, so the total is the same
  whatever the chunking (floating-point sums depend on their order; a chunked
  run must give the whole-file figures digit for digit);
- :func:`top_rows`: the customers most at risk so far.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd


class Spill:
    """Chunks of rows parked on disk (Parquet), read back in order."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="retainwise-run-")
        self.paths: list[Path] = []
        self.rows = 0

    def put(self, frame: pd.DataFrame) -> None:
        path = Path(self._dir.name) / f"chunk-{len(self.paths):05d}.parquet"
        frame.to_parquet(path, index=True)
        self.paths.append(path)
        self.rows += len(frame)

    def chunks(self) -> Iterator[pd.DataFrame]:
        """The chunks in the order they were put (index kept)."""
        for path in self.paths:
            yield pd.read_parquet(path)

    def all(self) -> pd.DataFrame:
        """Every row at once (small files: tests, JupyterLab)."""
        frames = list(self.chunks())
        return pd.concat(frames) if frames else pd.DataFrame()

    def close(self) -> None:
        self._dir.cleanup()


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


def top_rows(best: pd.DataFrame | None, chunk: pd.DataFrame, n: int, by: str = "churn_probability") -> pd.DataFrame:
    """The ``n`` rows of ``best`` and ``chunk`` highest by ``by``; ties keep file order (stable sort)."""
    both = chunk if best is None else pd.concat([best, chunk])
    return both.sort_values(by, ascending=False, kind="stable").head(n)
