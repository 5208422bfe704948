"""The report server's routes behind the front door (:mod:`retainwise.reports.front_door` says why):
``/healthz``, the kernel APIs that need their page's grant, the kernels' request-info socket open to this
host only, and the upload that takes the portal's cookie and refuses an odd size before anything reads it.
Built lazily, like the server's other tornado classes: importing this module imports no web stack."""

from __future__ import annotations

import asyncio
import functools
import re
from urllib.parse import urlsplit

from retainwise.errors import RetainwiseError
from retainwise.reports import kernels
from retainwise.reports.front_door import PORTAL_COOKIE, kernel_allowed
from retainwise.reports.gate import GATES, grant_for

HEALTH_ROUTE = "/healthz"
#: Decimal ASCII digits only, at most 15 (a petabyte): anything else is not a size.
_CONTENT_LENGTH = re.compile(r"[0-9]{1,15}")
KERNEL_REFUSED = "This page's session is not valid: open the link again."


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a peer address) is this machine (IPv4, IPv6 or IPv4 mapped into IPv6)."""
    import ipaddress

    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return (mapped or address).is_loopback


def same_origin(headers) -> bool:
    """Whether a browser request came from a page of this server (``Origin``/``Sec-Fetch-Site``, if sent)."""
    site = headers.get("Sec-Fetch-Site")
    if site is not None and site != "same-origin":
        return False
    origin = headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == headers.get("Host", "")


@functools.cache
def health_handler_class():
    import tornado.web

    class HealthHandler(tornado.web.RequestHandler):
        """``/healthz``: 200 while the server can serve (it has the secret), no token and no kernel."""

        def get(self):
            from retainwise.settings import Settings

            self.set_header("Cache-Control", "no-store")
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            try:
                ready = bool(Settings.from_env().secret)
            except Exception:  # noqa: BLE001 - unreadable settings: not able to serve, say so
                ready = False
            self.set_status(200 if ready else 503)
            self.finish("ok\n" if ready else "not configured: RETAINWISE_SECRET is missing\n")

        head = get

    return HealthHandler


def kernel_gate(base: type) -> type:
    """``base`` (a Jupyter kernel API handler) answering 403 unless the request holds the kernel's grant."""

    class KernelGate(base):
        async def prepare(self, *args, **kwargs):
            from retainwise.settings import Settings

            kernel_id = self.path_kwargs.get("kernel_id") or (self.path_args[0] if self.path_args else "")
            cookies = {name: morsel.value for name, morsel in self.request.cookies.items()}
            if not await asyncio.to_thread(kernel_allowed, kernel_id, cookies, Settings.from_env()):
                self.set_status(403)
                self.set_header("Cache-Control", "no-store")
                self.set_header("Content-Type", "text/plain; charset=utf-8")
                self.finish(KERNEL_REFUSED)
                return None
            kernels.page_connected(self, kernel_id)
            return await super().prepare(*args, **kwargs)

    KernelGate.__name__ = KernelGate.__qualname__ = f"Granted{base.__name__}"
    return KernelGate


def loopback_only(base: type) -> type:
    """``base`` refusing every client but this host's (the kernels), e.g. Voila's request-info socket."""

    class LoopbackOnly(base):
        def prepare(self, *args, **kwargs):
            peer = getattr(self.request.connection.context, "address", None)
            host = peer[0] if isinstance(peer, tuple) else ""
            if not is_loopback(host) or "X-Forwarded-For" in self.request.headers:
                self.set_status(403)
                self.finish()
                return None
            return super().prepare(*args, **kwargs)

    LoopbackOnly.__name__ = LoopbackOnly.__qualname__ = f"Loopback{base.__name__}"
    return LoopbackOnly


def _portal_token_readable(token: str) -> bool:
    """False for a portal token no check could accept, e.g. signed but with an expiry that is not a number
    (the upload's own check reads the rest: tenant, expiry, revocation)."""
    from retainwise.errors import LinkError
    from retainwise.settings import Settings

    try:
        grant_for(GATES["portal"], Settings.from_env(), {"token": token})
    except LinkError as exc:
        return exc.code != "bad_payload"
    except RetainwiseError:
        return True  # not about the token (e.g. settings): the upload's own check answers it
    return True


def upload_gate(base: type) -> type:
    """The portal upload handler taking the portal's cookie and refusing odd sizes before anything reads them."""

    class UploadGate(base):
        _door_token: str | None = None

        async def prepare(self):
            self.set_header("Cache-Control", "no-store")
            declared = self.request.headers.get("Content-Length")
            if declared is not None and not _CONTENT_LENGTH.fullmatch(declared):
                self.set_status(400)
                self.finish({"error": "The upload's size (Content-Length) is not a number of bytes."})
                return None
            self._door_token = super().get_query_argument("token", None) or (
                self.get_cookie(PORTAL_COOKIE) if same_origin(self.request.headers) else None
            )
            if self._door_token and not await asyncio.to_thread(_portal_token_readable, self._door_token):
                self.set_status(403)
                self.finish({"error": "This link is not valid."})
                return None
            return await super().prepare()

        def get_query_argument(self, name, default=None, strip=True):
            if name == "token":
                return self._door_token or default
            return super().get_query_argument(name, default, strip)

    UploadGate.__name__ = UploadGate.__qualname__ = f"Cookie{base.__name__}"
    return UploadGate


def guarded(handlers: list[tuple], server_url: str = "/") -> list[tuple]:
    """The server's routes behind the front door: ``/healthz`` first, the kernel APIs bound to their page's
    grant, the request-info socket loopback-only, the upload taking the portal cookie."""
    from jupyter_server.services.kernels.handlers import KernelHandler
    from jupyter_server.utils import url_path_join
    from voila.request_info_handler import RequestInfoSocketHandler
    from voila.shutdown_kernel_handler import VoilaShutdownKernelHandler
    from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler

    from retainwise.reports import portal_upload

    wrap = {
        KernelHandler: kernel_gate,
        VoilaKernelWebsocketHandler: kernel_gate,
        VoilaShutdownKernelHandler: kernel_gate,
        RequestInfoSocketHandler: loopback_only,
    }
    upload = url_path_join(server_url, portal_upload.ROUTE)
    routes = [(url_path_join(server_url, HEALTH_ROUTE), health_handler_class())]
    for route in handlers:
        guard = upload_gate if route[0] == upload else wrap.get(route[1])  # by path: whatever class serves it
        routes.append(route if guard is None else (route[0], _guarded_class(guard, route[1]), *route[2:]))
    return routes


@functools.cache
def _guarded_class(guard, base: type) -> type:
    return guard(base)
