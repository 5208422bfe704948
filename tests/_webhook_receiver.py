"""Local webhook receivers for the notification tests: real HTTP (and TLS) servers on 127.0.0.1.

- :class:`Receiver` records every POST and answers with queued statuses (a ``Location`` with a 3xx);
  with ``hold`` set, it keeps every request unanswered until the event is set (a sender in mid-attempt).
- :class:`Dripper` answers one byte a second, forever: a server no per-read timeout ever gives up on.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """A webhook receiver that records every POST and answers with the queued statuses (then 200)."""

    def __init__(self, answers=(), location: str | None = None, hold: threading.Event | None = None) -> None:
        self.requests: list[dict] = []
        self.answers, self.location, self.hold = list(answers), location, hold
        self.sni: list[str | None] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(
                    {"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                )
                if receiver.hold is not None:
                    receiver.hold.wait(60)
                status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                if 300 <= status < 400 and receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/churn"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def use_tls(self, cert: str, key: str) -> Receiver:
        """Serve https with ``cert``/``key``, recording the SNI name each client asked for."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        context.sni_callback = lambda sock, name, ctx: self.sni.append(name)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        return self

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.requests]


class Dripper:
    """A server that reads a request, then answers ``HTTP/1.1 200 OK`` one byte a second, forever."""

    def __init__(self, interval_s: float = 1.0) -> None:
        self.interval_s = interval_s
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/churn"
        self.bytes_sent = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 10_000:
                if self.stopping.wait(self.interval_s):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
                self.bytes_sent += 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(5)
        self.listener.close()


def wait_until(predicate, timeout: float = 30, what: str = "condition"):
    """Poll ``predicate`` until it is truthy; AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
