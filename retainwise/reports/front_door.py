"""The report server's front door: health, the link's token swapped for a cookie, kernels bound to their page.

Decisions (issue 25):

- ``/healthz`` answers 200 with no token and no kernel while the server can serve a page (it has the secret
  that checks links), 503 otherwise. The load balancer's target group and the container's health check
  (``infra/docker/healthcheck.py http``) call it; ``/`` keeps refusing a request without a token.
- **A link's token is exchanged for a cookie.** ``/?run=R&token=T`` (and ``/portal?token=T``) is checked
  exactly as the page would be (:func:`retainwise.reports.gate.grant_for`); if it passes, the answer is a
  303 to the same page without the token (``/?run=R``, ``/portal``) that sets the token as a cookie:
  ``Secure`` (browsers accept it on ``http://localhost`` and ``http://127.0.0.1``, so ``retainwise up`` keeps
  working on plain http; a plain-http address other than loopback gets no cookie, on purpose: serve it over
  https, as the load balancer does), ``HttpOnly`` (no script reads it), ``SameSite=Lax`` (``Strict`` would
  not be sent on the redirect that follows a click in a mail client or another site, ``Lax`` is sent on that
  top-level navigation and never on a cross-site POST, frame or websocket), ``Max-Age`` the token's
  remaining life.
  A report's cookie is named after its run (a hash of the run id, ``rw_r_<16 hex>``), so reports of several
  runs stay open side by side; the portal's is ``rw_portal`` (a second tenant's portal link replaces it).
  Its path is the server's base URL: the kernel websocket (``/api/kernels/...``) needs it too.
- **How the grant reaches the kernel.** The page's request carries no token; the server reads the cookie,
  checks it (:func:`retainwise.reports.gate.admit`) and only then rewrites the request's query *inside the
  server process* to hold the token. Voila hands that query to the kernel as ``QUERY_STRING`` (in the
  kernel's environment, or for a preheated kernel over ``/voila/query/<kernel>``, which only loopback
  clients may open), with the grant the server verified (``rw_grant``, :mod:`retainwise.reports.handover`):
  kernels hold no link secret, so they trust that grant instead of verifying again; the token itself is
  never in a URL the browser sees (``VOILA_REQUEST_URL`` and the access log use the token-free URI).
- **Kernels are bound to the page's grant.** When a page is admitted, the kernel Voila hands it is bound to
  that grant (tenant, run). ``/api/kernels/<id>``, its ``/channels`` websocket and ``/voila/api/shutdown/<id>``
  answer 403 unless the request carries the page's cookie and it still grants that same tenant and run: a
  kernel id alone (from a log, a screen share) opens nothing and shuts nothing down.
- **Uploads.** ``/portal/upload`` takes the portal's cookie when the URL has no token (the page's script no
  longer finds one in its address); the cookie only counts on a same-origin request (``Origin`` matching the
  host, ``Sec-Fetch-Site`` same-origin when sent), on top of ``SameSite``. An odd ``Content-Length``
  (non-ASCII digits, thousands of digits, more than 15) is a 400 before anything parses it.
- **Logs.** :mod:`retainwise.reports.logscrub` redacts tokens from every log line and writes kernel ids only
  at DEBUG. The load balancer's access logs cannot redact a query string, so they are off (infra/alb.tf):
  the web ACL's log (query string and cookie redacted) records every request instead.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from dataclasses import dataclass
from urllib.parse import urlencode

from retainwise.errors import RetainwiseError
from retainwise.reports.gate import GATES, Gate, grant_for, query_params, refusal_page, refusal_reason

log = logging.getLogger("retainwise.reports.front_door")

PORTAL_COOKIE = "rw_portal"
REPORT_COOKIE_PREFIX = "rw_r_"
#: Report cookies a browser may hold at once: each is sent with every request (~200 bytes), and the load
#: balancer refuses a header over 16 KB. Past this many, an exchange clears the others (their pages' links
#: still work: opening one exchanges it again).
MAX_REPORT_COOKIES = 20


def cookie_name(route: str, run_id: str | None) -> str:
    """The cookie holding the grant of the page at ``route`` (the run's, for a report)."""
    if route == "portal":
        return PORTAL_COOKIE
    return REPORT_COOKIE_PREFIX + hashlib.sha256((run_id or "").encode()).hexdigest()[:16]


def page_path(server_url: str, route: str, run_id: str) -> str:
    """The page's URL without its token (the target of the exchange's redirect)."""
    path = server_url.rstrip("/") + "/" + route
    return path + ("?" + urlencode({"run": run_id}) if route != "portal" else "")


def with_token(query: str, token: str | None) -> str:
    """``query`` with ``token`` as its token (the server-side query the kernel receives)."""
    params = query_params(query)
    params.pop("token", None)
    if token:
        params["token"] = token
    return urlencode(params)


@dataclass(frozen=True)
class Binding:
    """The grant a kernel was handed out under."""

    route: str
    tenant: str
    run_id: str


class KernelGrants:
    """kernel id -> :class:`Binding`, in the server process; ids of kernels that are gone are dropped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bound: dict[str, Binding] = {}

    def bind(self, kernel_id: str, binding: Binding, alive: list[str] | None = None) -> None:
        with self._lock:
            if alive is not None:
                for gone in set(self._bound) - set(alive):
                    del self._bound[gone]
            self._bound[kernel_id] = binding
        log.debug("kernel %s bound to a %s grant", kernel_id, binding.route or "report")

    def get(self, kernel_id: str) -> Binding | None:
        with self._lock:
            return self._bound.get(kernel_id)


GRANTS = KernelGrants()


def kernel_allowed(kernel_id: str, cookies: dict[str, str], settings) -> bool:
    """Whether a request with ``cookies`` may use ``kernel_id``: it was handed to a page whose cookie is here
    and still grants the same tenant and run."""
    binding = GRANTS.get(kernel_id)
    if binding is None:
        return False
    token = cookies.get(cookie_name(binding.route, binding.run_id))
    if not token:
        return False
    params = {"token": token, **({"run": binding.run_id} if binding.route != "portal" else {})}
    try:
        grant = grant_for(GATES[binding.route], settings, params)
    except RetainwiseError:
        return False
    return (grant.tenant, grant.run_id) == (binding.tenant, binding.run_id)


def route_of(gate: Gate) -> str:
    return next(route for route, g in GATES.items() if g is gate)


class _Recorder:
    """The kernel manager as one page request sees it: the kernel it is handed is bound to the page's grant."""

    def __init__(self, manager, binding: Binding) -> None:
        self._manager, self._binding = manager, binding

    def __getattr__(self, name):
        return getattr(self._manager, name)

    def _bind(self, kernel_id: str) -> None:
        GRANTS.bind(kernel_id, self._binding, list(self._manager.list_kernel_ids()))

    async def get_rendered_notebook(self, *args, **kwargs):
        render_task, rendered, kernel_id = await self._manager.get_rendered_notebook(*args, **kwargs)
        self._bind(kernel_id)
        return render_task, rendered, kernel_id

    async def start_kernel(self, *args, **kwargs):
        from jupyter_core.utils import ensure_async

        kernel_id = await ensure_async(self._manager.start_kernel(*args, **kwargs))
        self._bind(kernel_id)
        return kernel_id


def enter_with_cookie(handler, route: str, grant, token: str) -> None:
    """Answer ``handler``'s request with ``token`` (of ``grant``) as its page's cookie and a 303 to the page's
    token-free URL: the end of a link's exchange, and of ``/open`` (:mod:`retainwise.reports.opener`)."""
    from retainwise.platform.links import remaining_s

    base, name = handler.settings.get("server_url", "/"), cookie_name(route, grant.run_id)
    others = [n for n in handler.request.cookies if n.startswith(REPORT_COOKIE_PREFIX) and n != name]
    if len(others) >= MAX_REPORT_COOKIES:
        for other in others:
            handler.clear_cookie(other, path=base)
    handler.set_cookie(
        name, token, path=base, max_age=remaining_s(grant), secure=True, httponly=True, samesite="Lax"
    )
    handler.set_header("Cache-Control", "no-store")
    handler.redirect(page_path(base, route, grant.run_id), status=303)


class PageDoor:
    """Mixed into the gated Voila handler: the exchange, the cookie and the kernel binding."""

    gate: Gate
    binding: Binding | None = None

    @property
    def kernel_manager(self):
        manager = super().kernel_manager
        return manager if self.binding is None else _Recorder(manager, self.binding)

    def refuse(self, refusal: str) -> None:
        self.set_status(getattr(refusal, "status", 403))  # 429 + Retry-After past a tenant's limit
        for name, value in getattr(refusal, "headers", {}).items():
            self.set_header(name, value)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(refusal)

    def carries_token(self) -> bool:
        return "token" in query_params(self.request.query)

    async def exchange(self, settings) -> None:
        """A link: check its token like the page would, then a cookie and a redirect to the token-free URL."""
        route, params = route_of(self.gate), query_params(self.request.query)
        try:
            grant = await asyncio.to_thread(grant_for, self.gate, settings, params)
        except RetainwiseError as exc:
            log.warning("link refused: %s %s", self.gate.notebook, getattr(exc, "code", "error"))
            return self.refuse(refusal_page(refusal_reason(exc)))
        enter_with_cookie(self, route, grant, params["token"])

    def query_from_cookie(self) -> str:
        """The request's query with the token from the page's cookie (none: the query as it is)."""
        route, params = route_of(self.gate), query_params(self.request.query)
        return with_token(self.request.query, self.get_cookie(cookie_name(route, params.get("run"))))

    async def bind_page(self, settings, query: str) -> None:
        """Hand the admitted ``query`` to Voila (the kernel's QUERY_STRING) and bind its kernel to the grant."""
        from retainwise.reports.handover import kernel_query

        route, params = route_of(self.gate), query_params(query)
        grant = await asyncio.to_thread(grant_for, self.gate, settings, params)
        self.binding = Binding(route, grant.tenant, grant.run_id)
        # in this process only (the URI, the logs and the browser keep no token): the verified grant, which
        # the kernel trusts instead of verifying a token with the secret it no longer has (reports.handover)
        self.request.query = kernel_query(query, route, grant, params.get("token"))
