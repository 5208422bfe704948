"""Running the pipeline notebook with Papermill, locally or for the runner.

One notebook (``notebooks/pipeline.ipynb``) holds the four stages, so a run
costs one kernel start. Kernels talk to us over IPC sockets, not TCP: nothing
listens on the network and ipykernel has no unencrypted-TCP warning to print.

Errors raised inside the kernel reach us as Papermill's
``PapermillExecutionError`` carrying only the exception's name and text; they
are translated back into RetainWise's categories here (the edge), so callers
decide on retries from the category alone.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from retainwise.errors import BY_NAME, ExecutionError, RetainwiseError
from retainwise.execution.kernels import KERNEL_NAME, start_kernel

NOTEBOOK = "pipeline.ipynb"
OUTPUT_NOTEBOOK = f"notebooks/{NOTEBOOK}"
REPORT_NOTEBOOK = "report.ipynb"
OUTPUT_REPORT_NOTEBOOK = f"notebooks/{REPORT_NOTEBOOK}"

# Jupyter's path-migration notice is noise for our users; opt in to the new paths.
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
# papermill -> nbformat -> jsonschema tries `import rfc3987_syntax`, which builds a lark grammar at import
# time (~0.8 s of a 1.1 s `import papermill`) only to check "iri" formats that notebook schemas never use.
# Marking it absent makes jsonschema skip that checker. Only in processes that run notebooks for us.
sys.modules.setdefault("rfc3987_syntax", None)


def notebook_path(name: str = NOTEBOOK) -> Path:
    """Where a shipped notebook lives (the repository's notebooks/, or the installed copy)."""
    from retainwise.resources import notebook

    return notebook(name)


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
    home: str | Path | None = None,
    progress: bool = False,
    timeout: int | None = None,
) -> RunOutcome:
    """Execute the pipeline notebook on ``input_path``; outputs go to ``output_dir``.

    ``km`` is an already started KernelManager to run on (the runner's pool);
    with ``None`` a fresh kernel is started and shut down here. ``timeout`` caps
    each cell (seconds). The executed notebook is always left at
    ``output_dir/notebooks/pipeline.ipynb``, with the error at its top on failure.

    Raises :class:`InputError` / :class:`ModelError` (permanent) for unusable
    input or model, :class:`ExecutionError` (transient) when the kernel dies or
    times out.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from retainwise.execution.engine import ENGINE_NAME, connect
    from retainwise.execution.kernels import POOL_CLIENT

    output_dir = Path(output_dir).resolve()
    executed = output_dir / OUTPUT_NOTEBOOK
    report_executed = output_dir / OUTPUT_REPORT_NOTEBOOK
    executed.parent.mkdir(parents=True, exist_ok=True)
    params = {
        "input_path": str(Path(input_path).resolve()),
        "output_dir": str(output_dir),
        "tenant": tenant,
        "run_id": run_id,
        "quality_level": quality_level,
        "mapping_overrides": dict(mapping_overrides or {}),
        "rules_share": float(rules_share),
        "home": str(Path(home).resolve()) if home else "",
    }
    own_kernel = km is None
    started = time.perf_counter()
    kc = own_kc = None
    try:
        if own_kernel:
            km = start_kernel(cwd=output_dir)
        # One ready client for both notebooks (a pool kernel comes with one, connected while it warmed).
        kc = getattr(km, POOL_CLIENT, None)
        if kc is None:
            kc = own_kc = connect(km)
        on_kernel = dict(km=km, kc=kc, kernel_name=KERNEL_NAME, engine_name=ENGINE_NAME, execution_timeout=timeout,
                         log_output=False, request_save_on_cell_execute=False)
        try:
            pm.execute_notebook(str(notebook_path()), str(executed), parameters=params, progress_bar=progress,
                                **on_kernel)
            # The customer report, on the same kernel (same run, same tenant): no second kernel start.
            report_started = time.perf_counter()
            pm.execute_notebook(str(notebook_path(REPORT_NOTEBOOK)), str(report_executed),
                                parameters={"results_dir": str(output_dir)}, progress_bar=False, **on_kernel)
            report_notebook_s = time.perf_counter() - report_started
        finally:
            _stamp(executed, km, pooled=not own_kernel)
    except PapermillExecutionError as exc:
        raise _from_kernel(exc) from None
    except RetainwiseError:
        raise
    except Exception as exc:  # kernel death, timeouts, zmq failures: worth a retry
        _ensure_record(executed, f"{type(exc).__name__}: {exc}")
        raise ExecutionError(
            f"The notebook run did not finish ({type(exc).__name__}: {exc}).", code="kernel_failed"
        ) from exc
    finally:
        if own_kc is not None:  # a pool's client is the pool's to close
            own_kc.stop_channels()
        if own_kernel and km is not None:
            km.shutdown_kernel(now=True)
    notebook_s = time.perf_counter() - started

    from retainwise.execution.static_report import render_static

    t = time.perf_counter()
    report = render_static(report_executed, output_dir / "report.html", subtitle=f"{tenant} · run {run_id}")
    summary_path = output_dir / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    summary["timings_s"].update(notebook=round(notebook_s - report_notebook_s, 4),
                                report_notebook=round(report_notebook_s, 4),
                                report=round(time.perf_counter() - t, 4))
    summary_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    outputs = {
        "results.csv": output_dir / "results.csv",
        "summary.json": summary_path,
        "report.html": report,
        OUTPUT_NOTEBOOK: executed,
        OUTPUT_REPORT_NOTEBOOK: report_executed,
    }
    return RunOutcome(summary=summary, outputs=outputs)


def _stamp(executed: Path, km, *, pooled: bool) -> None:
    """Record which kernel process ran this notebook (isolation is auditable per run)."""
    if not executed.exists():
        return
    import nbformat

    from retainwise.execution.kernels import kernel_pid

    nb = nbformat.read(str(executed), as_version=4)
    nb.metadata["retainwise"] = {"kernel_pid": kernel_pid(km), "kernel_pooled": pooled}
    nbformat.write(nb, str(executed))


def _from_kernel(exc) -> RetainwiseError:
    """A RetainWise error of the right category for an exception raised in the kernel."""
    cls = BY_NAME.get(exc.ename)
    if cls is not None:
        return cls(exc.evalue)
    # Our own code failed on this input: a retry fails the same way, so it is permanent.
    return RetainwiseError(
        f"The pipeline failed in cell {exc.exec_count} with {exc.ename}: {exc.evalue}", code="pipeline_failed"
    )


def _ensure_record(executed: Path, reason: str) -> None:
    """Leave an executed-notebook record even when Papermill could not write one."""
    if executed.exists():
        return
    import nbformat

    nb = nbformat.read(str(notebook_path()), as_version=4)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"# Run failed\n\n`{reason}`"))
    nbformat.write(nb, str(executed))


def score_file(
    file: str | Path, out: str | Path, *, tenant: str = "local", run_id: str | None = None,
    quality_level: str = "standard", progress: bool = True, rules_share: float = 0.0, home: str | Path | None = None,
) -> RunOutcome:
    """``retainwise score``: run the pipeline notebook on ``file`` with a fresh kernel.

    ``home`` (RETAINWISE_HOME) is where confirmed column mappings are saved per tenant and reused.
    """
    import uuid

    path = Path(file)
    if not path.is_file():
        from retainwise.errors import InputError

        raise InputError(f"{file}: no such file. Check the path and try again.", code="no_file")
    return run_pipeline(
        path, out, tenant=tenant, run_id=run_id or uuid.uuid4().hex[:12], quality_level=quality_level,
        progress=progress, rules_share=rules_share, home=home,
    )


def cli_score(args) -> int:
    start = time.perf_counter()
    quiet = args.quiet
    if not quiet:
        print(f"Scoring {args.file} for tenant '{args.tenant}' (one notebook run: map, validate, predict, explain)…",
              file=sys.stderr)
    from retainwise.settings import Settings

    outcome = score_file(args.file, args.out, tenant=args.tenant, run_id=args.run_id,
                         quality_level=args.quality_level, progress=not quiet, rules_share=args.rules_share,
                         home=Settings.from_env().home)
    print(format_summary(outcome, args.out, time.perf_counter() - start))
    return 0


def format_summary(outcome: RunOutcome, out: str | Path, seconds: float) -> str:
    """The short text summary ``retainwise score`` prints."""
    import csv

    s = outcome.summary
    q = s["quality"]
    rc = s["risk_counts"]
    lines = [
        f"Scored {s['rows_scored']:,} customers from {s.get('input', {}).get('name', '')} "
        f"({s['rows_rejected']:,} rows rejected) in {seconds:.1f} s — run {s['run_id']}",
        f"Data quality: {q['score']:.0f}/100 ({q['level']} checks, {len(q['issues'])} issues)",
        f"Risk: HIGH {rc['HIGH']:,} · MEDIUM {rc['MEDIUM']:,} · LOW {rc['LOW']:,}   (model {s['model']['version']})",
        "Most at risk:",
    ]
    with open(outcome.outputs["results.csv"], newline="", encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            if i == 5:
                break
            lines.append(f"  {row['customer_id']:<14} {float(row['churn_probability']):6.1%}  {row['churn_risk']:<6} "
                         f"{row['explanation']}")
    names = ", ".join(outcome.outputs)
    lines.append(f"Outputs in {out}: {names}")
    return "\n".join(lines)
