"""A 1,000,000-customer upload: `retainwise score` against the floor for the same work, and its peak memory.

Generates a Telco-style upload (default 1,000,000 rows), runs `retainwise score` on it as a user would (a
fresh process), sampling the resident memory of its whole process tree (the CLI, the kernel and their
children) every 0.2 s. In the same script it measures the floor: reading the file with
``pandas.read_csv(engine="pyarrow")``, plus XGBoost's ``pred_contribs`` and ``inplace_predict`` with the
committed model on the same rows (the work nothing can avoid), once just before the run and once just
after, and takes the mean (the speed of a shared virtual machine drifts over minutes).

Exits non-zero when the peak RSS is over 1.5 GiB or the wall time over 1.6x the floor.

Usage: python bench/bench_scale.py [--rows 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _procs import rss_bytes, tree  # noqa: E402
from _stack import make_upload  # noqa: E402

PEAK_LIMIT = 1.5 * 1024**3
RATIO_LIMIT = 1.6


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants (from /proc)."""
    return rss_bytes(tree(root))


def run_sampled(cmd: list[str]) -> tuple[float, int, int]:
    """(wall seconds, peak tree RSS, exit code) of ``cmd``."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak, done = 0, threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(proc.pid))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    if proc.returncode:
        print(err[-2000:], file=sys.stderr)
    return wall, peak, proc.returncode


def floor_seconds(upload: Path) -> dict[str, float]:
    """The unavoidable work on the same rows: pyarrow CSV read, pred_contribs, predict."""
    import pandas as pd

    from retainwise.science.canonical import to_canonical
    from retainwise.science.features import feature_frame
    from retainwise.science.mapping import map_columns
    from retainwise.science.model import load_model

    t = time.perf_counter()
    raw = pd.read_csv(upload, engine="pyarrow", dtype=str)
    read_s = time.perf_counter() - t
    rows = to_canonical(raw, map_columns(raw.head(2000)))
    del raw
    model = load_model().models["full"]
    x = feature_frame(rows, model.features)
    del rows
    import xgboost as xgb

    t = time.perf_counter()
    model.booster.predict(xgb.DMatrix(x, enable_categorical=True), pred_contribs=True)
    shap_s = time.perf_counter() - t
    t = time.perf_counter()
    model.booster.inplace_predict(x, predict_type="margin")
    predict_s = time.perf_counter() - t
    return {"read_csv(pyarrow)": read_s, "pred_contribs": shap_s, "predict": predict_s}


def _stage_timings(out: Path) -> dict[str, float]:
    """Where the run's time went, as its summary.json records it (empty when the run wrote none)."""
    import json

    try:
        return json.loads((out / "summary.json").read_text(encoding="utf-8"))["timings_s"]
    except (OSError, ValueError, KeyError):
        return {}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", default=None, help="keep the upload and outputs in this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep or tmp)
        work.mkdir(parents=True, exist_ok=True)
        upload = make_upload(args.rows, work / "upload.csv")
        print(f"upload: {args.rows:,} rows, {upload.stat().st_size / 1e6:.0f} MB")
        cmd = [
            sys.executable,
            "-m",
            "retainwise",
            "score",
            str(upload),
            "--out",
            str(work / "out"),
            "--quiet",
        ]
        # the floor is measured just before and just after the run, and averaged: a virtual machine's
        # speed drifts over minutes (other tenants), and the run sits between the two
        before = floor_seconds(upload)
        wall, peak, code = run_sampled(cmd)
        stages = _stage_timings(work / "out")
        after = floor_seconds(upload)
    floor = {k: (before[k] + after[k]) / 2 for k in before}
    floor_s = sum(floor.values())
    ratio = wall / floor_s
    print(
        f"retainwise score: {wall:.1f} s wall, peak RSS of the process tree {peak / 1024**3:.2f} GiB"
        f"{'' if code == 0 else f' (exit {code})'}"
    )
    print(
        "floor (mean of before and after the run): "
        + ", ".join(f"{k} {v:.1f} s" for k, v in floor.items())
        + f" = {floor_s:.1f} s (before {sum(before.values()):.1f} s, after {sum(after.values()):.1f} s)"
    )
    print("run's stages (summary.json): " + ", ".join(f"{k} {v:.1f} s" for k, v in stages.items()))
    print(
        f"ratio to the floor: {ratio:.2f} (target <= {RATIO_LIMIT})  {'OK' if ratio <= RATIO_LIMIT else 'MISSED'}"
    )
    print(f"peak RSS: {peak / 1024**3:.2f} GiB (target <= 1.5)  {'OK' if peak <= PEAK_LIMIT else 'MISSED'}")
    return 0 if code == 0 and ratio <= RATIO_LIMIT and peak <= PEAK_LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
