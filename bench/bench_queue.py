"""Throughput and queue -> COMPLETED latency of a `retainwise up` stack with 2 runners.

Two phases on the same stack, 20 uploads of 1,000 rows each:

1. burst: all 20 submitted at once; throughput = files / (last finish - first submit), in files/min.
   Latency in a burst is mostly waiting in the queue, so it is printed but not the target.
2. paced: 20 submitted one after another at 80% of the measured capacity (the burst's throughput),
   the load a stack is sized for; p50/p95 of queue -> COMPLETED latency.

Reference, measured in this script on the same file: `retainwise score` as a user runs it (a fresh
process and a cold kernel). Target: paced p50 <= 1.5x the reference.

Usage: python bench/bench_queue.py [--files 20] [--rows 1000] [--runners 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _stack import latency, make_upload, median, pct, score_seconds, start_stack, wait_ready  # noqa: E402

from retainwise.platform.jobs import submit  # noqa: E402
from retainwise.platform.runs import RunStore  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--runners", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        upload = make_upload(args.rows, tmp / "upload.csv")
        reference = median([score_seconds(upload, tmp / f"score{i}") for i in range(3)])

        platform = start_stack(tmp / "home", args.runners)
        try:
            wait_ready(platform)
            time.sleep(5)  # let the runners' kernel pools warm, as on a stack that has been up a while
            store = RunStore.from_settings(platform.settings)

            start = time.monotonic()
            ids = [submit(upload, f"tenant-{i % 5}", platform.settings, store) for i in range(args.files)]
            with ThreadPoolExecutor(8) as pool:
                burst = list(pool.map(lambda r: latency(store, r), ids))
            elapsed = time.monotonic() - start
            throughput = args.files / elapsed * 60

            time.sleep(5)
            interval = 60 / throughput / 0.8
            ids = []
            for i in range(args.files):
                ids.append(submit(upload, f"tenant-{i % 5}", platform.settings, store))
                time.sleep(interval)
            paced = [latency(store, r) for r in ids]
        finally:
            platform.stop()

    p50 = median(paced)
    print(f"stack: {args.runners} runners, {args.files} uploads x {args.rows} rows")
    print(f"reference `retainwise score` (cold process + kernel): {reference:.2f} s")
    print(
        f"burst:  throughput {throughput:.1f} files/min; latency p50 {median(burst):.2f} s, "
        f"p95 {pct(burst, 0.95):.2f} s (mostly queueing)"
    )
    print(f"paced at {60 / interval:.1f} files/min: latency p50 {p50:.2f} s, p95 {pct(paced, 0.95):.2f} s")
    ratio = p50 / reference
    print(f"ratio paced p50 / score = {ratio:.2f} (target <= 1.5): {'OK' if ratio <= 1.5 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
