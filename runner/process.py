"""Every path one queue message can take, top to bottom: :func:`process`.

parse → resolve the run → claim it → heartbeat → download → run the notebooks → put the outputs
once (completion marker last) → record COMPLETED; or settle the failure. The returned
:mod:`~runner.outcome` says what becomes of the message; the poll loop applies it.

- A malformed message, or one naming a key it may not, is rejected and deleted, never run.
- A run that is finished, or in progress under another message, makes this copy a duplicate:
  deleted, so a copy never reaches the dead-letter queue.
- An unusable file, or a bug of ours (:class:`InternalError`), fails the run at once.
- A transient fault (storage, run store, kernel death, timeout) is retried with a growing backoff;
  after the run's third attempt it FAILED "Gave up ..." and its message is dead-lettered, where a
  redrive finds it and runs it again.
- The outputs of a run are written once: a completion marker written after them is checked before
  running, so a retry after a failed ``complete`` only records COMPLETED.
"""

from __future__ import annotations

import json
import shutil
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

from retainwise.errors import InternalError, MessageError, RetainwiseError, StorageError
from retainwise.platform import labelled, mapping_store, notify
from retainwise.platform.messages import Work, parse
from retainwise.platform.queue import Received
from retainwise.platform.registry import BucketRegistry
from retainwise.platform.run_record import Run
from retainwise.platform.runs import ABANDONED, COMPLETED, FAILED, GAVE_UP, PROCESSING, now
from retainwise.platform.tenants import is_training_key, results_prefix, upload_name

from . import train_run
from .context import Context, kernel_environment
from .heartbeat import Heartbeat
from .outcome import DeadLetter, Delete, HandBack, Outcome, Retry

#: Written under a run's results prefix after every output: its presence means the outputs are complete.
MARKER = "_complete.json"


def process(msg: Received, ctx: Context) -> Outcome:
    """What to do with ``msg`` after running the upload(s) it names. Never raises."""
    try:
        work = parse(msg.body, bucket=ctx.storage.bucket)
    except MessageError as exc:
        ctx.log(
            "message_rejected",
            level="warning",
            message_id=msg.message_id,
            code=exc.code,
            reason=exc.message,
            body=msg.body[:300],
        )
        return Delete("rejected")
    if not work:
        # the s3:TestEvent, or the event of a file waiting in the portal for its columns
        ctx.log("nothing_to_run", message_id=msg.message_id)
        return Delete("test event")
    outcomes = [run_upload(msg, w, ctx) for w in work]  # S3 sends one record per event; be general anyway
    return next((o for o in outcomes if not isinstance(o, Delete)), outcomes[0])


def run_upload(msg: Received, work: Work, ctx: Context) -> Outcome:
    """Claim and run one upload; the outcome for its message."""
    # A training upload is claimed, recorded and settled alike; the training notebook runs (train_run.py).
    if is_training_key(work.key):
        ctx = train_run.training_context(ctx)
    run = _claim(msg, work, ctx)
    if isinstance(run, Outcome):  # a message we will not run now
        return run
    started = time.monotonic()
    ctx.hold(msg, run.id)
    ctx.log(
        "run_started",
        run_id=run.id,
        tenant=run.tenant,
        key=run.upload_key,
        attempt=run.attempts,
        receive_count=msg.receive_count,
        queue_wait_s=_queue_wait(msg, run),
    )
    workdir = ctx.work_root / run.id
    out, prefix, outputs_put = workdir / "out", results_prefix(run.tenant, run.id), False
    try:
        with Heartbeat(ctx, msg, run.id):
            done = ctx.storage.get_json(prefix + MARKER)
            if done is not None and done.get("etag") == run.upload_etag:
                ctx.log("outputs_found", run_id=run.id)  # a retry after the outputs were put: record only
            else:
                result = _score(ctx, run, work.key, workdir / "input", out)
                if ctx.abandoned.is_set():
                    return HandBack("stopped before the outputs were put")
                # Conditional writes: a retry after a partial put never makes a second version of a key.
                keys = ctx.storage.put_outputs(out, prefix, create_only=True)
                outputs_put = True
                done = {"etag": run.upload_etag, "summary": result.summary, "output_keys": keys}
                ctx.storage.put_json(prefix + MARKER, done)  # last: the outputs are complete
        return _completed(ctx, run, out, done, started)
    except Exception as exc:
        if not isinstance(exc, RetainwiseError):  # a bug of ours: permanent, FAILED at once, traceback logged
            ctx.log("internal_error", level="error", run_id=run.id, traceback=traceback.format_exc())
            exc = InternalError(f"Unexpected {type(exc).__name__}: {exc}")
        return _settle(ctx, msg, run, exc, None if outputs_put else out, started)
    finally:
        ctx.drop(msg)
        shutil.rmtree(workdir, ignore_errors=True)


def _claim(msg: Received, work: Work, ctx: Context) -> Run | Outcome:
    """The run of ``work``, claimed for this runner; or the outcome for a message not to run now (rejected,
    claimed elsewhere or already settled, the run store down)."""
    try:
        run = _resolve(ctx, msg, work)
        claimed = ctx.store.claim(
            run.id,
            lease_s=ctx.settings.visibility_timeout_s,
            message_id=msg.message_id,
            max_attempts=ctx.max_attempts,
        )
        if claimed is None:
            return _not_claimed(ctx, msg, run.id)
    except MessageError as exc:
        ctx.log(
            "message_rejected", level="warning", message_id=msg.message_id, code=exc.code, reason=exc.message
        )
        return Delete("rejected")
    except StorageError as exc:  # the run store is down: keep the message alive and come back later
        ctx.log("store_unavailable", level="warning", message_id=msg.message_id, error=exc.message)
        return Retry(ctx.backoff(msg.receive_count), exc.message)
    return claimed


def _score(ctx: Context, run: Run, key: str, inputs: Path, out: Path):
    """Download the upload under ``key`` into ``inputs`` and run the pipeline on it into ``out``: its result."""
    # Named as the tenant named it: the pipeline's messages quote it (never the key's prefix)
    source = inputs / upload_name(key)
    ctx.storage.download(key, source)
    saved = mapping_store.load(ctx.store, run.tenant)  # shared by every runner
    with _kernel(ctx) as km:
        return ctx.pipeline(
            source,
            out,
            tenant=run.tenant,
            run_id=run.id,
            km=km,
            saved_mapping=saved,
            timeout=ctx.settings.run_timeout_s,
            tenant_model_dir=_own_model(ctx, run),
        )


def _completed(ctx: Context, run: Run, out: Path, done: dict, started: float) -> Outcome:
    """Record the run COMPLETED with its put outputs (``done``: the marker's record), tell the tenant, log."""
    ctx.store.complete(run.id, summary=done["summary"], output_keys=done["output_keys"])
    _after_completed(ctx, run, out, done["summary"])
    notify.run_finished(ctx.settings, run.id, done["summary"])  # into the outbox; sent in the background
    seconds = time.monotonic() - started
    ctx.log.duration(seconds)
    summary = done["summary"]
    ctx.log(
        "run_completed",
        run_id=run.id,
        tenant=run.tenant,
        rows=summary.get("rows_scored"),
        quality=(summary.get("quality") or {}).get("score"),
        seconds=round(seconds, 3),
    )
    return Delete("completed")


def _queue_wait(msg: Received, run: Run) -> float | None:
    """Seconds from the message being sent to its run starting (the QueueWait metric, runner/metrics.py).

    First attempts only: a later attempt's wait is mostly the backoff we chose, counted as a retry."""
    if msg.sent_at is None or run.attempts != 1:
        return None
    return round(max(0.0, time.time() - msg.sent_at), 3)


def _resolve(ctx: Context, msg: Received, work: Work) -> Run:
    """The run for this upload: the job's run id, or the run of the same (tenant, key, ETag)."""
    store = ctx.store
    if work.run_id:
        run = store.get(work.run_id)
        if run is None:
            return store.create(
                tenant=work.tenant,
                upload_key=work.key,
                run_id=work.run_id,
                upload_id=work.upload_id,
                message_id=msg.message_id,
            )
        if run.tenant != work.tenant or run.upload_key != work.key:
            raise MessageError(f"Job {work.run_id} does not match its recorded upload.", code="job_mismatch")
        return run
    return store.create(
        tenant=work.tenant, upload_key=work.key, upload_etag=work.etag, message_id=msg.message_id
    )


def _not_claimed(ctx: Context, msg: Received, run_id: str) -> Outcome:
    """A run this message could not claim: finished, in progress, or abandoned by its runners."""
    run = ctx.store.get(run_id)
    if run is None or run.status in (COMPLETED, FAILED):
        ctx.log("duplicate_ignored", run_id=run_id, status=run and run.status, message_id=msg.message_id)
        return Delete("duplicate")
    if run.status == PROCESSING and run.lease_until and run.lease_until > now():
        if run.message_id != msg.message_id:
            # The run's own message carries it (and comes back if its runner dies): this copy is spare.
            ctx.log("copy_dropped", run_id=run_id, message_id=msg.message_id)
            return Delete("copy of a run in progress")
        wait = int((run.lease_until - now()).total_seconds()) + 2
        ctx.log("run_in_progress_elsewhere", run_id=run_id, retry_in_s=wait, message_id=msg.message_id)
        return Retry(wait, "the run's lease is live")
    if run.status == PROCESSING and run.attempts >= ctx.max_attempts:
        for failed in ctx.store.fail_abandoned(max_attempts=ctx.max_attempts):
            ctx.log(
                "run_failed", level="error", run_id=failed, code=ABANDONED, receive_count=msg.receive_count
            )
        return DeadLetter("the runner stopped on every attempt")
    return Retry(1, "claimed by another runner a moment ago")


def _settle(
    ctx: Context, msg: Received, run: Run, exc: RetainwiseError, out: Path | None, started: float
) -> Outcome:
    """Record a failed attempt: retry a transient fault, or FAIL the run (keeping its executed notebook)."""
    if (
        ctx.abandoned.is_set()
    ):  # the runner stopped and handed this run back: its kernel was shut down under it
        return HandBack("runner stopped")
    give_up = exc.transient and run.attempts >= ctx.max_attempts
    if exc.transient and not give_up:
        delay = ctx.backoff(run.attempts)
        # The run rests until just before its message returns: copies arriving meanwhile are dropped.
        ctx.quietly(
            "store_unavailable",
            lambda: ctx.store.release(run.id, error=exc.message, code=exc.code, rest_s=max(0, delay - 1)),
            run_id=run.id,
        )
        ctx.log(
            "run_retry",
            level="warning",
            run_id=run.id,
            code=exc.code,
            reason=exc.message,
            attempt=run.attempts,
            receive_count=msg.receive_count,
            retry_in_s=delay,
        )
        return Retry(delay, exc.message)
    keys = None
    # The executed notebook (and whatever was written) is the record of a permanent failure. Not of a
    # give-up: a redrive runs it again, and the outputs of that run must be the ones kept.
    if out is not None and out.exists() and not give_up:
        try:
            keys = ctx.storage.put_outputs(out, results_prefix(run.tenant, run.id), create_only=True)
        except RetainwiseError as up_exc:
            ctx.log("record_upload_failed", level="warning", run_id=run.id, error=up_exc.message)
    reason = f"Gave up after {run.attempts} attempts: {exc.message}" if give_up else exc.message
    try:
        ctx.store.fail(run.id, error=reason, code=GAVE_UP if give_up else exc.code, output_keys=keys)
    except StorageError as db_exc:  # record it when the store is back
        ctx.log("store_unavailable", level="warning", run_id=run.id, error=db_exc.message)
        return Retry(ctx.backoff(msg.receive_count), db_exc.message)
    seconds = time.monotonic() - started
    ctx.log.duration(seconds)
    ctx.log(
        "run_failed",
        level="error",
        run_id=run.id,
        tenant=run.tenant,
        code=exc.code,
        reason=exc.message,
        transient=exc.transient,
        attempt=run.attempts,
        receive_count=msg.receive_count,
        seconds=round(seconds, 3),
    )
    notify.run_finished(ctx.settings, run.id)  # into the outbox, sent in the background; never raises
    return DeadLetter(reason) if give_up else Delete("failed")


def _own_model(ctx: Context, run: Run) -> Path | None:
    """The tenant's active model of its own, fetched for this run (None: the committed model and the rules)."""
    return BucketRegistry(ctx.storage, run.tenant).fetch_active(ctx.work_root / run.id / "model")


def _after_completed(ctx: Context, run: Run, out: Path, summary: dict) -> None:
    """Advisory, never failing the run: the mapping it used is saved for the tenant; a file that said who left
    (a history upload) becomes the tenant's labelled data (tenants/<tenant>/labelled/<run_id>.parquet)."""
    _save_mapping(ctx, run, out / "mapping.json")
    try:  # any error here, a bug included, is logged: the run is COMPLETED already
        ctx.quietly(
            "labelled_not_saved",
            lambda: labelled.keep_labelled(
                labelled.BucketLabelled(ctx.storage, run.tenant), out, {**summary, "run_id": run.id}
            ),
            run_id=run.id,
        )
    except Exception as exc:  # noqa: BLE001 - advisory work never fails a completed run
        ctx.log("labelled_not_saved", level="error", run_id=run.id, error=f"{type(exc).__name__}: {exc}")


def _save_mapping(ctx: Context, run: Run, path: Path) -> None:
    """After COMPLETED: the mapping the run used becomes the tenant's saved one (advisory: never fails the run)."""
    try:
        record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except ValueError:
        record = None
    if isinstance(record, dict):
        ctx.quietly(
            "mapping_not_saved", lambda: mapping_store.save(ctx.store, run.tenant, record), run_id=run.id
        )


@contextmanager
def _kernel(ctx: Context):
    """A kernel for one run: from the pool, or started cold; either way without secrets in its environment."""
    if ctx.pool is not None:
        with ctx.pool.kernel() as km:
            yield km
        return
    # Only `--no-pool` runners get here; jupyter_client (~0.1 s to import) is not loaded otherwise.
    from retainwise.execution.kernels import start_kernel

    km = start_kernel(cwd=ctx.work_root, env=kernel_environment())
    try:
        yield km
    finally:
        km.shutdown_kernel(now=True)
