"""``/open?run=R``: the report links a portal page shows, minted by the server instead of the kernel.

Why (issue 25): the portal's kernel used to sign each run's report link itself, so it held the link secret.
Now it renders plain ``/open?run=R`` links (:func:`open_url`) and the server, which has the secret, turns a
click into the report: it admits the holder of the portal's cookie (``rw_portal``, checked like the portal
page: signature, expiry, revoked links, a disabled tenant) when R is a COMPLETED run of that cookie's tenant,
mints a report token that never outlives the portal's grant and inherits its issue time (so revoking the
tenant's links kills it too), checks it as the report page will, and answers a 303 into the report with
the report's cookie set (``front_door.enter_with_cookie``): no token in any URL.

Decisions: only a same-origin request counts (``Sec-Fetch-Site``/``Origin``, as the upload), so another site
cannot walk a visitor into a report; anything refused gets the refusal page (403, the same "not valid" for
a missing cookie, another tenant's run or a run not ready) and a storage failure the unavailable page (503).
A report page's own links to earlier reports are minted by the server too, but as token links when it
prepares the visit (``reports.run_cache``): ``/open`` does not admit report cookies.
Built lazily, like the server's other tornado classes: the kernel imports :func:`open_url` without tornado.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from urllib.parse import urlencode

from retainwise.errors import LinkError, RetainwiseError

ROUTE = "/open"
#: A report link minted here lives this long at most (and never past the portal's grant).
LIFETIME_S = 7 * 86400

log = logging.getLogger("retainwise.reports.opener")


def open_url(settings, run_id: str) -> str:
    """The link a portal page shows for ``run_id``'s report: no token (the server mints it on the click)."""
    return f"{settings.report_base_url.rstrip('/')}{ROUTE}?{urlencode({'run': run_id})}"


def mint(settings, portal_token: str | None, run_id: str | None):
    """(report grant, report token) for ``run_id`` opened with the portal cookie ``portal_token``.

    LinkError when the cookie is not a valid portal grant or the run is not a COMPLETED run of its tenant;
    StorageError when the run store fails."""
    from retainwise.platform.links import inherited_issue, keys, remaining_s, sign
    from retainwise.reports.gate import GATES, grant_for

    if not portal_token or not run_id:
        raise LinkError("This link is not valid.", code="invalid")
    portal = grant_for(GATES["portal"], settings, {"token": portal_token})
    lifetime = min(LIFETIME_S, remaining_s(portal))
    token = sign(keys(settings), portal.tenant, run_id, lifetime, issued_at=inherited_issue(portal))
    # the report page's own check: the run is the tenant's and COMPLETED, nothing revoked since
    return grant_for(GATES[""], settings, {"run": run_id, "token": token}), token


@functools.cache
def handler_class():
    import tornado.web

    from retainwise.settings import Settings

    class OpenHandler(tornado.web.RequestHandler):
        """``GET /open?run=R`` behind the portal's cookie: a 303 into the report with its cookie set."""

        def _refuse(self, status: int, reason: str) -> None:
            from retainwise.reports.gate import refusal_page

            self.set_status(status)
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.set_header("Cache-Control", "no-store")
            self.finish(refusal_page(reason))

        async def get(self):
            from retainwise.reports.front_door import PORTAL_COOKIE, enter_with_cookie
            from retainwise.reports.gate import refusal_reason
            from retainwise.reports.guards import same_origin

            cookie = self.get_cookie(PORTAL_COOKIE) if same_origin(self.request.headers) else None
            try:
                grant, token = await asyncio.to_thread(
                    mint, Settings.from_env(), cookie, self.get_query_argument("run", None)
                )
            except RetainwiseError as exc:
                log.warning("open refused: %s", getattr(exc, "code", "error"))
                return self._refuse(403 if isinstance(exc, LinkError) else 503, refusal_reason(exc))
            enter_with_cookie(self, "", grant, token)

    return OpenHandler


def handlers(server_url: str = "/") -> list[tuple]:
    """The route to add to the report server's tornado application."""
    from jupyter_server.utils import url_path_join

    return [(url_path_join(server_url, ROUTE), handler_class())]
