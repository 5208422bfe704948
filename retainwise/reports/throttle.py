"""Page requests past the tenant's limit per minute: a 429 page with Retry-After, before any kernel.

:func:`page_refusal` is called by the gate once a request's token is verified (so the count is the
verified tenant's, and a stranger cannot spend it); see :mod:`retainwise.platform.rate` for how requests
are counted (per server process).
"""

from __future__ import annotations

from retainwise.platform.limits import LimitError
from retainwise.reports.render import render


class Refusal(str):
    """A refusal page that carries its own HTTP status and headers (a plain ``str`` refusal is a 403)."""

    status: int = 403
    headers: dict[str, str]

    def __new__(cls, body: str, status: int = 403, headers: dict[str, str] | None = None) -> Refusal:
        page = super().__new__(cls, body)
        page.status, page.headers = status, dict(headers or {})
        return page


def limit_page(error: LimitError) -> Refusal:
    """The 429 page for ``error``, with ``Retry-After`` in seconds."""
    body = render("limit.html.j2", reason=error.message, retry_after=error.retry_after)
    return Refusal(body, 429, {"Retry-After": str(error.retry_after)})


def page_refusal(settings, tenant: str) -> Refusal | None:
    """Count one page load of ``tenant``: None while under its limit, else the 429 page.

    StorageError when the tenant's limits cannot be read (the gate's "unavailable" refusal).
    """
    from retainwise.platform import limits, rate

    try:
        rate.take(limits.current(settings, tenant), "pages")
    except LimitError as exc:
        return limit_page(exc)
    return None
