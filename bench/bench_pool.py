"""Queue -> COMPLETED latency of a 1,000-row upload with the kernel pool versus without it.

One `retainwise up`-style stack per mode, one runner each, the same upload submitted
``--repeat`` times one after another (with a pause, as uploads arrive in practice, so
the replacement kernel has warmed). Target: with the pool <= 0.5x without.

Also prints what `import retainwise` and `import papermill` cost in this environment
(fresh interpreters, minus an empty interpreter's start).

Usage: python bench/bench_pool.py [--rows 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stack import make_upload, median, start_stack, submit_and_wait, wait_ready  # noqa: E402


def import_seconds(statement: str, repeat: int = 5) -> float:
    def run(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - start

    base = median([run("pass") for _ in range(repeat)])
    return median([run(statement) for _ in range(repeat)]) - base


def measure(home: Path, upload: Path, repeat: int, worker_args: list[str]) -> list[float]:
    platform = start_stack(home, 1, worker_args)
    try:
        wait_ready(platform)
        time.sleep(5)  # the pool (if any) warms
        times = []
        for _ in range(repeat):
            times.append(submit_and_wait(platform, upload))
            time.sleep(4)  # the next upload arrives later; a replacement kernel warms meanwhile
        return times
    finally:
        platform.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(
        f"import retainwise: {import_seconds('import retainwise'):.3f} s; "
        f"import retainwise.execution.execute (papermill deferred): {import_seconds('import retainwise.execution.execute'):.3f} s; "
        f"import papermill (as the runner imports it): "
        f"{import_seconds('import retainwise.execution.execute, papermill'):.3f} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        upload = make_upload(args.rows, tmp / "upload.csv")
        cold = measure(tmp / "cold", upload, args.repeat, ["--no-pool"])
        warm = measure(tmp / "warm", upload, args.repeat, [])
    c, w = median(cold), median(warm)
    print(
        f"queue -> COMPLETED, {args.rows} rows, median of {args.repeat}: without pool {c:.2f} s "
        f"({', '.join(f'{x:.2f}' for x in cold)}); with pool {w:.2f} s ({', '.join(f'{x:.2f}' for x in warm)})"
    )
    ratio = w / c
    print(f"ratio with/without = {ratio:.2f} (target <= 0.5): {'OK' if ratio <= 0.5 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
