"""The report server's CloudWatch metrics: pages, refusals, kernels and render times.

Counted in the server process and written as one embedded-metric-format record a minute
(``retainwise.platform.metrics``; namespace RetainWise, dimension Service=reports) on stderr, the
container's log stream, where CloudWatch Logs extracts them:

| metric | counts |
| --- | --- |
| ``PagesServed`` | report and portal pages sent whole (status 200 on a page route) |
| ``PagesRefused`` | requests refused (401, 403, 429) on any route: bad or expired links, limits |
| ``KernelsStarted`` | kernels that finished starting (preheated or for a visitor) |
| ``KernelsCulled`` | kernels the idle culler shut down |
| ``RenderTime`` | seconds from a page request to its last byte, one value per page served |

Decisions: counted where every request and every kernel passes once (tornado's ``log_function``, the
kernel manager's ``start_watching_activity`` and ``cull_kernel_if_idle``), not in the page handler,
so the handlers stay about serving. A record is written when something was counted and a minute has
passed since the last one, checked on each count; the culler looks at every kernel once a minute and
the preheated kernels always exist, so a quiet server still writes within about two minutes. What is
left is written at exit. No network call, whatever the environment.
"""

from __future__ import annotations

import atexit
import json
import sys
import threading
import time
from collections.abc import Callable

from retainwise.platform.metrics import COUNT, SECONDS, emf

SERVICE = "reports"
FLUSH_EVERY_S = 60.0
#: Statuses that mean "refused": no or bad credentials, forbidden, over a limit.
REFUSED = frozenset({401, 403, 429})


def _stderr_line(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class ServerMetrics:
    """Counters since the last record; thread-safe (the event loop and its worker threads count)."""

    def __init__(
        self,
        write: Callable[[str], None] = _stderr_line,
        clock: Callable[[], float] = time.monotonic,
        every_s: float = FLUSH_EVERY_S,
    ) -> None:
        self.write, self.clock, self.every_s = write, clock, every_s
        self._lock = threading.Lock()
        self._last = clock()
        self._reset()

    def _reset(self) -> None:
        self.pages = self.refused = self.kernels_started = self.kernels_culled = 0
        self.render_s: list[float] = []

    # -- counting ----------------------------------------------------------------------------
    def request(self, page: bool, status: int, seconds: float) -> None:
        """One finished request (``page``: on a page route, or the upload)."""
        with self._lock:
            if page and status == 200:
                self.pages += 1
                self.render_s.append(round(seconds, 3))
            elif status in REFUSED:
                self.refused += 1
        self.maybe_flush()

    def kernel_started(self) -> None:
        with self._lock:
            self.kernels_started += 1
        self.maybe_flush()

    def kernel_culled(self) -> None:
        with self._lock:
            self.kernels_culled += 1
        self.maybe_flush()

    # -- writing -----------------------------------------------------------------------------
    def maybe_flush(self) -> None:
        if self.clock() - self._last >= self.every_s:
            self.flush()

    def flush(self) -> dict:
        """Write what was counted since the last record (nothing when nothing was); returns the record."""
        with self._lock:
            values = {
                "PagesServed": (self.pages, COUNT),
                "PagesRefused": (self.refused, COUNT),
                "KernelsStarted": (self.kernels_started, COUNT),
                "KernelsCulled": (self.kernels_culled, COUNT),
                "RenderTime": (self.render_s, SECONDS),
            }
            busy = self.pages or self.refused or self.kernels_started or self.kernels_culled
            self._reset()
            self._last = self.clock()
        record = emf(values, service=SERVICE) if busy else {}
        if record:
            self.write(json.dumps({"event": "metrics", **record}))
        return record


def is_page(path: str) -> bool:
    """Whether ``path`` (a request path) is a report or portal page, or the portal's upload."""
    from retainwise.reports.gate import GATES

    route = path.split("?", 1)[0].strip("/")
    return route in GATES or route == "portal/upload"


def request_logger(metrics: ServerMetrics, log_request: Callable | None = None) -> Callable:
    """A tornado ``log_function``: counts the request, then logs it as tornado would have."""

    def log_function(handler) -> None:
        try:
            metrics.request(
                is_page(handler.request.path), handler.get_status(), handler.request.request_time()
            )
        finally:
            (log_request or _tornado_log)(handler)

    return log_function


def _tornado_log(handler) -> None:
    """tornado.web.Application.log_request's own lines (used when no log_function is set)."""
    from tornado.log import access_log

    status = handler.get_status()
    method = access_log.info if status < 400 else access_log.warning if status < 500 else access_log.error
    method("%d %s %.2fms", status, handler._request_summary(), 1000.0 * handler.request.request_time())


def watch_kernels(metrics: ServerMetrics, manager) -> None:
    """Count ``manager``'s (a jupyter_server MappingKernelManager) started and culled kernels.

    Its own calls go through these instance attributes: every started kernel reaches
    ``start_watching_activity`` once, every culler check ``cull_kernel_if_idle``.
    """
    watch, cull = manager.start_watching_activity, manager.cull_kernel_if_idle

    def start_watching_activity(kernel_id):
        metrics.kernel_started()
        return watch(kernel_id)

    async def cull_kernel_if_idle(kernel_id):
        result = await cull(kernel_id)
        if kernel_id not in manager.list_kernel_ids():
            metrics.kernel_culled()
        else:
            metrics.maybe_flush()
        return result

    manager.start_watching_activity = start_watching_activity
    manager.cull_kernel_if_idle = cull_kernel_if_idle


def install(app, settings: dict, metrics: ServerMetrics | None = None) -> ServerMetrics:
    """Count ``app``'s (the Voila application's) requests and kernels; ``settings``: its tornado settings."""
    metrics = metrics or ServerMetrics()
    settings["log_function"] = request_logger(metrics, settings.get("log_function"))
    watch_kernels(metrics, app.kernel_manager)
    atexit.register(metrics.flush)
    return metrics
