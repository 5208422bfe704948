"""The portal's upload endpoint: the browser streams a file to storage through the report server.

``POST /portal/upload?token=PORTAL_TOKEN&name=FILE`` with the file as the raw body.
Files of up to 200 MB never travel through a kernel's websocket or sit in a
kernel's memory: the server checks the portal token and the declared size
*before* it reads the body, then streams the body into S3 (a multipart upload
in 8 MiB parts). The key is chosen here, from the token's tenant:
``uploads/<tenant>/portal/<id>-<safe name>``; the browser never names a key, and
a file name that tries to leave that prefix (``../``, slashes) is refused. A
staged file is not scored: the runner only runs keys directly under
``uploads/<tenant>/``, and the portal queues a copy once the tenant has
confirmed its columns.

Answers are JSON: ``{"key", "name", "size"}``, or ``{"error"}`` with 400/403/411/413/429/503 (429 with
``Retry-After``: the tenant's uploads per minute or bytes per day, :mod:`retainwise.platform.limits`).
A staged file is tagged so that the bucket expires it after a day (:mod:`retainwise.platform.quotas`).
"""

from __future__ import annotations

import asyncio
import functools
import re
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote

from retainwise.errors import InputError, LinkError, RetainwiseError
from retainwise.platform.tenants import STAGING, check_tenant, safe_name

ROUTE = "/portal/upload"
PART_BYTES = 8 * 1024 * 1024  # S3 parts must be at least 5 MiB, except the last
_UNSAFE_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")


def staging_prefix(tenant: str) -> str:
    """Where ``tenant``'s portal uploads wait for the tenant to confirm their columns."""
    return f"uploads/{check_tenant(tenant)}/{STAGING}/"


def own_staged(tenant: str, key: str) -> bool:
    """Whether ``key`` (which came back through the browser) is a file directly in ``tenant``'s staging area."""
    prefix = staging_prefix(tenant)
    return key.startswith(prefix) and "/" not in key[len(prefix) :] and ".." not in key and key != prefix


def check_name(name: str) -> str:
    """``name`` if it is a plain file name (no path, no control characters); InputError otherwise."""
    if not name or len(name) > 255 or _UNSAFE_NAME.search(name) or name.strip(". ") == "":
        raise InputError(
            f"File name {name!r} is not allowed: upload a file whose name has no folders in it.",
            code="bad_file_name",
        )
    return name


def size_refusal(name: str, size: int) -> InputError | None:
    """The CLI's refusal of a file called ``name`` of ``size`` bytes (empty, over the limit), else None.

    The CLI's own reader is asked, on a sparse placeholder of that size (no bytes are written: it refuses
    on the size before reading any), so the page and the CLI can never disagree on the words or the limit.
    """
    from retainwise.science.reading import MAX_BYTES, read_upload

    if 0 < size <= MAX_BYTES:
        return None
    with tempfile.TemporaryDirectory(prefix="retainwise-size-") as tmp:
        path = Path(tmp) / check_name(name)
        with open(path, "wb") as fh:
            fh.truncate(size)
        try:
            read_upload(path)
        except InputError as exc:
            return exc
    return None


def staged_key(tenant: str, name: str) -> str:
    """A fresh key under ``tenant``'s staging prefix for a file called ``name``."""
    return f"{staging_prefix(tenant)}{uuid.uuid4().hex[:12]}-{safe_name(check_name(name))}"


class _Sink:
    """Bytes in, an S3 object out: one PUT for a small file, a multipart upload for a large one."""

    def __init__(self, storage, key: str, name: str) -> None:
        self.storage, self.key, self.name = storage, key, name
        self.buffer = bytearray()
        self.parts: list[dict] = []
        self.upload_id: str | None = None
        self.size = 0

    def _meta(self) -> dict[str, str]:
        return {"original-name": quote(self.name)}

    async def write(self, chunk: bytes) -> None:
        self.buffer += chunk
        self.size += len(chunk)
        if len(self.buffer) >= PART_BYTES:
            await self._flush_part()

    async def _flush_part(self) -> None:
        if self.upload_id is None:
            self.upload_id = await asyncio.to_thread(
                self.storage.start_multipart, self.key, metadata=self._meta()
            )
        body, self.buffer = bytes(self.buffer), bytearray()
        part = await asyncio.to_thread(
            self.storage.put_part, self.key, self.upload_id, len(self.parts) + 1, body
        )
        self.parts.append(part)

    async def close(self) -> None:
        """Write what is left, then tag the file as staged: the bucket expires it after a day (platform.quotas)."""
        from retainwise.platform.quotas import tag_staged

        if self.upload_id is None:
            await asyncio.to_thread(
                self.storage.put_bytes, self.key, bytes(self.buffer), metadata=self._meta()
            )
        else:
            if self.buffer:
                await self._flush_part()
            await asyncio.to_thread(self.storage.finish_multipart, self.key, self.upload_id, self.parts)
        await asyncio.to_thread(tag_staged, self.storage, self.key)

    def abort(self) -> None:
        if self.upload_id is not None:
            try:
                self.storage.abort_multipart(self.key, self.upload_id)
            except RetainwiseError:
                pass  # the bucket's lifecycle rule removes abandoned parts
            self.upload_id = None


class Refused(Exception):
    """An upload the endpoint turns away: the HTTP status and the one line shown to the tenant."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after

    def answer(self, handler) -> None:
        """Write this refusal as tornado ``handler``'s response: JSON ``{"error"}``, never cached."""
        handler.set_status(self.status)
        handler.set_header("Cache-Control", "no-store")
        if self.retry_after is not None:
            handler.set_header("Retry-After", str(self.retry_after))
        handler.finish({"error": self.message})


UNAVAILABLE = "Storage is unavailable right now; try again in a minute."


def admit(settings, token: str | None, name: str, declared: str | None) -> _Sink:
    """Where an upload may go (a sink under the token's tenant's staging area), checked before its body.

    Raises :class:`Refused`: 403 for a token that is not a valid portal token, 411 without a size,
    413/400 with the CLI's reason for a file that is too large, empty or badly named, 429 (with
    ``retry_after``) past the tenant's uploads per minute or bytes per day, 503 without storage.
    The per-minute count is taken once the token is verified, before anything else is looked at.
    """
    from retainwise.platform import limits, quotas, rate
    from retainwise.platform.storage import Storage
    from retainwise.reports.gate import check_portal

    try:
        grant = check_portal(settings, {"token": token})  # the page's check: revoked and disabled too
        allowed = limits.current(settings, grant.tenant)
        rate.take(allowed, "uploads")
        name = check_name(name)
        if declared is None or not declared.isdigit():
            raise Refused(411, "The upload must say its size (Content-Length).")
        refusal = size_refusal(name, int(declared))
        if refusal is not None:
            raise refusal
        storage = Storage(settings)
        quotas.check_upload_bytes(storage, allowed, int(declared))
        return _Sink(storage, staged_key(grant.tenant, name), name)
    except LinkError:
        raise Refused(403, "This link is not valid.") from None
    except limits.LimitError as exc:
        raise Refused(429, exc.message, exc.retry_after) from None
    except InputError as exc:
        raise Refused(413 if exc.code == "too_large" else 400, exc.message) from None
    except RetainwiseError:
        raise Refused(503, UNAVAILABLE) from None


@functools.cache
def handler_class():
    """The tornado handler (built lazily: importing this module must not import tornado's web stack)."""
    import tornado.web

    from retainwise.science.reading import MAX_BYTES
    from retainwise.settings import Settings

    @tornado.web.stream_request_body
    class PortalUploadHandler(tornado.web.RequestHandler):
        """Checks the portal token and size before the body arrives, then streams it to S3."""

        sink: _Sink | None = None

        def check_xsrf_cookie(self):
            # The credential is the portal token in the URL, which a third-party page cannot know or
            # make the browser attach: there is no ambient authority for a forged request to ride on.
            return None

        def _refuse(self, refused: Refused) -> None:
            if self.sink is not None:
                self.sink.abort()
                self.sink = None
            refused.answer(self)

        async def prepare(self):
            try:
                self.sink = await asyncio.to_thread(  # off the event loop: it reads the store and bucket
                    admit,
                    Settings.from_env(),
                    self.get_query_argument("token", None),
                    self.get_query_argument("name", ""),
                    self.request.headers.get("Content-Length"),
                )
            except Refused as refused:
                return self._refuse(refused)
            self.request.connection.set_max_body_size(MAX_BYTES)

        async def data_received(self, chunk: bytes):
            if self.sink is not None and not self._finished:
                try:
                    await self.sink.write(chunk)
                except RetainwiseError:
                    self._refuse(Refused(503, UNAVAILABLE))

        async def post(self):
            if self.sink is None:
                return
            try:
                await self.sink.close()
            except RetainwiseError:
                return self._refuse(Refused(503, UNAVAILABLE))
            self.finish({"key": self.sink.key, "name": self.sink.name, "size": self.sink.size})

        def on_connection_close(self):
            if self.sink is not None and not self._finished:
                self.sink.abort()

    return PortalUploadHandler


def handlers(server_url: str = "/") -> list[tuple]:
    """The routes to add to the report server's tornado application."""
    from jupyter_server.utils import url_path_join

    return [(url_path_join(server_url, ROUTE), handler_class())]
