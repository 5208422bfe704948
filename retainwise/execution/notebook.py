"""One way to run a notebook with Papermill, and one translation of what went wrong in it.

Scoring (the pipeline and report notebooks), training and the runner all run
notebooks through :func:`run_notebook`. Errors raised inside the kernel reach
us as Papermill's ``PapermillExecutionError`` carrying the exception's name,
text and traceback; a RetainWise error ends its traceback with a JSON record of
its fields (``RetainwiseError._render_traceback_``), and :func:`kernel_error`
turns them back into the same class with the same code here (the edge), so
callers decide on retries from the class alone and runs record the real code.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from retainwise.errors import BY_NAME, KERNEL_RECORD, ExecutionError, InternalError, RetainwiseError
from retainwise.execution.kernels import KERNEL_NAME, POOL_CLIENT, kernel_stamp, start_kernel
from retainwise.resources import notebook as shipped_notebook

# Jupyter's path-migration notice is noise for our users; opt in to the new paths.
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
# papermill -> nbformat -> jsonschema tries `import rfc3987_syntax`, which builds a lark grammar at import
# time (~0.8 s of a 1.1 s `import papermill`) only to check "iri" formats that notebook schemas never use.
# Marking it absent makes jsonschema skip that checker. Only in processes that run notebooks for us.
sys.modules.setdefault("rfc3987_syntax", None)


def notebook_path(name: str) -> Path:
    """Where a shipped notebook lives (the repository's notebooks/, or the installed copy)."""
    return shipped_notebook(name)


@contextmanager
def kernel_session(km=None, kc=None, *, cwd: str | Path | None = None, env: dict | None = None):
    """Yield ``(km, kc)``: the kernel and a ready client, started and closed here when not given.

    A pool kernel comes with the client it connected while warming; a client made here is closed
    here, a pool's or a caller's never. Raises :class:`ExecutionError` when a kernel cannot be
    started or reached.
    """
    # Papermill (~0.3 s to import, measured for bench_pool) loads only when a notebook runs: the engine needs it.
    from retainwise.execution.engine import connect

    own_km = own_kc = None
    try:
        try:
            if km is None:
                km = own_km = start_kernel(cwd=Path(cwd or Path.cwd()).resolve(), env=env)
            kc = kc or getattr(km, POOL_CLIENT, None)
            if kc is None:
                kc = own_kc = connect(km)
        except Exception as exc:  # no kernel, no zmq: worth a retry
            raise ExecutionError(
                f"No kernel could be started ({type(exc).__name__}: {exc}).", code="kernel_failed"
            ) from exc
        yield km, kc
    finally:
        if own_kc is not None:
            own_kc.stop_channels()
        if own_km is not None:
            own_km.shutdown_kernel(now=True)


def run_notebook(
    notebook: str | Path,
    executed: str | Path,
    parameters: dict,
    *,
    km=None,
    kc=None,
    cwd: str | Path | None = None,
    timeout: int | None = None,
    env: dict | None = None,
    progress: bool = False,
) -> Path:
    """Execute ``notebook`` with ``parameters`` injected; the executed copy goes to ``executed`` (returned).

    ``notebook`` is a shipped notebook's name (``"pipeline.ipynb"``) or a path. ``km`` is an already
    started KernelManager (a pool's, or one shared by several notebooks of a run); with ``None`` a
    kernel is started in ``cwd`` (default: the executed notebook's folder) with ``env`` and shut down
    here. ``kc`` is a ready client of ``km`` (default: the pool's client, else one made and closed
    here). ``timeout`` caps each cell (seconds). The executed notebook is always left at
    ``executed``, failures included, stamped with the kernel's PID.

    Raises the RetainWise error raised in the kernel (:class:`InputError`, :class:`ModelError`, ...);
    :class:`InternalError` (permanent) for any other exception in a cell; :class:`ExecutionError`
    (transient) when the kernel dies, times out or cannot be reached.
    """
    from papermill.exceptions import PapermillExecutionError

    source = Path(notebook) if Path(notebook).name != str(notebook) else notebook_path(str(notebook))
    executed = Path(executed)
    executed.parent.mkdir(parents=True, exist_ok=True)
    try:
        with kernel_session(km, kc, cwd=cwd or executed.parent, env=env) as (km, kc):
            _execute(source, executed, parameters, km, kc, timeout=timeout, progress=progress)
    except PapermillExecutionError as exc:
        raise kernel_error(exc, source.stem) from None
    except RetainwiseError:
        _ensure_record(source, executed, "No kernel could be started.")
        raise
    except Exception as exc:  # kernel death, timeouts, zmq failures: worth a retry
        _ensure_record(source, executed, f"{type(exc).__name__}: {exc}")
        raise ExecutionError(
            f"The {source.stem} notebook did not finish ({type(exc).__name__}: {exc}).", code="kernel_failed"
        ) from exc
    return executed


def _execute(source: Path, executed: Path, parameters: dict, km, kc, *, timeout, progress) -> None:
    """Papermill's run of ``source`` on the given kernel; raises what Papermill raises."""
    import papermill as pm  # ~0.3 s: only when a notebook runs (see kernel_session)

    from retainwise.execution.engine import ENGINE_NAME

    # Which kernel ran it goes into the notebook's metadata before Papermill writes it (the engine).
    pm.execute_notebook(
        str(source),
        str(executed),
        parameters=parameters,
        progress_bar=progress,
        km=km,
        kc=kc,
        stamp=kernel_stamp(km),
        kernel_name=KERNEL_NAME,
        engine_name=ENGINE_NAME,
        execution_timeout=timeout,
        log_output=False,
        request_save_on_cell_execute=False,
    )


def kernel_error(exc, notebook: str = "pipeline") -> RetainwiseError:
    """The RetainWise error of the right category for ``exc``, a Papermill error raised in a kernel.

    Raises nothing. One of ours comes back with its class, code and fields from the record line its
    traceback ends with (``RetainwiseError._render_traceback_``); without that line (a kernel whose
    IPython ignores the hook) from its class name and text, with the class's default code. An
    exception that is not one of ours means our own code failed on this input: a bug, and a retry
    fails the same way, so it is an :class:`InternalError` (permanent, code ``<notebook>_failed``).
    """
    cls = BY_NAME.get(exc.ename)
    if cls is not None:
        return cls(exc.evalue, **_recorded_fields(exc.traceback or []))
    return InternalError(
        f"The {notebook} notebook failed in cell {exc.exec_count} with {exc.ename}: {exc.evalue}",
        code=f"{notebook}_failed",
    )


def _recorded_fields(traceback: list[str]) -> dict:
    """``code``, ``column``, ``count`` and ``examples`` from a kernel traceback's record line ({} if none)."""
    last = traceback[-1] if traceback else ""
    if not isinstance(last, str) or not last.startswith(KERNEL_RECORD):
        return {}
    try:
        record = json.loads(last.removeprefix(KERNEL_RECORD))
    except ValueError:
        return {}
    if not isinstance(record, dict):
        return {}
    count = record.get("count")
    examples = record.get("examples")
    return {
        "code": record["code"] if isinstance(record.get("code"), str) else None,
        "column": record["column"] if isinstance(record.get("column"), str) else None,
        "count": count if isinstance(count, int) and not isinstance(count, bool) else None,
        "examples": examples if isinstance(examples, list) else None,
    }


def _ensure_record(source: Path, executed: Path, reason: str) -> None:
    """Leave an executed-notebook record even when Papermill could not write one."""
    if executed.exists():
        return
    import nbformat  # loaded by Papermill already by the time a notebook ran

    nb = nbformat.read(str(source), as_version=4)
    # The reason may quote a customer's text: shown as code, with no backtick to break out of it.
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"# Run failed\n\n`{reason.replace('`', chr(39))}`"))
    nbformat.write(nb, str(executed))
