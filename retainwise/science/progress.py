"""A run's progress, for whoever watches it: ``<output_dir>/progress.json``.

The pipeline rewrites the file (atomically: readers never see half of it) as
each chunk of each stage finishes: ``{"stage", "rows_done", "rows_total",
"updated_at"}``. ``rows_total`` is null while the file is still being read
(its row count is known once validation has read it all). ``retainwise score``
prints it with an ETA; the runner copies ``rows_done`` into the run store.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

FILE = "progress.json"


def write_progress(output_dir: str | Path, stage: str, rows_done: int, rows_total: int | None) -> Path:
    """Record that ``stage`` has done ``rows_done`` of ``rows_total`` rows. Raises OSError if it cannot."""
    from retainwise.science.outputs import write_summary

    record = {
        "stage": stage,
        "rows_done": int(rows_done),
        "rows_total": None if rows_total is None else int(rows_total),
        "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return write_summary(record, Path(output_dir) / FILE)


def read_progress(output_dir: str | Path) -> dict | None:
    """The last progress a run recorded in ``output_dir``, or None (not started, or unreadable). Never raises."""
    try:
        record = json.loads((Path(output_dir) / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and "rows_done" in record else None
