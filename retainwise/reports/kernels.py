"""The report server's report kernels: caps, a pool that grows with demand, pages that are gone freed.

Voila gives each page a kernel and keeps a pool of preheated ones; this module works inside that model
(the bookkeeping and its decisions are :mod:`retainwise.reports.ledger`):

- :func:`report_kernel_manager` extends Voila's kernel manager class: it binds the kernel Voila hands a
  report page to that visitor's claim, keeps ready kernels first in the pool, sizes the pool from the
  ledger on every refill, starts report kernels **without credentials** (no link secret, database URL or
  AWS variables: they read the run cache the server prepared, :mod:`retainwise.reports.run_cache`) and
  runs a watch every second that shuts down the kernels of pages gone (websocket closed for
  ``RETAINWISE_REPORT_KERNEL_GONE`` seconds, unload event or not) and grows or shrinks the pool.
- :func:`admit_page` runs in the page handler after the link is admitted and before Voila: it claims a
  kernel (or sends the static report with the busy note: no kernel at all) and prepares the run's cache
  and this visit's file. :func:`page_sent` marks the page delivered.

Only the report's kernels are capped and stripped of credentials; the portal's need storage and keep
Voila's defaults. Locally (``retainwise up``) the home's ``settings.env`` still holds the secret and is
readable by the same user: the kernels no longer need it, but isolation from it is the container's (no
settings file there; credentials come from the task's environment, which report kernels do not get).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os

from retainwise.reports.ledger import Ledger, Limits, Slot, link_key

log = logging.getLogger("retainwise.reports.kernels")

REPORT = "report.ipynb"
#: The current page request's claim (set by :func:`admit_page`, read where Voila hands out its kernel).
SLOT: contextvars.ContextVar[Slot | None] = contextvars.ContextVar("retainwise_report_slot", default=None)
#: Variables a report kernel never gets: the secret(s), the run store, and every AWS variable.
_WITHHELD = ("RETAINWISE_SECRET", "RETAINWISE_DATABASE_URL")
WATCH_S = 1.0
SWEEP_EVERY = 600  # watches: the cache sweep runs every 10 minutes


def report_env(env: dict, cache_dir) -> dict:
    """A report kernel's environment: ``env`` without credentials, plus where the run caches are."""
    from retainwise.reports.run_cache import CACHE_ENV

    out = {k: v for k, v in env.items() if not k.startswith(_WITHHELD + ("AWS_",))}
    out[CACHE_ENV] = str(cache_dir)
    return out


def _ok(task) -> bool:
    return task.done() and not task.cancelled() and task.exception() is None


def ready_marker(cache_dir, kernel_id: str):
    """The file a report kernel writes once it has imported and waits for its request
    (:func:`retainwise.reports.view.prepare`): Voila's pool task is done as soon as the kernel has started,
    long before that, and a visitor handed such a kernel would wait for its imports."""
    from pathlib import Path

    return Path(cache_dir) / ".ready" / str(kernel_id)


def _ready(task, cache_dir) -> bool:
    return _ok(task) and ready_marker(cache_dir, task.result()["kernel_id"]).exists()


class ReportKernels:
    """Mixed over Voila's kernel manager class (see :func:`report_kernel_manager`)."""

    _rw_pool_base = 2

    def __init__(self, **kwargs):
        from retainwise.reports.run_cache import cache_root
        from retainwise.settings import Settings

        settings = Settings.from_env()
        self.ledger = Ledger(Limits.from_settings(settings, self._rw_pool_base))
        self._rw_cache = cache_root(settings)
        self._rw_watch = None
        self._rw_watches = 0
        super().__init__(**kwargs)

    # -- pool ------------------------------------------------------------------------------------
    def report_pool(self) -> tuple[int, int]:
        """(ready, all) preheated report kernels."""
        pool = getattr(self, "_pools", {}).get(REPORT, [])
        return sum(1 for t in pool if _ready(t, self._rw_cache)), len(pool)

    def fill_if_needed(self, delay=None, notebook_name=None, extra_kernel_env_variables=None, **kwargs):
        self._start_watch()
        if notebook_name == REPORT:
            pool = self._pools.get(REPORT, [])
            warming = len(pool) - self.report_pool()[0]
            start = self.ledger.to_start(self.ledger.pool_target(len(pool)), len(pool), warming)
            config = self.kernel_pools_config
            config[REPORT] = {**config.get(REPORT, config.get("default", {})), "pool_size": len(pool) + start}
        return super().fill_if_needed(delay, notebook_name, extra_kernel_env_variables or {}, **kwargs)

    async def _initialize(self, notebook_path, kernel_id=None, **kwargs):
        if notebook_path == REPORT and kernel_id is None:
            kwargs["env"] = report_env(kwargs.get("env") or dict(os.environ), self._rw_cache)
        return await super()._initialize(notebook_path, kernel_id, **kwargs)

    async def get_rendered_notebook(self, notebook_name, *args, **kwargs):
        if notebook_name == REPORT:  # Voila takes the pool's first: make it a ready one
            self._pools[REPORT].sort(key=lambda t: not _ready(t, self._rw_cache))
        task, rendered, kernel_id = await super().get_rendered_notebook(notebook_name, *args, **kwargs)
        slot = SLOT.get()
        if slot is not None:
            self.ledger.bind(slot, kernel_id)
        return task, rendered, kernel_id

    async def start_kernel(self, *args, **kwargs):
        """A cold start (no preheating): a report visitor's kernel gets the credential-free environment."""
        from jupyter_core.utils import ensure_async

        self._start_watch()
        slot = SLOT.get()
        if slot is not None:
            kwargs["env"] = report_env(kwargs.get("env") or dict(os.environ), self._rw_cache)
        kernel_id = await ensure_async(super().start_kernel(*args, **kwargs))
        if slot is not None:
            self.ledger.bind(slot, kernel_id)
        return kernel_id

    async def shutdown_kernel(self, kernel_id, *args, **kwargs):
        self.ledger.release(kernel_id)
        ready_marker(self._rw_cache, kernel_id).unlink(missing_ok=True)
        return await super().shutdown_kernel(kernel_id, *args, **kwargs)

    # -- the watch -------------------------------------------------------------------------------
    def _start_watch(self) -> None:
        if self._rw_watch is None:
            self._rw_watch = asyncio.get_event_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_S)
            try:
                self._watch_once()
            except Exception:  # noqa: BLE001 - the watch must outlive any one failure; logged
                log.exception("report kernel watch failed")

    def _watch_once(self) -> None:
        alive = set(self.list_kernel_ids())
        for kernel_id in self.ledger.gone(dict(self._kernel_connections), alive):
            log.info(
                "a report page is gone (no connection for %.0f s): its kernel is shut down",
                self.ledger.limits.gone_s,
            )
            self.ledger.release(kernel_id)
            asyncio.ensure_future(self.shutdown_kernel(kernel_id, now=True))
        if hasattr(self, "_pools"):
            self._resize_pool()
        self._rw_watches += 1
        if self._rw_watches % SWEEP_EVERY == 0:
            from retainwise.reports.run_cache import sweep

            asyncio.ensure_future(asyncio.to_thread(sweep, self._rw_cache))

    def _resize_pool(self) -> None:
        """Back to the target when demand has passed (ready kernels only), up to it while it lasts."""
        pool = self._pools.setdefault(REPORT, [])
        target = self.ledger.pool_target(len(pool))
        spare = [t for t in pool if _ready(t, self._rw_cache)][: max(0, len(pool) - target)]
        spare = spare[: max(0, len(spare) - self.ledger.unbound())]
        for task in spare:
            pool.remove(task)
            kernel_id = task.result()["kernel_id"]
            ready_marker(self._rw_cache, kernel_id).unlink(missing_ok=True)
            asyncio.ensure_future(super().shutdown_kernel(kernel_id, now=True))
        if spare:
            log.info("demand has passed: %d preheated report kernel(s) shut down", len(spare))
        elif len(pool) < target:
            self.fill_if_needed(delay=0, notebook_name=REPORT)


def report_kernel_manager(voila_class: type, pool_base: int = 2) -> type:
    """Voila's kernel manager class (``voila_kernel_manager_factory``'s) with :class:`ReportKernels` over it."""
    return type("ReportKernelManager", (ReportKernels, voila_class), {"_rw_pool_base": pool_base})


# -- the page handler ------------------------------------------------------------------------------
async def admit_page(handler, settings) -> bool:
    """For an admitted report request (the query holds its token): claim a kernel and prepare the visit;
    True to go on to Voila. False when the answer was sent here: the static report with the busy note (past
    a cap, or no kernel ready) or the unavailable page (storage failed). Other pages: True, untouched."""
    from retainwise.errors import RetainwiseError
    from retainwise.reports import busy, run_cache
    from retainwise.reports.gate import grant_for, query_params, refusal_page, refusal_reason

    SLOT.set(None)
    manager = handler.settings["kernel_manager"]
    if handler.gate.notebook != REPORT or not isinstance(manager, ReportKernels):
        return True
    params = query_params(handler.request.query)
    ready, pooled = manager.report_pool()
    preheat = hasattr(manager, "_pools")
    claim = manager.ledger.claim(link_key(params.get("token")), ready=ready, pooled=pooled, preheat=preheat)
    try:
        if isinstance(claim, str):
            html = await asyncio.to_thread(busy.page, settings, str(params.get("run")), claim)
            _send(handler, 200, html)
            log.info("report page served static: %s", claim)
            return False
        SLOT.set(claim)
        grant = await asyncio.to_thread(grant_for, handler.gate, settings, params)
        await asyncio.to_thread(run_cache.prepare_visit, settings, grant, params["token"])
        return True
    except RetainwiseError as exc:
        if isinstance(claim, Slot):
            manager.ledger.delivered(claim)  # never bound: given back
        SLOT.set(None)
        log.warning("report page unavailable: %s", getattr(exc, "code", "error"))
        _send(handler, 503, refusal_page(refusal_reason(exc)))
        return False


def page_connected(handler, kernel_id: str) -> None:
    """A page's scripts reached its kernel (a granted kernel API request or websocket): the page is built.
    Said at once, not left to the watch: a page opened and closed within a second still counts."""
    manager = handler.settings.get("kernel_manager")
    if isinstance(manager, ReportKernels):
        manager.ledger.connected(kernel_id)


def page_sent(handler) -> None:
    """The page went out (or failed): its kernel's gone-clock starts now; a claim never bound is freed."""
    slot = SLOT.get()
    manager = handler.settings.get("kernel_manager")
    if slot is not None and isinstance(manager, ReportKernels):
        manager.ledger.delivered(slot)
    SLOT.set(None)


def _send(handler, status: int, html: str) -> None:
    handler.set_status(status)
    handler.set_header("Content-Type", "text/html; charset=utf-8")
    handler.set_header("Cache-Control", "no-store")
    handler.finish(html)
