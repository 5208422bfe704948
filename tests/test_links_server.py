"""Revoked links against the real report server (issue 25): after ``retainwise tenant revoke-links acme``,
acme's report and portal links are refused (page, upload, the kernel websocket of a page already open) with
no kernel started, while rival's links, and acme's links issued afterwards, keep working.

Kept apart from tests/test_links.py (the unit tests) because it needs moto, two pipeline runs, the server
and Chromium."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from retainwise.platform.links import portal_url, report_url

from . import _report_server as rs
from ._report_server import kernel_pids, make_reports, rival_upload, settled_kernels
from .conftest import ROOT, SAMPLE

pytestmark = [pytest.mark.browser, pytest.mark.aws, pytest.mark.slow]

browser, page = rs.browser, rs.page  # the shared fixtures

UPLOAD = ROOT / "tests" / "data" / "exports" / "value_evidence.csv"
# A new socket to the page's kernel: "open" when the server lets it through, "refused" when it answers 403.
_NEW_SOCKET = """url => new Promise(done => {
    const ws = new WebSocket(url);
    ws.onopen = () => { ws.close(); done("open"); };
    ws.onerror = () => done("refused");
    setTimeout(() => done("timeout"), 120000);
})"""


@pytest.fixture(scope="module")
def reports(moto_server, tmp_path_factory):
    work = tmp_path_factory.mktemp("links-server")
    yield from make_reports(moto_server, work, {"acme": SAMPLE, "rival": rival_upload(work / "rival.csv")})


def _request(url: str, data: bytes | None = None) -> tuple[int, str]:
    """(status, body) of a GET (or a POST of ``data``), redirects not followed (a refusal is no redirect)."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, data=data), timeout=240) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def _upload_url(portal_link: str, name: str) -> str:
    base, token = portal_link.split("/portal?token=")
    return f"{base}/portal/upload?token={token}&name={name}"


def _revoke(reports, tenant: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "retainwise", "tenant", "revoke-links", tenant],
        env=reports["stack"].env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def _open(pg, url: str, selector: str):
    """``url`` in ``pg`` until ``selector`` shows: waits generous enough for a machine shared by many."""
    pg.goto(url, wait_until="domcontentloaded", timeout=240_000)
    pg.wait_for_selector(selector, timeout=240_000)
    return pg


def _open_page_socket(pg, url: str) -> str:
    """Open the report at ``url`` and return its kernel websocket's URL."""
    sockets = []
    pg.on("websocket", lambda ws: sockets.append(ws.url))
    _open(pg, url, "#rw-rows")
    assert sockets, "the page opened no kernel websocket"
    return sockets[0]


def test_a_revoked_tenants_links_are_refused_and_anothers_keep_working(reports, page, browser):
    settings, server = reports["stack"].settings, reports["server"].pid
    acme, rival = reports["acme"], reports["rival"]
    links = {
        "acme_report": report_url(settings, "acme", acme["id"], 3600),
        "acme_portal": portal_url(settings, "acme", 3600),
        "rival_report": report_url(settings, "rival", rival["id"], 3600),
        "rival_portal": portal_url(settings, "rival", 3600),
    }
    socket = _open_page_socket(page, links["acme_report"])  # acme's page, open before the revocation
    assert page.evaluate(_NEW_SOCKET, socket) == "open"  # its cookie opens its kernel's socket today

    _revoke(reports, "acme")

    assert page.evaluate(_NEW_SOCKET, socket) == "refused"  # the open page's kernel: no new socket
    settled_kernels(server)
    kernels = sorted(kernel_pids(server))
    for name in ("acme_report", "acme_portal"):
        status, body = _request(links[name])
        assert status == 403 and 'id="rw-refusal"' in body, name
        assert acme["results"]["customer_id"].iloc[0] not in body and "rw-score-file" not in body
    status, body = _request(_upload_url(links["acme_portal"], "march.csv"), UPLOAD.read_bytes())
    assert status == 403, body
    assert reports["stack"].storage.list("uploads/acme/portal/") == []
    settled_kernels(server)
    assert sorted(kernel_pids(server)) == kernels  # refused before a kernel: none started, none handed out

    status, _ = _request(_upload_url(links["rival_portal"], "march.csv"), UPLOAD.read_bytes())
    assert status == 200  # another tenant's upload goes on
    context = browser.new_context(viewport=rs.DESKTOP)
    try:
        other = context.new_page()
        _open(other, links["rival_report"], "#rw-rows")
        assert other.get_attribute("#rw-rows", "data-value") == f"{rival['summary']['rows_scored']:,}"
        _open(other, links["rival_portal"], "button.rw-score-file")
        _open(other, report_url(settings, "acme", acme["id"], 3600), "#rw-rows")  # issued after: works
    finally:
        context.close()
