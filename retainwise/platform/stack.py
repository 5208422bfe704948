"""``retainwise up``: the whole platform on one machine, on embedded defaults.

Starts, as real processes: moto's server on 127.0.0.1 as the S3 + SQS endpoint (provisioned like
``infra/``: versioned bucket, queue + dead-letter queue, upload notifications), the run store
(SQLite under ``RETAINWISE_HOME`` unless ``RETAINWISE_DATABASE_URL`` says otherwise), ``runners``
runner processes, and the Voila report server. The endpoints, a generated ``RETAINWISE_SECRET``
and the run and visibility timeouts are written to ``$RETAINWISE_HOME/settings.env`` (0600) so
that ``retainwise submit|status|link|worker`` in another shell use the same stack.

Supervision (:meth:`Platform.check`): a runner or report server that exits is started again; an
embedded endpoint that exits ends the stack with one clear error, because it held every upload and
message in memory. At start, runs left QUEUED or PROCESSING by an earlier stack whose uploads are
gone (the old endpoint's memory) are FAILED with that reason. For a durable stack on one machine,
point ``AWS_ENDPOINT_URL`` at a real S3/SQS endpoint and ``RETAINWISE_DATABASE_URL`` at PostgreSQL.

Printing and signal handling live in ``retainwise.cli.up``.
"""

from __future__ import annotations

import secrets
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from retainwise.errors import ConfigError, ExecutionError, RetainwiseError
from retainwise.platform import entrypoints
from retainwise.platform.embedded import (
    MotoServer,
    environment,
    free_port,
    local_settings,
    port_free,
    provision,
)
from retainwise.platform.runs import COMPLETED, FAILED, PROCESSING, QUEUED, RunStore
from retainwise.platform.storage import Storage
from retainwise.settings import Settings, write_env_file

#: What `retainwise up` writes for the commands run in another shell.
SHARED_SETTINGS = (
    "AWS_ENDPOINT_URL",
    "RETAINWISE_BUCKET",
    "RETAINWISE_QUEUE_URL",
    "RETAINWISE_SECRET",
    "RETAINWISE_REPORT_URL",
    # a `retainwise worker` started against this stack must match its queue
    "RETAINWISE_RUN_TIMEOUT",
    "RETAINWISE_VISIBILITY_TIMEOUT",
)
UPLOAD_GONE = (
    "The upload is gone: the embedded storage of an earlier `retainwise up` kept it in memory "
    "and has stopped. Upload the file again."
)


def command(argv: list[str]) -> list[str]:
    """An entry point as a runnable command (the console script, or this Python when it is not on PATH)."""
    if argv[0] == "retainwise" and not shutil.which("retainwise"):
        return [sys.executable, "-m", "retainwise", *argv[1:]]
    if argv[0] == "python":
        return [sys.executable, *argv[1:]]
    return list(argv)


@dataclass
class _Process:
    """One supervised child: how to start it, and the running process."""

    name: str
    argv: list[str]
    log: Path
    proc: subprocess.Popen | None = None
    restarts: int = 0


class Platform:
    """The processes of one local stack. ``start()``, ``check()`` now and then, then ``stop()``."""

    def __init__(
        self,
        settings: Settings,
        *,
        runners: int = 2,
        voila: bool = True,
        port: int | None = None,
        worker_args: list[str] | None = None,
        endpoint: str | None = None,
        names: tuple[str, str] | None = None,
    ) -> None:
        self.base = settings
        self.runners = runners
        self.voila = voila
        self.port = port
        self.worker_args = list(worker_args or [])
        self.endpoint = endpoint  # an endpoint already running (the tests' shared moto server)
        self.names = names or ("retainwise", "retainwise-jobs")
        self.children: list[_Process] = []
        self.moto: MotoServer | None = None
        self.settings: Settings | None = None
        self.reports_port: int | None = None
        self.dlq_url: str | None = None
        self.lost: list[str] = []  # runs FAILED at start because their uploads were gone

    def start(self) -> Platform:
        """Start the endpoint, provision it, start the children. Raises ConfigError or StorageError."""
        home = Path(self.base.home)
        (home / "logs").mkdir(parents=True, exist_ok=True)
        if self.endpoint is None:
            self.moto = MotoServer(self.port, log_path=home / "logs" / "aws.log").start()
        url = self.endpoint or self.moto.url
        settings = self.base.replace(
            secret=self.base.secret or secrets.token_urlsafe(32), home=home.resolve()
        )
        resources = provision(
            settings.replace(aws_endpoint_url=url), bucket=self.names[0], queue=self.names[1]
        )
        self.settings = local_settings(settings, url, resources)
        if self.voila:
            self.reports_port = self.base.report_port if port_free(self.base.report_port) else free_port()
            self.settings = self.settings.replace(
                report_base_url=f"http://127.0.0.1:{self.reports_port}", report_port=self.reports_port
            )
        self.dlq_url = resources.dlq_url
        write_env_file(home, {k: v for k, v in self.settings.to_env().items() if k in SHARED_SETTINGS})
        store = RunStore.from_settings(self.settings)  # migrate once, before the runners race to
        if self.endpoint is None:  # a fresh embedded endpoint: an earlier one's uploads died with it
            self.lost = fail_lost_uploads(store, self.settings)
        for i in range(self.runners):
            self._add(f"runner-{i}", command(entrypoints.WORKER) + self.worker_args)
        if self.voila:
            self._add("reports", command(entrypoints.REPORTS) + ["--port", str(self.reports_port)])
        return self

    def _add(self, name: str, argv: list[str]) -> None:
        child = _Process(name, argv, Path(self.settings.home) / "logs" / f"{name}.log")
        self.children.append(child)
        self._spawn(child)

    def _spawn(self, child: _Process) -> None:
        log = open(child.log, "ab")  # noqa: SIM115 - the child holds it; closed when it is replaced or stopped
        child.proc = subprocess.Popen(
            child.argv,
            env=environment(self.settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()  # the child has its own copy of the descriptor

    def check(self) -> list[str]:
        """Restart children that exited; returns what was restarted (names).

        Raises :class:`ConfigError` when the embedded endpoint has exited: it held every upload and
        message in memory, so nothing can continue.
        """
        if self.moto is not None and self.moto.proc is not None and self.moto.proc.poll() is not None:
            raise ConfigError(
                f"The embedded S3/SQS endpoint stopped (exit code {self.moto.proc.returncode}); "
                "it kept uploads and queued jobs in memory, so they are lost. Stopping the stack.",
                code="endpoint_died",
            )
        restarted = []
        for child in self.children:
            if child.proc is not None and child.proc.poll() is not None:
                child.restarts += 1
                restarted.append(f"{child.name} (exit code {child.proc.returncode})")
                self._spawn(child)
        return restarted

    def alive(self) -> bool:
        return all(c.proc is not None and c.proc.poll() is None for c in self.children) and (
            self.endpoint is not None or (self.moto is not None and self.moto.proc.poll() is None)
        )

    def stop(self, timeout: float = 120) -> None:
        """SIGTERM every process (runners finish the run in hand), then stop the endpoint."""
        procs = [c.proc for c in self.children if c.proc is not None]
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for p in procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.children.clear()
        if self.moto:
            self.moto.stop()
            self.moto = None

    def __enter__(self) -> Platform:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def fail_lost_uploads(store: RunStore, settings: Settings) -> list[str]:
    """FAIL unfinished runs whose upload is no longer in storage; returns their ids."""
    storage = Storage(settings)
    lost = []
    for status in (QUEUED, PROCESSING):
        for run in store.with_status(status):
            if storage.head(run.upload_key) is None:
                store.fail(run.id, error=UPLOAD_GONE, code="upload_missing")
                lost.append(run.id)
    return lost


def wait_for(
    store: RunStore,
    run_id: str,
    timeout: float = 300,
    poll: float = 0.2,
    statuses: tuple[str, ...] = (COMPLETED, FAILED),
):
    """The run once its status is one of ``statuses`` (default: finished); ExecutionError after ``timeout``.

    A run-store error while waiting is ridden out (the store may be failing over) until the timeout.
    """
    deadline = time.monotonic() + timeout
    run = None
    while time.monotonic() < deadline:
        try:
            run = store.get(run_id)
        except RetainwiseError:
            run = None
        if run is not None and run.status in statuses:
            return run
        time.sleep(poll)
    raise ExecutionError(
        f"Run {run_id} did not reach {'/'.join(statuses)} within {timeout:.0f} s "
        f"(last seen: {run.status if run else 'unknown'}).",
        code="wait_timeout",
    )
