"""Requests per minute per tenant, counted in the memory of the process that serves them.

A moving window (the ``limits`` package's ``MovingWindowRateLimiter``): a tenant at its limit waits
until its oldest request of the last minute is a minute old, never up to a whole fixed window.

The counts live in this process's memory (``limits``' ``MemoryStorage``): each server process limits
on its own, so behind a load balancer with K report servers a tenant may make up to K times its limit.
That is the point of the limit (a tenant cannot hog one server's kernels), and it needs no shared store;
a deployment that wants one global count can point the limiter at Redis (``limits`` supports it) without
changing the callers. Counts reset when the process restarts.

Requests are keyed by the *verified* tenant only: a request without a valid token is refused before it
is counted (and costs no kernel), so a stranger cannot spend a tenant's limit.
"""

from __future__ import annotations

import math
import threading
import time

from retainwise.platform.limits import limit_hit

#: endpoint -> (limit name, what the tenant is told it did too often)
ENDPOINTS = {
    "pages": ("pages_per_minute", "page loads"),
    "uploads": ("uploads_per_minute", "uploads"),
}


_made: list = []
_making = threading.Lock()


def _limiter():
    """The process's one limiter. Made under a lock: the first page loads arrive together (one thread each),
    and a limiter made per thread would count each of them on its own (found by the load test)."""
    with _making:
        if not _made:
            from limits.storage import MemoryStorage
            from limits.strategies import MovingWindowRateLimiter

            _made.append(MovingWindowRateLimiter(MemoryStorage()))
        return _made[0]


def take(limits, endpoint: str) -> None:
    """Count one request of ``limits.tenant`` to ``endpoint`` (``pages`` or ``uploads``).

    Raises LimitError (with ``retry_after``) when the tenant has already made its limit of requests in
    the last minute; a refused request is not counted.
    """
    from limits import RateLimitItemPerMinute

    name, words = ENDPOINTS[endpoint]
    per_minute = int(getattr(limits, name))
    item = RateLimitItemPerMinute(per_minute)
    if _limiter().hit(item, endpoint, limits.tenant):
        return
    reset = _limiter().get_window_stats(item, endpoint, limits.tenant).reset_time
    wait = max(1.0, reset - time.time())
    raise limit_hit(
        limits.tenant,
        name,
        f"Too many requests: {per_minute} {words} a minute is the most allowed. "
        f"Please wait {math.ceil(wait)} seconds, then try again.",
        retry_after=wait,
    )


def reset() -> None:
    """Forget every count (tests, and a server that reloads its settings)."""
    with _making:
        _made.clear()
