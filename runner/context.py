"""What a runner process holds while it works: its settings, clients, kernels and runs in hand."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from retainwise.errors import RetainwiseError
from retainwise.platform.queue import Queue, Received
from retainwise.platform.runs import MAX_ATTEMPTS, RunStore
from retainwise.platform.storage import Storage
from retainwise.settings import Settings

from .log import EventLog

HEARTBEAT_FILE = "worker.heartbeat"
#: Longest SQS accepts for DelaySeconds (a re-sent message) and the cap on our backoff.
MAX_DELAY_S = 900
#: Environment variables a kernel never sees: it parses untrusted files and needs none of them
#: (the runner process does every storage and database call itself).
_SECRET_NAMES = {"RETAINWISE_SECRET", "RETAINWISE_DATABASE_URL"}
_SECRET_PREFIXES = ("AWS_",)


def kernel_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default: this process's) without credentials, secrets or the database URL."""
    env = dict(os.environ if environ is None else environ)
    return {k: v for k, v in env.items() if k not in _SECRET_NAMES and not k.startswith(_SECRET_PREFIXES)}


def run_notebooks(source: Path, out: Path, *, saved_mapping: dict | None = None, **params):
    """The pipeline and report notebooks on ``source`` (``retainwise.execution``, imported when first run)."""
    # Imported on the first run: with Papermill it costs about 1.2 s (bench/bench_pool.py), which a
    # worker that only rejects or drops messages never pays.
    from retainwise.execution.execute import run_pipeline

    if saved_mapping is not None:
        params["saved_mapping"] = saved_mapping
    return run_pipeline(source, out, **params)


@dataclass
class Context:
    """One runner process: clients built once, shared by its threads (boto3 clients are thread-safe)."""

    settings: Settings
    log: EventLog
    store: RunStore
    storage: Storage
    queue: Queue
    work_root: Path
    pool: object | None = None
    #: Runs the notebooks; tests hand in a stand-in to reach paths a real file cannot.
    pipeline: Callable[..., object] = run_notebooks
    max_attempts: int = MAX_ATTEMPTS
    stopping: threading.Event = field(default_factory=threading.Event)
    #: Set when the stop grace ran out: runs still in hand were handed back and must write nothing more.
    abandoned: threading.Event = field(default_factory=threading.Event)
    in_hand: dict[str, tuple[Received, str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(cls, settings: Settings, log: EventLog) -> Context:
        """Clients for ``settings``. Raises ConfigError (no queue or bucket) or StorageError."""
        return cls(
            settings=settings,
            log=log,
            store=RunStore.from_settings(settings),
            storage=Storage(settings),
            queue=Queue(settings),
            work_root=Path(tempfile.mkdtemp(prefix="retainwise-runner-")),
        )

    def backoff(self, attempt: int) -> int:
        """Seconds before retry number ``attempt``: growing x4 (30 s, 2 min, 8 min by default)."""
        return int(min(MAX_DELAY_S, self.settings.retry_backoff_s * 4 ** max(0, attempt - 1)))

    def hold(self, msg: Received, run_id: str) -> None:
        with self._lock:
            self.in_hand[msg.message_id] = (msg, run_id)

    def drop(self, msg: Received) -> None:
        with self._lock:
            self.in_hand.pop(msg.message_id, None)

    def held(self) -> list[tuple[Received, str]]:
        with self._lock:
            return list(self.in_hand.values())

    def touch(self) -> None:
        """The container health check reads this file's age."""
        path = Path(self.settings.home) / HEARTBEAT_FILE
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        except OSError as exc:  # a health check that fails is the right signal; keep working meanwhile
            self.log("heartbeat_file_failed", level="warning", error=str(exc))

    def quietly(self, event: str, action, **fields) -> bool:
        """Run ``action()``; a RetainwiseError is logged as ``event`` and False returned."""
        try:
            action()
            return True
        except RetainwiseError as exc:
            self.log(event, level="warning", error=exc.message, **fields)
            return False
