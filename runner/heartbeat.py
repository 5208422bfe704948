"""Keeping a run's claim alive: the message's invisibility and the run's lease, extended together."""

from __future__ import annotations

import threading

from retainwise.platform.queue import Received

from .context import Context


class Heartbeat:
    """While in the ``with`` block, extend ``msg``'s visibility and ``run_id``'s lease every third of it.

    Stopped once, on leaving the block, before the run is recorded and its message settled.
    """

    def __init__(self, ctx: Context, msg: Received, run_id: str) -> None:
        self.ctx, self.msg, self.run_id = ctx, msg, run_id
        self.every = max(1.0, ctx.settings.visibility_timeout_s / 3)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"heartbeat-{run_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        ctx, lease = self.ctx, self.ctx.settings.visibility_timeout_s
        while not self._stop.wait(self.every):
            # Each extended on its own: an S3/SQS outage must not stop the lease, nor a database one the message.
            ctx.quietly("heartbeat_failed", lambda: ctx.queue.extend(self.msg, lease), run_id=self.run_id)
            ctx.quietly(
                "heartbeat_failed", lambda: ctx.store.extend_lease(self.run_id, lease), run_id=self.run_id
            )
            ctx.touch()
