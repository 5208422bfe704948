"""Who holds which report kernel, and what the report server may start: pure bookkeeping, no Voila.

The decisions (issue 27 and issue 25 item 6), taken in the server process before Voila gets a request:

- A visitor gets an interactive page from a kernel that is **ready now** (a preheated one that has
  imported and waits for its request), or, when no other page is being sent at that moment, from one
  still warming (a lone visitor while the pool refills waits seconds). Otherwise, or when the link already
  holds ``per_link`` kernels, the visitor gets the run's static report at once with a note that the
  interactive view is busy: never a wait for a cold kernel in a burst (30 s and more while eight compete
  for two CPUs).
  Without preheating (``--no-preheat``) a visitor's kernel starts cold, within the same caps.
- Interactive pages being built at once (claimed, sent, and loading until their widgets connect) never
  exceed ``in_flight``: by default the report server's CPUs minus one, at least one (:func:`cpus`,
  cgroup-aware). An interactive page's first seconds take a CPU: its kernel runs the page's cells, the
  server renders it and serves its hundred scripts, and the browser runs them; the server's one thread
  needs the rest for everybody else. Past it a visitor gets the static report at once. Measured with
  bench/bench_viewers.py (twenty visitors, their browsers on the server's two CPUs): a burst's static
  pages came in 4.2 s, its two interactive ones in 6.7 s where one alone takes 1.5 s; with one in flight
  nobody waited past the static pages.
- Kernels alive for the report (visitors' and preheated) never exceed ``total``, nor what the machine's
  free memory holds (:func:`available_mb`, cgroup-aware: a container's limit, not the host's).
- The preheated pool grows with demand: every visitor who found no ready kernel in the last
  :data:`DEMAND_WINDOW_S` seconds asks for one more (never past the caps); when demand stops the extra
  kernels are shut down again, back to ``pool_base``. Kernels start only while no page is in flight and
  none came, went or connected for :data:`SETTLE_S`, at most :data:`MAX_WARMING` at once, so a burst's
  pages are not slowed by a crowd of starting kernels: the pool grows after a burst, for the next one.
- A kernel whose page is gone is freed without waiting for the browser's unload event: once its page was
  delivered, its websocket closed (no connection) for ``gone_s`` seconds means the page is gone (before its
  first connection, :data:`FIRST_CONNECT_S`: the page's scripts load first).
"""

from __future__ import annotations

import hashlib
import itertools
import time
from dataclasses import dataclass, field
from pathlib import Path

#: What one report kernel may come to need (MB): a light kernel is ~120 MB, one that has run what-if
#: (XGBoost and the model loaded) about 250. The memory check keeps room for this much per kernel.
KERNEL_MB = 250
#: Memory left for the server itself and the page cache when deciding whether one more kernel fits (MB).
RESERVE_MB = 200
DEMAND_WINDOW_S = 30.0
MAX_WARMING = 2
#: A reservation whose request never reached a kernel (the request failed) is dropped after this long.
STALE_CLAIM_S = 120.0
#: Kernels start only once no page has been claimed, refused or delivered for this long (seconds): a
#: delivered page still loads its scripts and builds its widgets, and a burst comes in waves.
SETTLE_S = 2.0
#: A delivered page counts as still loading (in flight, and holding back pool starts) until its scripts
#: reach its kernel, for at most this long (seconds): past it the page is slow on the visitor's side (a
#: phone, a script-less client) and costs the server nothing more while it loads.
LOADING_S = 10.0
#: A delivered page's first websocket may take this long (its scripts load first, slowly on a busy machine
#: or phone); only after it has connected once does ``gone_s`` apply.
FIRST_CONNECT_S = 60.0

#: Why a visitor got the static report: the note says it in words (:mod:`retainwise.reports.busy`).
BUSY = "busy"
LINK_BUSY = "link_busy"


def link_key(token: str | None) -> str:
    """Which link a request came through, without keeping the token: its SHA-256, shortened."""
    return hashlib.sha256(str(token or "").encode("utf-8")).hexdigest()[:16]


def available_mb(meminfo: Path = Path("/proc/meminfo"), cgroup: Path = Path("/sys/fs/cgroup")) -> float:
    """Memory a new process can have (MB): the smaller of the host's MemAvailable and, inside a container,
    what is left under its cgroup limit (an ECS task's 2 GiB, not the host's)."""
    free = float("inf")
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                free = int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        limit = (cgroup / "memory.max").read_text().strip()
        if limit != "max":
            used = int((cgroup / "memory.current").read_text().strip())
            free = min(free, (int(limit) - used) / 2**20)
    except (OSError, ValueError):
        pass
    return free


def cpus(cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """CPUs this process may use: its affinity, bounded by a container's CPU quota (an ECS task's vCPU)."""
    import math
    import os

    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = (cgroup / "cpu.max").read_text().split()[:2]
        if quota != "max":
            count = min(count, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    return max(1, count)


@dataclass(frozen=True)
class Limits:
    total: int = 6
    per_link: int = 4
    gone_s: float = 15.0
    pool_base: int = 2
    in_flight: int = 1

    @classmethod
    def from_settings(cls, settings, pool_base: int) -> Limits:
        return cls(
            total=settings.report_kernels_max,
            per_link=settings.report_kernels_per_token,
            gone_s=float(settings.report_kernel_gone_s),
            pool_base=min(pool_base, settings.report_kernels_max),
            in_flight=settings.report_pages_in_flight or max(1, cpus() - 1),
        )


@dataclass
class Slot:
    """One visitor's claim on a kernel: reserved before Voila runs, bound once Voila hands one out."""

    id: int
    link: str
    since: float
    kernel_id: str | None = None
    delivered: bool = False
    last_connected: float = 0.0
    connected_once: bool = False


@dataclass
class Ledger:
    limits: Limits
    clock: object = time.monotonic
    free_mb: object = available_mb
    slots: dict[int, Slot] = field(default_factory=dict)
    misses: list[float] = field(default_factory=list)
    last_busy: float = float("-inf")
    _ids: object = field(default_factory=itertools.count)

    # -- counting --------------------------------------------------------------------------------
    def in_use(self, link: str | None = None) -> int:
        return sum(1 for s in self.slots.values() if link is None or s.link == link)

    def sending(self) -> int:
        """Pages claimed and not yet delivered (their kernel is rendering them, or they wait for one)."""
        return sum(1 for s in self.slots.values() if not s.delivered)

    def in_flight(self) -> int:
        """Interactive pages being built: claimed and not yet sent, or sent and still loading."""
        return self.sending() + self.loading()

    def loading(self) -> int:
        """Pages delivered whose scripts have not yet connected to their kernel: the browser is still loading
        Voila's scripts and building the widgets (a few MB of JavaScript; most of an interactive page's
        time)."""
        now = self.clock()
        return sum(
            1
            for s in self.slots.values()
            if s.delivered and not s.connected_once and now - s.last_connected < LOADING_S
        )

    def unbound(self) -> int:
        return sum(1 for s in self.slots.values() if s.kernel_id is None)

    def fits(self) -> bool:
        """Whether the machine's free memory holds one more kernel."""
        return self.free_mb() >= KERNEL_MB + RESERVE_MB

    # -- a visitor arrives -----------------------------------------------------------------------
    def claim(self, link: str, *, ready: int, pooled: int, preheat: bool = True) -> Slot | str:
        """A reserved slot for this visitor's kernel, or why they get the static report (BUSY, LINK_BUSY)."""
        self.last_busy = self.clock()
        if self.in_use(link) >= self.limits.per_link:
            return LINK_BUSY
        if self.in_flight() >= self.limits.in_flight:
            self.misses.append(self.clock())  # they will reload for the interactive view: be ready then
            return BUSY
        if preheat:
            # A kernel still warming, or a cold start when the pool is empty and the machine has room, is
            # worth waiting for only when no other page is being sent (a lone visitor: seconds); in a burst
            # it would be the 30 s wait. A lone visitor never gets the static page while there is room.
            room = self.in_use() + pooled < self.limits.total and self.fits()
            lone = self.sending() == 0 and (pooled > ready or room)
            if ready - self.unbound() <= 0 and not lone:
                self.misses.append(self.clock())
                return BUSY
        elif self.in_use() + pooled >= self.limits.total or not self.fits():
            self.misses.append(self.clock())
            return BUSY
        slot = Slot(next(self._ids), link, self.clock())
        self.slots[slot.id] = slot
        return slot

    def bind(self, slot: Slot, kernel_id: str) -> None:
        slot.kernel_id = kernel_id

    def delivered(self, slot: Slot) -> None:
        """The page was sent: from now a closed websocket counts towards ``gone_s``; a slot that never got a
        kernel (the request failed) is given back."""
        self.last_busy = self.clock()
        if slot.kernel_id is None:
            self.slots.pop(slot.id, None)
            return
        slot.delivered, slot.last_connected = True, self.clock()

    def release(self, kernel_id: str) -> None:
        for key in [k for k, s in self.slots.items() if s.kernel_id == kernel_id]:
            del self.slots[key]

    # -- every second, and before a claim -------------------------------------------------------
    def observe(self, connections: dict[str, int]) -> None:
        """Note which pages' kernels have a websocket open now (``connections``: kernel id -> count)."""
        for kernel_id, count in connections.items():
            if count > 0:
                self.connected(kernel_id)

    def connected(self, kernel_id: str) -> None:
        """The page of ``kernel_id`` reached it (its scripts asked the kernel API or opened the websocket):
        it is built, no longer in flight, even if it closes again before the next watch."""
        now = self.clock()
        for slot in self.slots.values():
            if slot.kernel_id == kernel_id:
                if not slot.connected_once:
                    self.last_busy = now  # its widgets are being built now: settle from here
                slot.last_connected, slot.connected_once = now, True

    def gone(self, connections: dict[str, int], alive: set[str]) -> list[str]:
        """Kernels to shut down: their page was delivered and nothing has been connected for ``gone_s``.
        Slots of kernels that no longer exist (shut down, culled, died) are dropped."""
        self.observe(connections)
        now, out = self.clock(), []
        for key, slot in list(self.slots.items()):
            if slot.kernel_id is None:
                if now - slot.since > STALE_CLAIM_S:
                    del self.slots[key]
                continue
            if slot.kernel_id not in alive:
                del self.slots[key]
            elif connections.get(slot.kernel_id, 0) > 0:
                continue
            elif slot.delivered and now - slot.last_connected >= self._patience(slot):
                out.append(slot.kernel_id)
        return out

    def _patience(self, slot: Slot) -> float:
        return self.limits.gone_s if slot.connected_once else max(self.limits.gone_s, FIRST_CONNECT_S)

    def pool_target(self, pooled: int) -> int:
        """How many preheated kernels to keep: the base plus recent demand, within the caps and memory."""
        now = self.clock()
        self.misses = [t for t in self.misses if now - t < DEMAND_WINDOW_S]
        room = max(0, self.limits.total - self.in_use())
        target = min(self.limits.pool_base + len(self.misses), room)
        if target > pooled and not self.fits():
            target = pooled
        return target

    def to_start(self, target: int, pooled: int, warming: int) -> int:
        """How many kernels to start now towards ``target``: none while a page is being sent or is still
        loading (delivered, its scripts not yet connected), nor until :data:`SETTLE_S` after a page came,
        went or connected. A starting kernel's imports take a CPU for seconds: started while a burst's pages
        load, they made those pages three times slower (measured: two pages 4 s alone, 12 s with the refill
        beside them). The watch starts them once the burst is over, at most :data:`MAX_WARMING` at once."""
        if self.in_flight() or self.clock() - self.last_busy < SETTLE_S:
            return 0
        return max(0, min(target - pooled, MAX_WARMING - warming))
