"""Structured JSON logs for the runner: one object per line, each with an event name.

Counters and durations are kept alongside, so the shutdown summary and the
tests read the same numbers the logs show.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime

from .metrics import metric_fields


class EventLog:
    """Writes ``{"ts", "level", "event", ...}`` lines to ``stream`` and counts events."""

    def __init__(self, stream=None, **context) -> None:
        self.stream = stream or sys.stderr
        self.context = context
        self.counts: Counter[str] = Counter()
        self.durations: list[float] = []
        self.started = time.monotonic()
        self._lock = threading.Lock()

    def __call__(self, event: str, level: str = "info", **fields) -> None:
        record = {
            "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "level": level,
            "event": event,
            **self.context,
            **fields,
        }
        record.update(metric_fields(event, fields))  # a run's events are its metrics too (runner/metrics.py)
        line = json.dumps(record, default=str, ensure_ascii=False)
        with self._lock:
            self.counts[event] += 1
            self.stream.write(line + "\n")
            self.stream.flush()

    def duration(self, seconds: float) -> None:
        with self._lock:
            self.durations.append(seconds)

    def summary(self) -> dict:
        """Uptime, runs processed and failed, and run durations (p50/max)."""
        d = sorted(self.durations)
        return {
            "uptime_s": round(time.monotonic() - self.started, 1),
            "processed": self.counts["run_completed"] + self.counts["run_failed"],
            "completed": self.counts["run_completed"],
            "failed": self.counts["run_failed"],
            "retried": self.counts["run_retry"],
            "rejected": self.counts["message_rejected"],
            "duplicates": self.counts["duplicate_ignored"],
            "run_p50_s": round(d[len(d) // 2], 2) if d else None,
            "run_max_s": round(d[-1], 2) if d else None,
        }
