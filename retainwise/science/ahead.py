"""SHAP values computed ahead, in a background thread, while the rest of the run goes on.

Why: exact TreeSHAP (XGBoost's ``pred_contribs``, which releases the GIL) is
most of a big run's work and the only part that runs on every core; the rest
(parsing, validation, scoring tables, factor lists, writing) is Python on one
core. Run one after the other, the second core idles through all of that. So
each chunk's SHAP values are computed as soon as the chunk is validated and
parked on disk, in one background thread, and the explanation stage takes
them when it reaches the chunk: both cores stay busy (``bench/bench_scale.py``).

The values are the same numbers :func:`explain.explain_rows` gives for the
chunk (it is what runs); only *when* they are computed changes. The model is
chosen from the first chunk's columns (a file's columns rarely differ between
chunks); when the whole file chooses another model, :meth:`Ahead.result`
computes the chunk in the foreground instead (see ``Pipeline.explain``).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from retainwise.science.explain import Explanations, explain_rows


class Ahead:
    """Background SHAP values for spilled chunks, by chunk number, for one model."""

    def __init__(self, model) -> None:
        self.model = model
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rw-shap")
        self._futures: list[Future] = []

    def submit(self, path: Path) -> None:
        """Compute the SHAP values of the chunk parked at ``path`` (read back there, in the background)."""
        # The rows are read back from disk rather than held: a queue of chunks waiting for SHAP would
        # otherwise keep their rows in memory.
        self._futures.append(self._pool.submit(self._explain, Path(path)))

    def _explain(self, path: Path) -> Explanations:
        return explain_rows(pd.read_parquet(path), self.model)

    def result(self, index: int, model, rows: pd.DataFrame) -> Explanations:
        """Chunk ``index``'s values for ``model`` (computed now when ``model`` is not the one guessed)."""
        if model is not self.model or index >= len(self._futures):
            return explain_rows(rows, model)
        values = self._futures[index].result()
        self._futures[index] = None  # each chunk is taken once: free it
        return values

    def close(self) -> None:
        """Stop: chunks not started are dropped, the one running finishes in its thread."""
        self._pool.shutdown(wait=False, cancel_futures=True)
