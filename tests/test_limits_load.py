"""A small load test of the per-tenant limits on localhost: the real report server process (Voila), moto's
server over HTTP, concurrent requests from threads.

N+1 concurrent page loads for a limit of N pages a minute: N get the page, the last a 429 page that says
how long to wait (Retry-After) and costs no kernel. The upload endpoint answers 429 with Retry-After past
the tenant's uploads per minute and its bytes per day, with the reason in words.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie

import pytest

from retainwise.platform import limits
from retainwise.platform.links import sign_portal

from . import _report_server as rs
from ._report_server import kernel_pids, settled_kernels
from ._stack import Stack
from .conftest import SAMPLE

pytestmark = [pytest.mark.aws, pytest.mark.slow]

PAGES = 2  # acme's page loads per minute
#: What the admitted pages render: the limit sits in the server's gate, before any notebook, so a trivial
#: notebook tests it while keeping each render short (the real portal takes 20-40 s on a loaded CI machine,
#: which would spread N+1 "concurrent" loads over more than the minute being counted).
TRIVIAL = {
    "cells": [
        {
            "cell_type": "code",
            "metadata": {},
            "execution_count": None,
            "outputs": [],
            "source": "print('page for the visitor')",
        }
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


@pytest.fixture(scope="module")
def server(moto_server, tmp_path_factory):
    from retainwise.platform.embedded import free_port

    work = tmp_path_factory.mktemp("limits-load")
    stack = Stack.create(moto_server.url, work)
    port = free_port()
    stack.settings = stack.settings.replace(report_base_url=f"http://127.0.0.1:{port}")
    limits.update(stack.store, stack.settings, "acme", {"pages_per_minute": PAGES})
    limits.update(stack.store, stack.settings, "uploader", {"uploads_per_minute": 2})
    size = SAMPLE.stat().st_size
    limits.update(stack.store, stack.settings, "frugal", {"upload_bytes_per_day": size + size // 2})
    folder = work / "notebooks"
    folder.mkdir()
    for name in ("report.ipynb", "portal.ipynb"):
        (folder / name).write_text(json.dumps(TRIVIAL), encoding="utf-8")
    proc = rs.start_server(stack, port, work / "voila.log", "--notebooks", str(folder))
    try:
        yield {"stack": stack, "base": f"http://127.0.0.1:{port}", "proc": proc, "log": work / "voila.log"}
    finally:
        rs.stop_server(proc)


def _request(url: str, data: bytes | None = None, cookie: str | None = None) -> tuple[int, dict, str]:
    request = urllib.request.Request(url, data=data, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=180) as resp:
            return resp.status, dict(resp.headers), resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode(errors="replace")


def _portal(server, tenant: str) -> tuple[str, str]:
    """The tenant's portal as a browser holds it once the link is opened: (token-free URL, its cookie)."""
    token = sign_portal(server["stack"].settings.secret, tenant, 3600)
    host, port = server["base"].removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request("GET", f"/portal?token={token}")  # the link: swapped for a cookie, not a page
        answer = conn.getresponse()
        answer.read()
        assert answer.status in (302, 303), answer.status
        jar = SimpleCookie()
        for value in answer.headers.get_all("Set-Cookie") or []:
            jar.load(value)
        return server["base"] + answer.headers["Location"], "; ".join(
            f"{k}={m.value}" for k, m in jar.items()
        )
    finally:
        conn.close()


def _upload(server, tenant: str, name: str = "customers.csv") -> tuple[int, dict, str]:
    token = sign_portal(server["stack"].settings.secret, tenant, 3600)
    return _request(f"{server['base']}/portal/upload?token={token}&name={name}", SAMPLE.read_bytes())


def test_n_plus_1_concurrent_page_loads_for_a_limit_of_n_get_a_clear_429_and_no_kernel(server):
    url, cookie = _portal(server, "acme")  # the exchange is not a page load: it is not counted

    def load(_):
        return _request(url, cookie=cookie)

    with ThreadPoolExecutor(PAGES + 1) as pool:
        answers = list(pool.map(load, range(PAGES + 1)))
    statuses = sorted(status for status, _, _ in answers)
    assert statuses == [200] * PAGES + [429], statuses
    [(_, headers, body)] = [a for a in answers if a[0] == 429]
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert "Too many requests" in body and f"{PAGES} page loads a minute is the most allowed" in body
    assert "rw-score-file" not in body and "<script" not in body
    for _, _, page in (a for a in answers if a[0] == 200):
        assert "page for the visitor" in page and "rw-refusal" not in page
    # more loads within the minute are refused the same way, and none of them starts a kernel
    pid = server["proc"].pid
    before = settled_kernels(pid)
    kernels = sorted(kernel_pids(pid))
    with ThreadPoolExecutor(3) as pool:
        again = list(pool.map(load, range(3)))
    assert [status for status, _, _ in again] == [429] * 3
    assert settled_kernels(pid) == before and sorted(kernel_pids(pid)) == kernels
    # a refused token is never counted against the tenant: it still gets the plain refusal
    status, _, body = _request(f"{server['base']}/portal?token=not-a-token")
    assert status == 403 and "not valid" in body


def test_uploads_past_the_limit_per_minute_get_429_with_retry_after(server):
    first, second = _upload(server, "uploader"), _upload(server, "uploader")
    assert [first[0], second[0]] == [200, 200]
    status, headers, body = _upload(server, "uploader")
    assert status == 429 and 1 <= int(headers["Retry-After"]) <= 60
    assert json.loads(body)["error"].startswith("Too many requests: 2 uploads a minute is the most allowed.")
    staged = server["stack"].storage.list("uploads/uploader/portal/")
    assert sorted(staged) == sorted(
        json.loads(a[2])["key"] for a in (first, second)
    )  # the refused one stored nothing


def test_an_upload_over_the_bytes_per_day_is_refused_before_its_body_is_stored(server):
    status, _, body = _upload(server, "frugal")
    assert status == 200
    status, headers, body = _upload(server, "frugal")
    assert status == 429 and 86_000 < int(headers["Retry-After"]) <= 86_400
    error = json.loads(body)["error"]
    assert "over your limit of" in error and "in 24 hours: try again in 24 hours" in error
    assert len(server["stack"].storage.list("uploads/frugal/")) == 1
    log = server["log"].read_text(errors="replace")
    hits = [json.loads(line[line.index("{") :]) for line in log.splitlines() if '"limit_hit"' in line]
    assert {(h["tenant"], h["limit"]) for h in hits} >= {("frugal", "upload_bytes_per_day")}
    assert all("token" not in h for h in hits)
