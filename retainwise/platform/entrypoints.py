"""The commands that start RetainWise's long-running processes.

One definition, used by ``retainwise up``, the tests and the container files
(infra/ tests assert the Dockerfiles run exactly these).
"""

from __future__ import annotations

from retainwise.settings import Settings

#: The queue runner (one process; ``--concurrency`` runs more runs at once).
WORKER = ["retainwise", "worker"]
#: The Voila report server (safe configuration lives in retainwise.reports.server).
REPORTS = ["python", "-m", "retainwise.reports.server"]
#: Port the report server listens on by default (the settings' default, defined there once).
REPORTS_PORT: int = Settings.model_fields["report_port"].default
