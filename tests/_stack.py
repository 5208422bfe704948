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

from retainwise.platform.aws import client
from retainwise.platform.embedded import provision
from retainwise.platform.runs import COMPLETED, FAILED, RunStore
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
        name = f"t{uuid.uuid4().hex[:10]}"
        base = Settings(home=workdir / "home", aws_endpoint_url=endpoint,
                        **{"run_timeout_s": 20, "visibility_timeout_s": 30, **overrides})
        res = provision(base, bucket=name, queue=name)
        settings = base.replace(bucket=res.bucket, queue_url=res.queue_url, secret="test-secret")
        return cls(settings=settings, dlq_url=res.dlq_url, workdir=workdir)

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
            env=env or self.env(), stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True,
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
        deadline = time.monotonic() + timeout
        run = None
        while time.monotonic() < deadline:
            run = self.store.get(run_id)
            if run is not None and run.status in statuses:
                return run
            time.sleep(0.1)
        raise AssertionError(f"run {run_id} never reached {statuses}: {run}\n{self.tail_logs()}")

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
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def dead_letters(self) -> list[dict]:
        resp = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                        VisibilityTimeout=0)
        return resp.get("Messages", [])

    def tail_logs(self, n: int = 15) -> str:
        parts = []
        for p in self.workers:
            lines = Path(p.log_path).read_text(errors="replace").splitlines()[-n:]
            parts.append(f"--- {p.log_path.name} ---\n" + "\n".join(lines))
        return "\n".join(parts)

