"""The outbox's sender: a background thread per process handing each tenant's next notification to a thread.

Per tenant (and channel), rows go out one at a time and in order; different tenants go out side
by side, up to :data:`PARALLEL` at once, so one tenant's slow or dead endpoint, which may hold a
thread for the whole webhook deadline on every attempt, delays no other tenant. Every runner
process runs one; they share the work through the outbox's leases (:mod:`retainwise.platform.outbox`).

The sender never raises: a failing store or a bug is logged and the loop carries on at its next
poll. Its threads are daemons: a process that stops mid-attempt leaves a lease that expires,
and the row is sent again by the next sender (at least once).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from retainwise.platform import outbox
from retainwise.platform.outbox import Item
from retainwise.platform.runs import RunStore
from retainwise.platform.webhooks import DELIVERED, RETRY, Attempt

log = logging.getLogger("retainwise.notify")

#: Tenants whose notifications are in flight at once, per process.
PARALLEL = 8
#: Seconds between looks at the outbox when nothing wakes the sender (rows of other processes, retries).
POLL_S = 1.0


class Sender:
    """Delivers what the outbox holds, through ``send`` (one attempt at one item), until :meth:`stop`."""

    def __init__(
        self,
        store: RunStore,
        send: Callable[[Item], Attempt],
        *,
        lease_s: Callable[[str], float],
        parallel: int = PARALLEL,
        poll_s: float = POLL_S,
    ) -> None:
        self.store, self.send, self.lease_s = store, send, lease_s
        self.parallel, self.poll_s = parallel, poll_s
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.busy: set[tuple[str, str]] = set()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="retainwise-outbox", daemon=True)

    def start(self) -> Sender:
        self.thread.start()
        return self

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.dispatch()
            except Exception as exc:  # a notification must never take anything down
                log.error("outbox sender: %s: %s", type(exc).__name__, exc)
            self.wake.wait(self.poll_s)
            self.wake.clear()

    def dispatch(self) -> int:
        """Claim the head of every free (tenant, channel) line and start sending it. Returns how many."""
        started = 0
        for item in outbox.heads(self.store):
            line = (item.tenant, item.channel)
            with self.lock:
                if line in self.busy or len(self.busy) >= self.parallel or self.stopping.is_set():
                    continue
                if not outbox.claim(self.store, item.seq, self.lease_s(item.channel)):
                    continue  # another runner's sender has it
                self.busy.add(line)
            name = f"retainwise-notify-{item.tenant}"
            threading.Thread(target=self._one, args=(item, line), name=name, daemon=True).start()
            started += 1
        return started

    def _one(self, item: Item, line: tuple[str, str]) -> None:
        try:
            try:
                attempt = self.send(item)
            except Exception as exc:  # noqa: BLE001 - a bug of ours is a failed attempt: retried, then given up
                attempt = Attempt(RETRY, f"{type(exc).__name__}: {exc}")
            settle(self.store, item, attempt)
        except Exception as exc:  # noqa: BLE001 - the store failed: the lease runs out, the row is tried again
            log.error("notification %s not settled: %s: %s", item.event_id, type(exc).__name__, exc)
        finally:
            with self.lock:
                self.busy.discard(line)
            self.wake.set()  # the line's next row may go now

    def idle(self) -> bool:
        """True when nothing is in flight here and nothing is due in the outbox."""
        with self.lock:
            if self.busy:
                return False
        return not outbox.heads(self.store)

    def stop(self, timeout: float) -> bool:
        """Start nothing new; wait up to ``timeout`` s for attempts in flight. True when none is left.

        The dispatching thread is waited for too (when it was started), so nothing here touches the
        store after a stop that returned True.
        """
        self.stopping.set()
        self.wake.set()
        deadline = time.monotonic() + timeout
        if self.thread.ident is not None:
            self.thread.join(timeout)
        while time.monotonic() < deadline:
            with self.lock:
                if not self.busy:
                    return not self.thread.is_alive()
            time.sleep(0.05)
        return False


def settle(store: RunStore, item: Item, attempt: Attempt) -> None:
    """Record what one attempt came to: delivered, a retry after its backoff, or given up."""
    where = f"{item.event['event']} {item.event.get('run_id')} ({item.channel}, id {item.event_id})"
    if attempt.outcome == DELIVERED:
        outbox.delivered(store, item.seq, attempt.detail)
        log.info("notification delivered: %s %s", where, attempt.detail)
    elif attempt.outcome == RETRY and outbox.retry_later(store, item, attempt.detail):
        log.warning(
            "notification attempt %d failed, retried later: %s: %s", item.attempts + 1, where, attempt.detail
        )
    else:
        if attempt.outcome != RETRY:
            outbox.failed(store, item.seq, attempt.detail)
        log.error("notification not delivered: %s: %s", where, attempt.detail)
