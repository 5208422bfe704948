"""The runner process: poll threads, one ``match`` that settles each message, the sweep, the stop.

- Each poll thread receives one message at a time, hands it to :func:`runner.process.process` and
  applies the outcome: delete it, hide it for a backoff (or re-send it as a fresh copy when its
  receives are spent, so waiting never dead-letters it), park it in the dead-letter queue, or hand
  it back at once.
- The main thread touches the health-check file and sweeps the run store for runs whose runner died
  on their last attempt (their message is in the dead-letter queue; nothing else would end them).
- On a stop request polling stops and runs in hand finish; those that cannot finish within the
  stop grace (``RETAINWISE_STOP_GRACE``, below the container's stop timeout) are handed back:
  message visible again, lease released, so another runner starts them at once.
"""

from __future__ import annotations

import shutil
import threading
import time
import traceback

from retainwise.errors import RetainwiseError
from retainwise.execution.confinement import forbid_inspection
from retainwise.platform import notify
from retainwise.platform.embedded import MAX_RECEIVE_COUNT
from retainwise.platform.queue import Received
from retainwise.platform.runs import ABANDONED
from retainwise.settings import Settings

from .context import Context, kernel_environment
from .log import EventLog
from .outcome import DeadLetter, Delete, HandBack, Outcome, Retry
from .process import process


def run_worker(
    settings: Settings,
    *,
    concurrency: int | None = None,
    pool_size: int | None = None,
    poll_wait_s: int | None = None,
    retry_backoff_s: int | None = None,
    once: bool = False,
    stop_event: threading.Event | None = None,
    log: EventLog | None = None,
) -> dict:
    """Run until ``stop_event`` is set (or, with ``once``, until the queue is empty); returns the summary.

    Arguments left None take their value from ``settings``. Raises ConfigError (no queue or bucket,
    invalid values) or StorageError when the run store cannot be opened.
    """
    changes = {
        "concurrency": concurrency,
        "pool_size": pool_size,
        "poll_wait_s": poll_wait_s,
        "retry_backoff_s": retry_backoff_s,
    }
    settings = settings.replace(**{k: v for k, v in changes.items() if v is not None})
    # Before any kernel starts: kernels (same user) must not read this process's environment or memory
    forbid_inspection()
    ctx = Context.create(settings, log or EventLog(component="runner"))
    if stop_event is not None:
        ctx.stopping = stop_event
    size = settings.concurrency if settings.pool_size is None else settings.pool_size
    if size > 0:
        # jupyter_client costs ~0.1 s to import (python -X importtime); `--no-pool` runners skip it here.
        from retainwise.execution.kernels import KernelPool

        ctx.pool = KernelPool(size, cwd=ctx.work_root, env=kernel_environment()).start()
    ctx.log(
        "worker_started",
        concurrency=settings.concurrency,
        pool=size,
        queue=ctx.queue.url,
        visibility_s=settings.visibility_timeout_s,
        run_timeout_s=settings.run_timeout_s,
        stop_grace_s=settings.stop_grace_s,
    )
    threads = [
        threading.Thread(target=_poll, args=(ctx, once), name=f"runner-{i}", daemon=True)
        for i in range(settings.concurrency)
    ]
    for t in threads:
        t.start()
    notify.start(settings)  # also delivers what runners stopped before sending left in the outbox
    try:
        _supervise(ctx, threads)
    finally:
        notify.stop(settings.webhook_timeout_s)  # attempts in flight finish; the rest wait in the outbox
        if ctx.pool is not None:
            ctx.pool.close()
        shutil.rmtree(ctx.work_root, ignore_errors=True)
    summary = ctx.log.summary()
    ctx.log("worker_stopped", **summary)
    return summary


def _supervise(ctx: Context, threads: list[threading.Thread]) -> None:
    """Until the poll threads end: health file, sweep, and the stop grace."""
    sweep_every = max(2.0, ctx.settings.visibility_timeout_s / 3)
    next_sweep, deadline = 0.0, None
    while any(t.is_alive() for t in threads):
        ctx.touch()
        if time.monotonic() >= next_sweep:
            _sweep(ctx)
            next_sweep = time.monotonic() + sweep_every
        if ctx.stopping.is_set() and deadline is None:
            ctx.log("shutdown_requested", in_hand=len(ctx.held()))
            deadline = time.monotonic() + ctx.settings.stop_grace_s
        if deadline is not None and time.monotonic() >= deadline:
            _hand_back_all(ctx)
            return
        for t in threads:
            t.join(timeout=1.0 / len(threads))


def _sweep(ctx: Context) -> None:
    """FAIL runs whose runner stopped on their last attempt (found by any runner, whichever is alive)."""
    try:
        for run_id in ctx.store.fail_abandoned(max_attempts=ctx.max_attempts):
            ctx.log(
                "run_failed",
                level="error",
                run_id=run_id,
                code=ABANDONED,
                reason="runner stopped on every attempt",
            )
    except RetainwiseError as exc:
        ctx.log("sweep_failed", level="warning", error=exc.message)


def _hand_back_all(ctx: Context) -> None:
    """The stop grace ran out: give every run in hand back to the queue for another runner."""
    ctx.abandoned.set()
    for msg, run_id in ctx.held():
        _apply(ctx, msg, HandBack("runner stopped"))
        ctx.quietly(
            "hand_back_failed",
            lambda r=run_id: ctx.store.release(
                r, error="The runner stopped before this run finished; it is retried.", code="runner_stopped"
            ),
            run_id=run_id,
        )
        ctx.log("run_handed_back", level="warning", run_id=run_id, message_id=msg.message_id)


def _poll(ctx: Context, once: bool) -> None:
    failures = 0
    while not ctx.stopping.is_set():
        try:
            messages = ctx.queue.receive(1, wait_s=ctx.settings.poll_wait_s)
            failures = 0
        except RetainwiseError as exc:
            ctx.log("poll_failed", level="warning", error=exc.message)
            ctx.stopping.wait(min(30, 2**failures))
            failures += 1
            continue
        if not messages and once:
            return
        for msg in messages:
            settle(ctx, msg, HandBack("stopping") if ctx.stopping.is_set() else _process(ctx, msg))


def _process(ctx: Context, msg: Received) -> Outcome:
    try:
        return process(msg, ctx)
    except Exception:  # a bug outside a run: leave the message to its receives and the dead-letter queue
        ctx.log("message_crashed", level="error", message_id=msg.message_id, traceback=traceback.format_exc())
        return Retry(ctx.backoff(msg.receive_count), "crashed")


def settle(ctx: Context, msg: Received, outcome: Outcome) -> None:
    """Apply ``outcome`` to ``msg``: every way a message leaves a runner's hands."""
    if not ctx.abandoned.is_set():  # else the main thread handed it back already
        _apply(ctx, msg, outcome)


def _apply(ctx: Context, msg: Received, outcome: Outcome) -> None:
    q = ctx.queue
    match outcome:
        case Delete():
            ctx.quietly("delete_failed", lambda: q.delete(msg), message_id=msg.message_id)
        case Retry(delay_s=delay) if msg.receive_count >= MAX_RECEIVE_COUNT:
            # Hiding it again would spend its last receive and dead-letter a live upload: send a fresh copy.
            ctx.quietly("requeue_failed", lambda: q.resend(msg, delay), message_id=msg.message_id)
        case Retry(delay_s=delay):
            ctx.quietly("visibility_change_failed", lambda: q.extend(msg, delay), message_id=msg.message_id)
        case DeadLetter(reason=reason):
            ctx.log("message_dead_lettered", level="warning", message_id=msg.message_id, reason=reason)
            ctx.quietly("dead_letter_failed", lambda: q.dead_letter(msg), message_id=msg.message_id)
        case HandBack() if msg.receive_count >= MAX_RECEIVE_COUNT:
            ctx.quietly("requeue_failed", lambda: q.resend(msg, 0), message_id=msg.message_id)
        case HandBack():
            ctx.quietly("visibility_change_failed", lambda: q.extend(msg, 0), message_id=msg.message_id)
