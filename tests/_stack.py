"""A local RetainWise stack for tests: moto's server as a process, a fresh bucket and queues per test,
and runner processes started exactly as `retainwise worker` is started in production."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from retainwise.errors import ExecutionError
from retainwise.platform.aws import client
from retainwise.platform.runs import COMPLETED, FAILED, RunStore
from retainwise.platform.stack import Platform, wait_for
from retainwise.platform.storage import Storage
from retainwise.settings import Settings


@dataclass
class Stack:
    settings: Settings
    dlq_url: str
    workdir: Path
    workers: list[subprocess.Popen] = field(default_factory=list)

    @classmethod
    def create(cls, endpoint: str, workdir: Path, **overrides) -> Stack:
        """A fresh bucket and queues on ``endpoint``, provisioned by the same Platform `retainwise up` starts."""
        name = f"t{uuid.uuid4().hex[:10]}"
        base = Settings(
            home=workdir / "home",
            secret="test-secret",
            **{"run_timeout_s": 20, "visibility_timeout_s": 30, **overrides},
        )
        platform = Platform(base, runners=0, voila=False, endpoint=endpoint, names=(name, name)).start()
        return cls(settings=platform.settings, dlq_url=platform.dlq_url, workdir=workdir)

    # -- parts -------------------------------------------------------------------
    @property
    def store(self) -> RunStore:
        return RunStore.from_settings(self.settings)

    @property
    def storage(self) -> Storage:
        return Storage(self.settings)

    @property
    def sqs(self):
        return client("sqs", self.settings)

    def env(self, **extra) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RETAINWISE_", "AWS_ENDPOINT"))}
        env.update(self.settings.to_env())
        env.update(extra)
        return env

    # -- runners ---------------------------------------------------------------
    def start_worker(self, *args: str, env: dict | None = None) -> subprocess.Popen:
        n = len(self.workers)
        log = open(self.workdir / f"worker-{n}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "retainwise", "worker", "--poll-wait", "1", "--retry-backoff", "1", *args],
            env=env or self.env(),
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,
        )
        proc.log_path = self.workdir / f"worker-{n}.log"
        proc.log_file = log
        self.workers.append(proc)
        return proc

    def events(self, proc=None) -> list[dict]:
        """Every JSON log line of one worker (or all workers)."""
        out = []
        for p in [proc] if proc else self.workers:
            for line in Path(p.log_path).read_text(encoding="utf-8", errors="replace").splitlines():
                if line.startswith("{"):
                    out.append(json.loads(line))
        return out

    def stop_workers(self, timeout: float = 60) -> None:
        for p in self.workers:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.workers:
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            p.log_file.close()
            if p.stdout:
                p.stdout.close()

    # -- waiting ---------------------------------------------------------------
    def wait_status(self, run_id: str, statuses=(COMPLETED, FAILED), timeout: float = 120):
        try:
            return wait_for(self.store, run_id, timeout=timeout, poll=0.1, statuses=tuple(statuses))
        except ExecutionError as exc:
            raise AssertionError(f"{exc.message}\n{self.tail_logs()}") from None

    def wait_for(self, predicate, timeout: float = 120, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}\n{self.tail_logs()}")

    def queue_depth(self, url: str | None = None) -> int:
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=url or self.settings.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def dead_letters(self) -> list[dict]:
        resp = self.sqs.receive_message(
            QueueUrl=self.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=0
        )
        return resp.get("Messages", [])

    def tail_logs(self, n: int = 15) -> str:
        parts = []
        for p in self.workers:
            lines = Path(p.log_path).read_text(errors="replace").splitlines()[-n:]
            parts.append(f"--- {p.log_path.name} ---\n" + "\n".join(lines))
        return "\n".join(parts)


class Outage:
    """A TCP forwarder to ``target`` (host, port) that can be cut: while down, every connection is refused.

    The runner under test reaches one service through it (``AWS_ENDPOINT_URL_S3``), so that service alone
    goes away and comes back, as in a real outage; the moto server itself is never touched.
    """

    def __init__(self, target: tuple[str, int]) -> None:
        import socket
        import threading

        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.down = threading.Event()
        self._conns: list = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut(self) -> None:
        self.down.set()
        for c in list(self._conns):  # connections in use break too
            try:
                c.close()
            except OSError:
                pass
        self._conns.clear()

    def restore(self) -> None:
        self.down.clear()

    def close(self) -> None:
        self.cut()
        self.listener.close()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass
