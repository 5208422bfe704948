"""Shared by the queue benchmarks: a `retainwise up` stack in a temporary home, uploads, latencies."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from retainwise.platform.jobs import submit
from retainwise.platform.runs import COMPLETED, RunStore
from retainwise.platform.stack import Platform, wait_for
from retainwise.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TRAINING = ROOT / "retainwise" / "data" / "telco_churn_train.csv"


def make_upload(rows: int, path: Path, seed: int = 1) -> Path:
    data = pd.read_csv(TRAINING, dtype=str, keep_default_na=False).drop(columns=["Churn"])
    big = data.sample(rows, replace=True, random_state=seed).reset_index(drop=True)
    big["customerID"] = [f"C{i:07d}" for i in range(rows)]
    big.to_csv(path, index=False)
    return path


def start_stack(home: Path, runners: int, worker_args: list[str] | None = None) -> Platform:
    settings = Settings(home=home)
    return Platform(settings, runners=runners, voila=False, worker_args=worker_args).start()


def wait_ready(platform: Platform, timeout: float = 120) -> None:
    """Until every runner has logged worker_started (and so its pool is warming or warm)."""
    logs = [Path(platform.settings.home) / "logs" / f"runner-{i}.log" for i in range(platform.runners)]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(p.exists() and "worker_started" in p.read_text() for p in logs):
            return
        time.sleep(0.2)
    raise RuntimeError("runners did not start")


def latency(store: RunStore, run_id: str, timeout: float = 600) -> float:
    """Seconds from the run's recording at submit (queue) to COMPLETED."""
    run = wait_for(store, run_id, timeout=timeout, poll=0.05)
    if run.status != COMPLETED:
        raise RuntimeError(f"run {run_id} failed: {run.error}")
    return (run.finished_at - run.created_at).total_seconds()


def submit_and_wait(platform: Platform, path: Path, tenant: str = "bench") -> float:
    store = RunStore.from_settings(platform.settings)
    return latency(store, submit(path, tenant, platform.settings, store))


def score_seconds(path: Path, out: Path) -> float:
    """Wall time of `retainwise score` on ``path`` as a user runs it (a fresh process)."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "retainwise", "score", str(path), "--out", str(out), "--quiet"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def median(values: list[float]) -> float:
    return statistics.median(values)
