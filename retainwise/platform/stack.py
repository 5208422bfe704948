"""``retainwise up``: the whole platform on one machine, on embedded defaults.

Starts, as real processes: moto's server on 127.0.0.1 as the S3 + SQS
endpoint (provisioned like ``infra/``: versioned bucket, queue + dead-letter
queue, upload notifications), the run store (SQLite under ``RETAINWISE_HOME``
unless ``RETAINWISE_DATABASE_URL`` says otherwise), ``--runners`` runner
processes, and the Voila report server. The endpoints and a generated
``RETAINWISE_SECRET`` are written to ``$RETAINWISE_HOME/settings.env`` so that
``retainwise submit|status|link`` in another shell use the same stack.

Everything stops on Ctrl-C / SIGTERM: runners finish the run in hand first.
"""

from __future__ import annotations

import importlib.util
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from retainwise.errors import ExecutionError
from retainwise.platform import entrypoints
from retainwise.platform.embedded import MotoServer, environment, free_port, local_settings, provision
from retainwise.platform.runs import COMPLETED, FAILED, RunStore

#: The bundled sample upload (``retainwise up --sample``).
from retainwise.resources import SAMPLE_UPLOAD as SAMPLE  # noqa: E402
from retainwise.settings import Settings, write_env_file


def command(argv: list[str]) -> list[str]:
    """An entry point as a runnable command (the console script, or this Python when it is not on PATH)."""
    if argv[0] == "retainwise" and not shutil.which("retainwise"):
        return [sys.executable, "-m", "retainwise", *argv[1:]]
    if argv[0] == "python":
        return [sys.executable, *argv[1:]]
    return list(argv)


class Platform:
    """The processes of one local stack. ``start()``, then ``stop()`` (or use as a context manager)."""

    def __init__(self, settings: Settings, *, runners: int = 2, voila: bool = True, port: int | None = None,
                 worker_args: list[str] | None = None) -> None:
        self.base = settings
        self.runners = runners
        self.voila = voila
        self.port = port
        self.worker_args = list(worker_args or [])
        self.procs: list[subprocess.Popen] = []
        self.moto: MotoServer | None = None
        self.settings: Settings | None = None

    def start(self) -> Platform:
        home = Path(self.base.home)
        home.mkdir(parents=True, exist_ok=True)
        (home / "logs").mkdir(exist_ok=True)
        self.moto = MotoServer(self.port, log_path=home / "logs" / "aws.log").start()
        secret = self.base.secret or secrets.token_urlsafe(32)
        settings = self.base.replace(secret=secret, home=home.resolve())
        resources = provision(settings.replace(aws_endpoint_url=self.moto.url))
        self.settings = local_settings(settings, self.moto.url, resources)
        self.reports_port = None
        if self.voila:
            self.reports_port = entrypoints.REPORTS_PORT if _port_free(entrypoints.REPORTS_PORT) else free_port()
            self.settings = self.settings.replace(report_base_url=f"http://127.0.0.1:{self.reports_port}")
        self.dlq_url = resources.dlq_url
        write_env_file(home, {k: v for k, v in self.settings.to_env().items()
                              if k in ("AWS_ENDPOINT_URL", "RETAINWISE_BUCKET", "RETAINWISE_QUEUE_URL",
                                       "RETAINWISE_SECRET", "RETAINWISE_REPORT_URL",
                                       # a `retainwise worker` started against this stack must match its queue
                                       "RETAINWISE_RUN_TIMEOUT", "RETAINWISE_VISIBILITY_TIMEOUT")})
        RunStore.from_settings(self.settings)  # migrate once, before the runners race to
        env = environment(self.settings)
        for i in range(self.runners):
            log = open(home / "logs" / f"runner-{i}.log", "ab")  # noqa: SIM115 - lives as long as the process
            self.procs.append(subprocess.Popen(command(entrypoints.WORKER) + self.worker_args, env=env,
                                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        if self.voila and importlib.util.find_spec("retainwise.reports.server") is not None:
            log = open(home / "logs" / "reports.log", "ab")  # noqa: SIM115
            self.procs.append(subprocess.Popen(command(entrypoints.REPORTS) + ["--port", str(self.reports_port)],
                                               env=env, stdout=log,
                                               stderr=subprocess.STDOUT, start_new_session=True))
        return self

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.procs) and self.moto is not None

    def stop(self, timeout: float = 120) -> None:
        """SIGTERM every process (runners finish the run in hand), then stop the endpoint."""
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for p in self.procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs.clear()
        if self.moto:
            self.moto.stop()
            self.moto = None

    def __enter__(self) -> Platform:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def wait_for(store: RunStore, run_id: str, timeout: float = 300, poll: float = 0.2):
    """The run once it is COMPLETED or FAILED; ExecutionError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = store.get(run_id)
        if run is not None and run.status in (COMPLETED, FAILED):
            return run
        time.sleep(poll)
    raise ExecutionError(f"Run {run_id} did not finish within {timeout:.0f} s.", code="wait_timeout")


def _link(settings: Settings, run) -> str | None:
    if importlib.util.find_spec("retainwise.platform.links") is None:
        return None
    from retainwise.platform.links import report_url

    return report_url(settings, run.tenant, run.id)


def cli_up(args) -> int:
    from retainwise.platform.jobs import format_status, submit

    platform = Platform(Settings.from_env(), runners=args.runners, voila=not args.no_voila, port=args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    platform.start()
    s = platform.settings
    print(f"retainwise up: S3 + SQS endpoint  {s.aws_endpoint_url}  (moto, 127.0.0.1)")
    print(f"               bucket            s3://{s.bucket}")
    print(f"               queue             {s.queue_url}")
    print(f"               run store         {s.effective_database_url}")
    print(f"               runners           {args.runners} (logs in {Path(s.home) / 'logs'})")
    if not args.no_voila:
        print(f"               reports           {s.report_base_url}")
    print(f"               settings          {Path(s.home) / 'settings.env'} (submit/status/link use it)")
    try:
        if args.sample or args.exit_after_sample:
            store = RunStore.from_settings(s)
            run_id = submit(SAMPLE, "sample", s, store)
            print(f"submitted the bundled sample as run {run_id}; waiting for it ...", flush=True)
            run = wait_for(store, run_id, timeout=s.run_timeout_s + 120)
            data = run.to_dict()
            data["outputs"] = {n: f"s3://{s.bucket}/{k}" for n, k in run.output_keys.items()}
            print(format_status(data))
            link = _link(s, run)
            if link:
                print(f"  report   {link}")
            if args.exit_after_sample:
                return 0 if run.status == COMPLETED else 1
        print("running; Ctrl-C stops everything. Finished runs are listed here with their report links.",
              flush=True)
        store = RunStore.from_settings(s)
        announced = {r.id for r in store.recent(limit=1000)}
        while not stop.wait(1.0):
            if not platform.alive():
                print("retainwise up: a process exited; see the logs", file=sys.stderr)
                return 1
            for run in store.recent(limit=50):
                if run.id in announced or run.status not in (COMPLETED, FAILED):
                    continue
                announced.add(run.id)
                if run.status == COMPLETED:
                    print(f"run {run.id} ({run.tenant}) COMPLETED, {run.rows_scored} customers: {_link(s, run)}",
                          flush=True)
                else:
                    print(f"run {run.id} ({run.tenant}) FAILED: {run.error}", flush=True)
        return 0
    finally:
        print("stopping (runners finish the run in hand) ...", flush=True)
        platform.stop()
