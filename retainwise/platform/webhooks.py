"""One webhook POST: https to a public address only, pinned to the address checked, no redirects, one deadline.

Why each rule (a webhook URL is typed by whoever manages a tenant, and the runner sending it sits
inside the network, next to the run store and the cloud's metadata service):

- **https only**: bodies carry signed report links. Plain ``http://`` goes only to hosts the operator
  lists in ``RETAINWISE_WEBHOOK_ALLOW_HTTP_HOSTS`` (test receivers, a developer's machine). Those
  hosts are the operator's own, so their addresses are not checked either.
- **public addresses only**: every address the host resolves to must be global: no loopback,
  private, link-local (``169.254.169.254``, the metadata service), shared (``100.64/10``),
  unique-local (``fd00:ec2::254``), multicast, reserved, nor any of those wrapped in an IPv6 form
  (IPv4-mapped, 6to4, NAT64). One inside address refuses the URL. Numeric spellings
  (``0x7f000001``, ``2130706433``, ``0177.0.0.1``) are read as the address they mean.
- **pinned**: the host is resolved once, and the socket connects to the address that was checked;
  the ``Host`` header, TLS SNI and certificate check use the name. No second lookup happens between
  check and connect, so a name cannot be re-pointed inside in between (DNS rebinding).
- **no redirects**: ``http.client`` never follows them; a 3xx is a final refusal (the tenant must set
  the final URL).
- **one total deadline** over resolving, connecting, TLS, sending and reading the status line and
  headers: a timer cuts the socket when it passes, so a server dripping one byte a second cannot
  hold the call (per-read timeouts alone would never fire). The body of the answer is never read.

:func:`check_url` raises :class:`InputError` (when a tenant's webhook is set); :func:`post` never
raises: it returns an :class:`Attempt` saying whether to stop, retry or give up.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from retainwise.errors import InputError

DELIVERED, RETRY, REFUSED = "delivered", "retry", "refused"
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SAFE = "/%:@!$&'()*+,;=-._~"  # kept as typed in a path or query; anything else (non-ASCII) is %-escaped
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    """A checked webhook URL, split into what the connection needs."""

    scheme: str
    host: str
    port: int
    path: str
    trusted: bool  # an operator-allowed host: http and any address


@dataclass(frozen=True)
class Attempt:
    """What one POST came to: ``outcome`` is DELIVERED, RETRY (may pass) or REFUSED (final)."""

    outcome: str
    detail: str
    status: int | None = None


def allowed_hosts(text: str | None) -> frozenset[str]:
    """The host names of a comma-separated ``RETAINWISE_WEBHOOK_ALLOW_HTTP_HOSTS`` value, lower-cased."""
    return frozenset(h.strip().strip("[]").lower() for h in (text or "").split(",") if h.strip())


def is_public(ip: Address) -> bool:
    """True when ``ip`` is a global unicast address, looking through IPv6 forms that wrap an IPv4 one."""
    if isinstance(ip, ipaddress.IPv6Address):
        wrapped = ip.ipv4_mapped or ip.sixtofour
        if wrapped is None and ip in _NAT64:
            wrapped = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if wrapped is not None and not is_public(wrapped):
            return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def literal_address(host: str) -> Address | None:
    """``host`` as an IP address when it spells one (also the old numeric forms ``inet_aton`` reads)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _refuse(url: str, why: str) -> InputError:
    return InputError(f"Webhook {url!r} is refused: {why}.", code="bad_webhook")


def check_url(url: str, allow_http: Collection[str] = ()) -> Target:
    """``url`` split into a :class:`Target` when its form is allowed; InputError saying why otherwise.

    Resolving the name is left to :func:`post`: what a name points at can change after it is saved.
    """
    text = str(url)
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise _refuse(text, "it holds spaces or control characters")
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise _refuse(text, "give an https URL such as https://example.com/hooks/churn")
    try:
        host = host.encode("idna").decode("ascii")  # what DNS, the Host header and TLS all see
    except UnicodeError:
        raise _refuse(text, "its host name is not a valid domain name") from None
    if parts.username is not None or parts.password is not None:
        raise _refuse(text, "credentials in the URL are not sent; check the signature header instead")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise _refuse(text, "its port is not a number between 0 and 65535") from None
    trusted = host in allow_http
    literal = literal_address(host)
    if literal is not None and not trusted and not is_public(literal):  # first: https would not help
        raise _refuse(text, f"{literal} is not a public address")
    if parts.scheme == "http" and not trusted:
        raise _refuse(text, "plain http is not allowed (the body carries report links); use https")
    query = f"?{quote(parts.query, safe=_SAFE + '?')}" if parts.query else ""
    path = quote(parts.path or "/", safe=_SAFE) + query
    return Target(parts.scheme, host, port, path, trusted)


def resolve(target: Target, deadline: float) -> list[tuple]:
    """The addresses to connect to, looked up once (within the deadline) and checked.

    InputError when any address is inside; OSError when the name does not resolve in time.
    """
    found: dict = {}

    def lookup() -> None:
        try:
            found["infos"] = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except OSError as exc:
            found["error"] = exc

    worker = threading.Thread(target=lookup, name="retainwise-webhook-dns", daemon=True)
    worker.start()  # getaddrinfo cannot be interrupted: wait for it in a thread, at most to the deadline
    worker.join(max(0.0, deadline - time.monotonic()))
    if "error" in found:
        raise found["error"]
    if "infos" not in found:
        raise TimeoutError(f"resolving {target.host} took longer than the deadline")
    infos = [i for i in found["infos"] if i[0] in (socket.AF_INET, socket.AF_INET6)]
    if not target.trusted:
        for info in infos:
            address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
            if not is_public(address):
                raise _refuse(f"{target.scheme}://{target.host}", f"it resolves to {address}, not public")
    if not infos:
        raise OSError(f"{target.host} has no IPv4 or IPv6 address")
    return infos


class _Pinned:
    """Connects to the checked address, never to the name; keeps the live socket for the deadline timer."""

    infos: list[tuple]
    live: socket.socket | None = None

    def _open(self) -> socket.socket:
        error: OSError | None = None
        for family, kind, proto, _, sockaddr in self.infos:
            sock = socket.socket(family, kind, proto)
            self.live = sock
            sock.settimeout(self.timeout)
            try:
                sock.connect(sockaddr)
                return sock
            except OSError as exc:
                sock.close()
                error = exc
        raise error or OSError("no address to connect to")


class _PinnedHTTP(_Pinned, http.client.HTTPConnection):
    def connect(self) -> None:
        self.sock = self._open()


class _PinnedHTTPS(_Pinned, http.client.HTTPSConnection):
    def connect(self) -> None:
        sock = self._context.wrap_socket(
            self._open(), server_hostname=self.host, do_handshake_on_connect=False
        )
        self.live = self.sock = sock
        sock.do_handshake()  # after `live` is set, so the deadline can cut a dripping handshake too


def _cut(conn: _Pinned, expired: threading.Event) -> None:
    """The deadline passed: shut the socket down so the blocked read returns (on a TLS socket as well)."""
    expired.set()
    sock = conn.live
    if sock is not None:
        try:
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass


def _judge(status: int) -> Attempt:
    if 200 <= status < 300:
        return Attempt(DELIVERED, f"answered {status}", status)
    if 300 <= status < 400:
        return Attempt(REFUSED, f"answered {status}: redirects are not followed; set the final URL", status)
    if status == 429 or status >= 500:
        return Attempt(RETRY, f"answered {status}", status)
    return Attempt(REFUSED, f"answered {status}", status)


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    allow_http: Collection[str] = (),
    deadline_s: float = 10.0,
    context: ssl.SSLContext | None = None,
) -> Attempt:
    """POST ``body`` to ``url`` under the rules above, all within ``deadline_s`` seconds. Never raises."""
    deadline = time.monotonic() + deadline_s
    try:
        target = check_url(url, allow_http)
        infos = resolve(target, deadline)
    except InputError as exc:
        return Attempt(REFUSED, exc.message)
    except OSError as exc:
        return Attempt(RETRY, f"{type(exc).__name__}: {exc}")
    remaining = max(0.001, deadline - time.monotonic())
    if target.scheme == "https":
        conn = _PinnedHTTPS(target.host, target.port, timeout=remaining, context=context)
    else:
        conn = _PinnedHTTP(target.host, target.port, timeout=remaining)
    conn.infos = infos
    expired = threading.Event()
    timer = threading.Timer(remaining, _cut, args=(conn, expired))
    timer.daemon = True
    timer.start()
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        return _judge(conn.getresponse().status)  # status line and headers only: the body is never read
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set():
            return Attempt(RETRY, f"no answer within the {deadline_s:g} s deadline")
        return Attempt(RETRY, f"{type(exc).__name__}: {exc}")
    finally:
        timer.cancel()
        conn.close()
