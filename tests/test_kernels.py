"""The pool of pre-started, single-use kernels (retainwise/kernels.py) with real kernels."""

from __future__ import annotations

import os
import signal
import time

import nbformat
import pandas as pd
import pytest

from retainwise.execution.execute import run_pipeline
from retainwise.execution.kernels import KernelPool, kernel_pid

from .conftest import SAMPLE

pytestmark = [pytest.mark.notebook, pytest.mark.slow]


def _names_defined(km) -> set[str]:
    """User-visible global names in a kernel, asked over its own channels."""
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        reply = kc.execute_interactive(
            "sorted(n for n in globals() if not n.startswith('_') and n not in ('In', 'Out', 'exit', 'quit', 'get_ipython'))",
            timeout=60,
            user_expressions={"names": "sorted(n for n in globals() if not n.startswith('_'))"},
            output_hook=lambda msg: None,
        )
        return set(eval(reply["content"]["user_expressions"]["names"]["data"]["text/plain"]))  # noqa: S307
    finally:
        kc.stop_channels()


def _wait_dead(km, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while km.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not km.is_alive()


def _upload(tmp_path, name, ids_prefix):
    data = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False).head(40)
    data["customerID"] = [f"{ids_prefix}-{i}" for i in range(len(data))]
    path = tmp_path / name
    data.to_csv(path, index=False)
    return path


def test_pool_kernel_is_never_reused(tmp_path):
    with KernelPool(2, cwd=tmp_path) as pool:
        pool.wait_ready()
        with pool.kernel() as km_a:
            pid_a = kernel_pid(km_a)
            run_pipeline(
                _upload(tmp_path, "a.csv", "A"), tmp_path / "a", tenant="alpha", run_id="run-a", km=km_a
            )
            assert "run" in _names_defined(km_a)  # the first run left its state in its kernel...
        _wait_dead(
            km_a
        )  # ...and that kernel is gone after its one run (killed at once, reaped in the background)
        with pool.kernel() as km_b:
            pid_b = kernel_pid(km_b)
            leftover = _names_defined(km_b)
            assert not {"run", "tenant", "results", "input_path"} & leftover, leftover
            run_pipeline(
                _upload(tmp_path, "b.csv", "B"), tmp_path / "b", tenant="beta", run_id="run-b", km=km_b
            )
    assert pid_a != pid_b
    recorded = [
        nbformat.read(str(tmp_path / d / "notebooks" / "pipeline.ipynb"), as_version=4).metadata["retainwise"]
        for d in ("a", "b")
    ]
    assert [r["kernel_pid"] for r in recorded] == [pid_a, pid_b]
    assert all(r["kernel_pooled"] for r in recorded)


def test_warm_kernel_holds_libraries_but_no_run_state(tmp_path):
    with KernelPool(1, cwd=tmp_path) as pool:
        pool.wait_ready()
        with pool.kernel() as km:
            names = _names_defined(km)
    assert "retainwise" in names  # warmed: the package is imported
    assert not {"input_path", "output_dir", "tenant", "run_id", "run"} & names


def test_warm_kernel_loaded_the_model_but_not_scikit_learn_or_matplotlib(tmp_path):
    """What a run would import or load first is ready; what no run uses is not paid for (warm-up CPU)."""
    with KernelPool(1, cwd=tmp_path) as pool:
        pool.wait_ready()
        with pool.kernel() as km:
            kc = km.client()
            kc.start_channels()
            try:
                kc.wait_for_ready(timeout=60)
                probe = (
                    "(sorted(m for m in ('sklearn', 'matplotlib', 'xgboost', 'pyarrow.csv', 'tqdm.auto') "
                    "if m in __import__('sys').modules), __import__('retainwise.science.model', "
                    "fromlist=['_load'])._load.cache_info().currsize)"
                )
                reply = kc.execute_interactive(
                    "", timeout=60, user_expressions={"probe": probe}, output_hook=lambda msg: None
                )
            finally:
                kc.stop_channels()
    loaded, models = eval(reply["content"]["user_expressions"]["probe"]["data"]["text/plain"])  # noqa: S307
    assert loaded == ["pyarrow.csv", "tqdm.auto", "xgboost"] and models == 1


def test_a_replacement_warms_after_the_run_not_during_it(tmp_path):
    with KernelPool(1, cwd=tmp_path, refill_after=600) as pool:
        pool.wait_ready()
        with pool.kernel() as km:
            time.sleep(1.0)
            assert pool.started == 1 and pool.ready == 0  # nothing warming while the run has the CPUs
        pool.wait_ready()  # the run ended: its replacement warmed
        assert pool.started == 2 and kernel_pid(pool._ready.queue[0]) != kernel_pid(km)
        _wait_dead(km)


def test_a_long_run_gets_its_replacement_after_refill_after(tmp_path):
    with KernelPool(1, cwd=tmp_path, refill_after=0.5) as pool:
        pool.wait_ready()
        with pool.kernel():
            pool.wait_ready()  # warmed while the (long) run still holds its kernel
            assert pool.started == 2
        time.sleep(0.5)
        assert pool.started == 2  # one replacement per kernel handed out, not a second at its end


def test_pool_prepares_the_static_report_renderer(tmp_path):
    from retainwise.execution import static_report

    static_report._exporter.cache_clear()
    with KernelPool(1, cwd=tmp_path) as pool:
        pool.wait_ready()
        deadline = time.monotonic() + 60
        while static_report._exporter.cache_info().currsize == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert static_report._exporter.cache_info().currsize == 1  # built before any run renders


def test_kernel_killed_while_idle_is_replaced_and_next_run_completes(tmp_path):
    with KernelPool(1, cwd=tmp_path, check_every=0.2) as pool:
        pool.wait_ready()
        victim = kernel_pid(pool._ready.queue[0])
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while pool.replaced < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert pool.replaced == 1
        with pool.kernel() as km:
            assert kernel_pid(km) != victim and km.is_alive()
            outcome = run_pipeline(
                _upload(tmp_path, "c.csv", "C"), tmp_path / "c", tenant="gamma", run_id="run-c", km=km
            )
    assert outcome.summary["rows_scored"] == 40


def test_a_started_kernel_imports_xgboost_without_scikit_learn(tmp_path):
    """Run kernels get science.model's lean-import flag (0.8 s of each run's start)."""
    from retainwise.execution.kernels import start_kernel

    km = start_kernel(cwd=tmp_path)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        reply = kc.execute_interactive(
            "from retainwise.science.model import load_model; _m = load_model()",
            timeout=120,
            user_expressions={"lean": "'sklearn' not in __import__('sys').modules"},
            output_hook=lambda msg: None,
        )
        assert reply["content"]["user_expressions"]["lean"]["data"]["text/plain"] == "True"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
