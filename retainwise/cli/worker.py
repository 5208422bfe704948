"""``retainwise worker``: one queue runner process, until SIGTERM/SIGINT (or, with --once, an empty queue)."""

from __future__ import annotations

import json
import signal
import threading

from retainwise.settings import Settings


def cli_worker(args) -> int:
    """Install the stop signals, run the worker, print its summary. Raises ConfigError or StorageError."""
    from runner import run_worker

    stop = threading.Event()
    # Only a flag: runs in hand finish (within the stop grace) and the worker returns its summary.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    summary = run_worker(
        Settings.from_env(),
        concurrency=args.concurrency,
        pool_size=0 if getattr(args, "no_pool", False) else args.pool_size,
        poll_wait_s=args.poll_wait,
        retry_backoff_s=args.retry_backoff,
        once=args.once,
        stop_event=stop,
    )
    print("retainwise worker: " + json.dumps(summary), flush=True)
    return 0
