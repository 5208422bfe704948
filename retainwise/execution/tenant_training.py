"""Running ``notebooks/tenant_training.ipynb`` with Papermill: a tenant model's training run.

The notebook learns the tenant's model from a history file and the labelled data kept so far, gates it
against what the tenant gets today and writes ``model.ubj`` and ``card.json``; the executed notebook is
the record of the run. Errors are translated as for every notebook (:func:`run_notebook`): too little
data is the kernel's :class:`~retainwise.errors.InputError` (permanent).
"""

from __future__ import annotations

import json
from pathlib import Path

from retainwise.execution.notebook import run_notebook

NOTEBOOK = "tenant_training.ipynb"
OUTPUT_NOTEBOOK = f"notebooks/{NOTEBOOK}"


def _path(value: str | Path | None) -> str:
    return str(Path(value).resolve()) if value else ""


def run_training(
    tenant: str,
    out_dir: str | Path,
    executed: str | Path,
    *,
    history_path: str | Path | None = None,
    labelled_dir: str | Path | None = None,
    current_model_dir: str | Path | None = None,
    seed: int = 42,
    km=None,
    timeout: int | None = None,
) -> dict:
    """Execute the training notebook for ``tenant``; its artefacts go to ``out_dir``, the executed notebook to
    ``executed`` (left there on failure too). Returns the saved model's card (``card.json``).

    ``history_path``: the training upload; ``labelled_dir``: a folder of the tenant's labelled Parquet files;
    ``current_model_dir``: the tenant's active model (the gate's incumbent). ``km``: a started kernel to
    run on (else one is started and shut down here); ``timeout`` caps each cell (seconds).
    """
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    params = {
        "tenant": tenant,
        "history_path": _path(history_path),
        "labelled_dir": _path(labelled_dir),
        "current_model_dir": _path(current_model_dir),
        "out_dir": str(out_dir),
        "seed": int(seed),
    }
    run_notebook(NOTEBOOK, executed, params, km=km, cwd=out_dir, timeout=timeout)
    return json.loads((out_dir / "card.json").read_text(encoding="utf-8"))
