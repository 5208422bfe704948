"""SHAP values computed ahead, in a background thread, while the rest of the run goes on.

Why: exact TreeSHAP (XGBoost's ``pred_contribs``, which releases the GIL) is
most of a big run's work and the only part that runs on every core; the rest
(parsing, validation, scoring tables, factor lists, writing) is Python on one
core. Run one after the other, the second core idles through all of that. So
each chunk's SHAP values are computed as soon as the chunk is validated and
parked on disk, in a background pool, and the explanation stage takes
them when it reaches the chunk: both cores stay busy (``bench/bench_scale.py``).

The pool has one thread per CPU, each scoring whole chunks on a single
XGBoost thread (a booster copy of its own). Why not one thread running
XGBoost on every CPU: its threads split each chunk in equal parts, so while
the main thread holds one CPU the part on that CPU finishes late and the
other CPU waits for it; independent single-threaded chunks keep every CPU
busy whoever else runs. The values are the same numbers
:func:`explain.explain_rows` gives for the chunk (it is what runs, and each
row's values are computed by one thread either way); only *when* and where
they are computed changes. The model is
chosen from the first chunk's columns (a file's columns rarely differ between
chunks); when the whole file chooses another model, :meth:`Ahead.result`
computes the chunk in the foreground instead (see ``Pipeline.explain``).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from retainwise.science.explain import Explanations, explain_rows
from retainwise.science.model import NTHREAD
from retainwise.science.streaming import read_chunk


class Ahead:
    """Background SHAP values for spilled chunks, by chunk number, for one model."""

    def __init__(self, model, workers: int = NTHREAD) -> None:
        self.model = model
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="rw-shap")
        self._futures: list[Future] = []
        self._local = threading.local()  # each pool thread's single-threaded copy of the model

    def submit(self, path: Path) -> None:
        """Compute the SHAP values of the chunk parked at ``path`` (read back there, in the background)."""
        # The rows are read back from disk rather than held: a queue of chunks waiting for SHAP would
        # otherwise keep their rows in memory.
        self._futures.append(self._pool.submit(self._explain, Path(path)))

    def _explain(self, path: Path) -> Explanations:
        model = getattr(self._local, "model", None)
        if model is None:
            model = self._local.model = self.model.with_threads(1)
        return explain_rows(read_chunk(path), model)

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
