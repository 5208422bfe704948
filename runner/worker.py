"""The runner: takes uploads from SQS and runs the pipeline notebooks once per upload.

Delivery is at-least-once; the run store makes it exactly-once in effect:

- every message is validated (:mod:`retainwise.platform.messages`); a malformed one or
  a key outside ``uploads/<tenant>/`` is logged (``message_rejected``) and
  deleted, never run; the ``s3:TestEvent`` is dropped;
- the upload (tenant, key, ETag) maps to one run; the run is *claimed*
  atomically, which sets an in-progress lease as long as the queue's
  visibility timeout. A heartbeat extends both while the notebooks run, so a
  slow run keeps its message, and a crashed worker's lease expires together
  with the message's invisibility: the redelivered message claims it again;
- a message for a finished run is a duplicate and is deleted; one for a run
  another live worker holds is hidden again until that lease ends;
- COMPLETED is recorded after the outputs are in S3, and only then is the
  message deleted;
- a permanent failure (unusable file) marks the run FAILED with the reason,
  keeps the upload and the executed notebook, and deletes the message; a
  transient one (storage, database, kernel death, timeout) releases the run
  and hands the message back after a short backoff. On its third receive the
  run is marked FAILED and the message is left to the queue's redrive policy,
  which moves it to the dead-letter queue.

SIGTERM/SIGINT stop the polling; runs in hand finish; a summary is printed.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import tempfile
import threading
import time
from contextlib import nullcontext
from pathlib import Path

from retainwise.errors import InternalError, RetainwiseError, StorageError
from retainwise.platform.messages import MessageError, Work, parse
from retainwise.platform.runs import COMPLETED, FAILED, PROCESSING, RunStore, now
from retainwise.settings import Settings

from .log import EventLog

#: Receives after which a transient failure is final (the queue's maxReceiveCount).
MAX_RECEIVES = 3
#: Seconds before a transiently failed message is offered again (times the receive count).
RETRY_BACKOFF_S = 5
HEARTBEAT_FILE = "worker.heartbeat"


class Worker:
    """One runner process with ``concurrency`` threads, each running one upload at a time."""

    def __init__(self, settings: Settings, *, concurrency: int = 1, pool_size: int | None = None,
                 poll_wait_s: int = 20, retry_backoff_s: int = RETRY_BACKOFF_S, once: bool = False, log: EventLog | None = None) -> None:
        from retainwise.platform.queue import Queue
        from retainwise.platform.storage import Storage

        self.settings = settings
        self.concurrency = max(1, concurrency)
        self.poll_wait_s = poll_wait_s
        self.retry_backoff_s = retry_backoff_s
        self.once = once
        self.log = log or EventLog(component="runner")
        self.store = RunStore.from_settings(settings)
        self.queue = Queue(settings)
        self.storage = Storage(settings)
        self.stop = threading.Event()
        self.pool_size = self.concurrency if pool_size is None else pool_size
        self.pool = None
        self.heartbeat_s = max(1.0, settings.visibility_timeout_s / 3)
        self.work_root = Path(tempfile.mkdtemp(prefix="retainwise-runner-"))
        self.heartbeat_path = Path(settings.home) / HEARTBEAT_FILE

    # -- lifecycle ---------------------------------------------------------
    def run(self) -> dict:
        """Poll until stopped (or, with ``once``, until the queue is empty). Returns the summary."""
        if self.pool_size > 0:
            from retainwise.execution.kernels import KernelPool

            self.pool = KernelPool(self.pool_size, cwd=self.work_root).start()
        self.log("worker_started", concurrency=self.concurrency, pool=self.pool_size, queue=self.queue.url,
                 visibility_s=self.settings.visibility_timeout_s, run_timeout_s=self.settings.run_timeout_s)
        threads = [threading.Thread(target=self._loop, name=f"runner-{i}", daemon=True)
                   for i in range(self.concurrency)]
        for t in threads:
            t.start()
        try:
            while any(t.is_alive() for t in threads):
                self._touch()
                for t in threads:
                    t.join(timeout=1.0)
        finally:
            if self.pool is not None:
                self.pool.close()
            shutil.rmtree(self.work_root, ignore_errors=True)
        summary = self.log.summary()
        self.log("worker_stopped", **summary)
        return summary

    def request_stop(self, signum=None, frame=None) -> None:
        if not self.stop.is_set():
            self.log("shutdown_requested", signal=signal.Signals(signum).name if signum else None)
        self.stop.set()

    def _touch(self) -> None:
        """The container health check reads this file's age."""
        try:
            self.heartbeat_path.parent.mkdir(parents=True, exist_ok=True)
            self.heartbeat_path.touch()
        except OSError:
            pass

    def _loop(self) -> None:
        idle = 0
        while not self.stop.is_set():
            try:
                messages = self.queue.receive(1, wait_s=self.poll_wait_s)
            except RetainwiseError as exc:
                self.log("poll_failed", level="warning", error=exc.message)
                self.stop.wait(min(30, 2 ** idle))
                idle += 1
                continue
            if not messages:
                idle += 1
                if self.once:
                    return
                continue
            idle = 0
            for msg in messages:
                if self.stop.is_set():  # received after the stop: hand it straight back
                    self._hide(msg, 0)
                    continue
                try:
                    self.handle(msg)
                except Exception as exc:  # never let one message take the runner down
                    self.log("message_crashed", level="error", message_id=msg.message_id,
                             error=f"{type(exc).__name__}: {exc}")

    # -- one message -----------------------------------------------------------
    def handle(self, msg) -> None:
        """Validate ``msg`` and run the upload(s) it names."""
        try:
            work = parse(msg.body, bucket=self.storage.bucket)
        except MessageError as exc:
            self.log("message_rejected", level="warning", message_id=msg.message_id, code=exc.code,
                     reason=exc.message, body=msg.body[:300])
            self._delete(msg)
            return
        if not work:
            self.log("test_event_ignored", message_id=msg.message_id)
            self._delete(msg)
            return
        done = all([self._handle_work(msg, w) for w in work])
        if done:
            self._delete(msg)

    def _handle_work(self, msg, work: Work) -> bool:
        """Run one upload. True when the message may be deleted for it."""
        try:
            run = self._resolve(work, msg)
        except MessageError as exc:
            self.log("message_rejected", level="warning", message_id=msg.message_id, code=exc.code, reason=exc.message)
            return True
        except StorageError as exc:
            self.log("store_unavailable", level="warning", message_id=msg.message_id, error=exc.message)
            self._retry_later(msg)
            return False
        lease = self.settings.visibility_timeout_s
        try:
            claimed = self.store.claim(run.id, lease_s=lease, message_id=msg.message_id)
        except StorageError as exc:
            self.log("store_unavailable", level="warning", run_id=run.id, error=exc.message)
            self._retry_later(msg)
            return False
        if claimed is None:
            current = self.store.get(run.id)
            if current and current.status in (COMPLETED, FAILED):
                self.log("duplicate_ignored", run_id=run.id, status=current.status, message_id=msg.message_id)
                return True
            if current and current.status == PROCESSING and current.lease_until:
                wait = max(1, int((current.lease_until - now()).total_seconds()) + 2)
                self.log("run_in_progress_elsewhere", run_id=run.id, retry_in_s=wait, message_id=msg.message_id)
                self._hide(msg, min(wait, 43200))
                return False
            return True
        return self._execute(msg, claimed, work)

    def _resolve(self, work: Work, msg):
        """The run for this upload: the job's run id, or the run of the same (tenant, key, ETag)."""
        if work.run_id:
            run = self.store.get(work.run_id)
            if run is not None:
                if run.tenant != work.tenant or run.upload_key != work.key:
                    raise MessageError(f"Job {work.run_id} does not match its recorded upload.", code="job_mismatch")
                return run
            return self.store.create(tenant=work.tenant, upload_key=work.key, run_id=work.run_id,
                                     upload_id=work.upload_id, message_id=msg.message_id)
        return self.store.create(tenant=work.tenant, upload_key=work.key, upload_etag=work.etag,
                                 message_id=msg.message_id)

    def _execute(self, msg, run, work: Work) -> bool:
        from retainwise.execution.execute import run_pipeline
        from retainwise.platform.storage import results_prefix

        started = time.monotonic()
        self.log("run_started", run_id=run.id, tenant=run.tenant, key=run.upload_key, attempt=run.attempts,
                 receive_count=msg.receive_count)
        workdir = self.work_root / run.id
        out = workdir / "out"
        try:
            # The heartbeat stops before the run is recorded and its message deleted or handed back.
            with _Heartbeat(self, msg, run.id):
                source = workdir / "input" / Path(work.key).name
                self.storage.download(work.key, source)
                kernel = self.pool.kernel() if self.pool is not None else nullcontext(None)
                with kernel as km:
                    outcome = run_pipeline(source, out, tenant=run.tenant, run_id=run.id, km=km,
                                           timeout=self.settings.run_timeout_s, home=self.settings.home)
                keys = self.storage.put_outputs(out, results_prefix(run.tenant, run.id))
            self.store.complete(run.id, summary=outcome.summary, output_keys=keys)
            seconds = time.monotonic() - started
            self.log.duration(seconds)
            self.log("run_completed", run_id=run.id, tenant=run.tenant, rows=outcome.summary.get("rows_scored"),
                     quality=(outcome.summary.get("quality") or {}).get("score"), seconds=round(seconds, 3))
            return True
        except RetainwiseError as exc:
            return self._failed(msg, run, exc, out, time.monotonic() - started)
        except Exception as exc:  # a bug of ours: permanent, FAILED at once with the error logged
            err = InternalError(f"Unexpected {type(exc).__name__}: {exc}")
            return self._failed(msg, run, err, out, time.monotonic() - started)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _failed(self, msg, run, exc: RetainwiseError, out: Path, seconds: float) -> bool:
        from retainwise.platform.storage import results_prefix

        keys = None
        if out.exists():  # keep the executed notebook (and whatever else was written) as the record
            try:
                keys = self.storage.put_outputs(out, results_prefix(run.tenant, run.id))
            except RetainwiseError as up_exc:
                self.log("record_upload_failed", level="warning", run_id=run.id, error=up_exc.message)
        final = not exc.transient or msg.receive_count >= MAX_RECEIVES
        try:
            if final:
                reason = exc.message if not exc.transient else (
                    f"Gave up after {msg.receive_count} attempts: {exc.message}")
                self.store.fail(run.id, error=reason, code=exc.code, output_keys=keys)
            else:
                self.store.release(run.id, error=exc.message, code=exc.code)
        except StorageError as db_exc:
            self.log("store_unavailable", level="warning", run_id=run.id, error=db_exc.message)
            self._retry_later(msg)
            return False
        self.log.duration(seconds)
        if final:
            self.log("run_failed", level="error", run_id=run.id, tenant=run.tenant, code=exc.code,
                     reason=exc.message, transient=exc.transient, receive_count=msg.receive_count,
                     seconds=round(seconds, 3))
            if exc.transient:
                # Leave the message: its next receive exceeds maxReceiveCount and the queue moves it to the DLQ.
                self._hide(msg, 0)
                return False
            return True
        self.log("run_retry", level="warning", run_id=run.id, code=exc.code, reason=exc.message,
                 receive_count=msg.receive_count)
        self._retry_later(msg)
        return False

    # -- queue helpers -------------------------------------------------------
    def _retry_later(self, msg) -> None:
        self._hide(msg, self.retry_backoff_s * msg.receive_count)

    def _hide(self, msg, seconds: int) -> None:
        try:
            self.queue.extend(msg, seconds)
        except RetainwiseError as exc:  # it comes back when its visibility timeout ends anyway
            self.log("visibility_change_failed", level="warning", message_id=msg.message_id, error=exc.message)

    def _delete(self, msg) -> None:
        try:
            self.queue.delete(msg)
        except RetainwiseError as exc:  # redelivered later and recognised as a duplicate
            self.log("delete_failed", level="warning", message_id=msg.message_id, error=exc.message)


class _Heartbeat:
    """Extends the message's visibility and the run's lease while a run is in hand."""

    def __init__(self, worker: Worker, msg, run_id: str) -> None:
        self.worker, self.msg, self.run_id = worker, msg, run_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        w = self.worker
        lease = w.settings.visibility_timeout_s
        while not self._stop.wait(w.heartbeat_s):
            try:
                w.queue.extend(self.msg, lease)
                w.store.extend_lease(self.run_id, lease)
                w._touch()
                w.log("heartbeat", level="debug", run_id=self.run_id)
            except RetainwiseError as exc:
                w.log("heartbeat_failed", level="warning", run_id=self.run_id, error=exc.message)


def cli_worker(args) -> int:
    """``retainwise worker``: run until SIGTERM/SIGINT (or, with --once, until the queue is empty)."""
    settings = Settings.from_env()
    if settings.visibility_timeout_s <= settings.run_timeout_s:
        from retainwise.errors import ConfigError

        raise ConfigError("RETAINWISE_VISIBILITY_TIMEOUT must exceed RETAINWISE_RUN_TIMEOUT.")
    worker = Worker(settings, concurrency=args.concurrency, pool_size=0 if args.no_pool else args.pool_size,
                    poll_wait_s=args.poll_wait, retry_backoff_s=args.retry_backoff, once=args.once)
    signal.signal(signal.SIGTERM, worker.request_stop)
    signal.signal(signal.SIGINT, worker.request_stop)
    summary = worker.run()
    print("retainwise worker: " + json.dumps(summary), file=sys.stdout, flush=True)
    return 0

