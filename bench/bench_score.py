"""`retainwise score` on 10,000 rows versus a Papermill run of a trivial notebook.

Both are timed in this script as whole commands (a fresh process each, as a
user runs them): the reference is `papermill` executing a one-cell notebook
that imports the same libraries the pipeline imports. The ratio is the
pipeline's real work on top of the unavoidable kernel start. Target <= 1.5.

Usage: python bench/bench_score.py [--rows 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stack import make_upload  # noqa: E402

IMPORTS = "import pandas, numpy, xgboost, retainwise.science.pipeline, retainwise.reports.charts"


def make_trivial(path: Path) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(IMPORTS)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        upload = make_upload(args.rows, tmp / "upload.csv")
        trivial = make_trivial(tmp / "trivial.ipynb")
        score_cmd = [
            sys.executable,
            "-m",
            "retainwise",
            "score",
            str(upload),
            "--out",
            str(tmp / "out"),
            "--quiet",
        ]
        ref_cmd = [sys.executable, "-m", "papermill", "--no-progress-bar", str(trivial), str(tmp / "t.ipynb")]
        timed(ref_cmd)  # warm the OS file cache for both
        timed(score_cmd)
        ours, ref = [], []
        for _ in range(args.repeat):
            ref.append(timed(ref_cmd))
            ours.append(timed(score_cmd))
    ours_s, ref_s = statistics.median(ours), statistics.median(ref)
    ratio = ours_s / ref_s
    print(f"retainwise score, {args.rows:,} rows: {ours_s:.2f} s (median of {args.repeat})")
    print(f"papermill trivial notebook:        {ref_s:.2f} s")
    print(f"ratio: {ratio:.2f} (target <= 1.5) {'OK' if ratio <= 1.5 else 'OVER TARGET'}")
    return 0 if ratio <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
