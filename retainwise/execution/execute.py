"""Running the pipeline notebook with Papermill, locally or for the runner.

One notebook (``notebooks/pipeline.ipynb``) holds the four stages, so a run
costs one kernel start; the report notebook then runs on the same kernel.
Kernels talk to us over IPC sockets, not TCP: nothing listens on the network
and ipykernel has no unencrypted-TCP warning to print. Notebooks run, and
their errors are translated, in :mod:`retainwise.execution.notebook`.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from retainwise.errors import InputError
from retainwise.execution.notebook import kernel_session, notebook_path, run_notebook

__all__ = ["RunOutcome", "notebook_path", "run_pipeline", "score_file"]

NOTEBOOK = "pipeline.ipynb"
OUTPUT_NOTEBOOK = f"notebooks/{NOTEBOOK}"
REPORT_NOTEBOOK = "report.ipynb"
OUTPUT_REPORT_NOTEBOOK = f"notebooks/{REPORT_NOTEBOOK}"


@dataclass
class RunOutcome:
    """What a finished run produced: its summary and output paths by name."""

    summary: dict
    outputs: dict[str, Path] = field(default_factory=dict)


def run_pipeline(
    input_path: str | Path,
    output_dir: str | Path,
    *,
    tenant: str,
    run_id: str,
    km=None,
    quality_level: str = "standard",
    mapping_overrides: dict | None = None,
    rules_share: float = 0.0,
    saved_mapping: dict | None = None,
    progress: bool = False,
    timeout: int | None = None,
    tenant_model_dir: str | Path | None = None,
) -> RunOutcome:
    """Execute the pipeline notebook on ``input_path``, then the report notebook; outputs go to ``output_dir``.

    ``km`` is an already started KernelManager to run on (the runner's pool);
    with ``None`` a fresh kernel is started and shut down here; both notebooks
    share it and one ready client. ``timeout`` caps each cell (seconds). The
    executed notebook is always left at ``output_dir/notebooks/pipeline.ipynb``,
    with the error at its top on failure. ``saved_mapping`` is the tenant's saved
    column mapping; the one to save next is written to ``output_dir/mapping.json``. ``tenant_model_dir``:
    the tenant's active model of its own, which then scores the file.

    Raises :class:`InputError` / :class:`ModelError` (permanent) for unusable
    input or model, :class:`ExecutionError` (transient) when the kernel dies or
    times out, :class:`InternalError` (permanent) when a cell fails otherwise.
    """
    output_dir = Path(output_dir).resolve()
    params = {
        "input_path": str(Path(input_path).resolve()),
        "output_dir": str(output_dir),
        "tenant": tenant,
        "run_id": run_id,
        "quality_level": quality_level,
        "mapping_overrides": dict(mapping_overrides or {}),
        "rules_share": float(rules_share),
        # tqdm's bars are ipywidgets in a kernel: nobody watches them in a Papermill run, each costs comm
        # messages (60 ms a run), and the executed notebook kept them at "0%" (their text at first display)
        "progress_bar": False,
    }
    if saved_mapping is not None:
        params["saved_mapping"] = saved_mapping
    if tenant_model_dir:
        params["tenant_model_dir"] = str(Path(tenant_model_dir).resolve())
    executed, report_executed = output_dir / OUTPUT_NOTEBOOK, output_dir / OUTPUT_REPORT_NOTEBOOK
    started = time.perf_counter()
    output_dir.mkdir(parents=True, exist_ok=True)
    with kernel_session(km, cwd=output_dir) as (km, kc):
        run_notebook(NOTEBOOK, executed, params, km=km, kc=kc, timeout=timeout, progress=progress)
        # The customer report, on the same kernel (same run, same tenant): no second kernel start.
        report_started = time.perf_counter()
        run_notebook(
            REPORT_NOTEBOOK, report_executed, {"results_dir": str(output_dir)}, km=km, kc=kc, timeout=timeout
        )
        report_notebook_s = time.perf_counter() - report_started
    notebook_s = time.perf_counter() - started
    return _finish(output_dir, tenant, run_id, notebook_s, report_notebook_s)


def _finish(
    output_dir: Path, tenant: str, run_id: str, notebook_s: float, report_notebook_s: float
) -> RunOutcome:
    """Render the static report, add the notebook timings to summary.json; the run's outcome."""
    from retainwise.execution.static_report import render_static  # nbconvert: ~1 s, only once a run is done

    executed, report_executed = output_dir / OUTPUT_NOTEBOOK, output_dir / OUTPUT_REPORT_NOTEBOOK
    t = time.perf_counter()
    report = render_static(report_executed, output_dir / "report.html", subtitle=f"{tenant} · run {run_id}")
    summary_path = output_dir / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    summary["timings_s"].update(
        notebook=round(notebook_s - report_notebook_s, 4),
        report_notebook=round(report_notebook_s, 4),
        report=round(time.perf_counter() - t, 4),
    )
    summary_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    outputs = {
        "results.csv": output_dir / "results.csv",
        "summary.json": summary_path,
        "report.html": report,
        OUTPUT_NOTEBOOK: executed,
        OUTPUT_REPORT_NOTEBOOK: report_executed,
    }
    return RunOutcome(summary=summary, outputs=outputs)


def score_file(
    file: str | Path,
    out: str | Path,
    *,
    tenant: str = "local",
    run_id: str | None = None,
    quality_level: str = "standard",
    progress: bool = True,
    rules_share: float = 0.0,
    saved_mapping: dict | None = None,
    tenant_model_dir: str | Path | None = None,
) -> RunOutcome:
    """Run the pipeline notebook on ``file`` with a fresh kernel (what ``retainwise score`` does).

    Raises :class:`InputError` when ``file`` does not exist, and whatever :func:`run_pipeline` raises.
    """
    path = Path(file)
    if not path.is_file():
        raise InputError(f"{file}: no such file. Check the path and try again.", code="no_file")
    return run_pipeline(
        path,
        out,
        tenant=tenant,
        run_id=run_id or uuid.uuid4().hex[:12],
        quality_level=quality_level,
        progress=progress,
        rules_share=rules_share,
        saved_mapping=saved_mapping,
        tenant_model_dir=tenant_model_dir,
    )
