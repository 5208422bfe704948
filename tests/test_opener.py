"""``/open?run=R``: the portal's report links, minted by the server behind the portal's cookie (``/open``
itself never takes a kernel: these tests talk HTTP only)."""

from __future__ import annotations

import http.client
import subprocess
import sys
import time
from http.cookies import SimpleCookie

import pytest

from retainwise.platform.links import sign, sign_portal, verify, verify_portal
from retainwise.reports.front_door import PORTAL_COOKIE, cookie_name
from retainwise.reports.opener import open_url

from ._report_server import completed_run, free_port_server, rival_upload, stop_server
from ._stack import Stack
from .conftest import SAMPLE

pytestmark = [pytest.mark.aws, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(moto_server, tmp_path_factory):
    work = tmp_path_factory.mktemp("opener")
    stack = Stack.create(moto_server.url, work)
    runs = {
        t: completed_run(stack, t, up, work)
        for t, up in {"acme": SAMPLE, "rival": rival_upload(work / "r.csv")}.items()
    }
    proc, port = free_port_server(stack, work / "voila.log")
    try:
        yield {"stack": stack, "port": port, **runs}
    finally:
        stop_server(proc)


def _open(server, run_id: str, cookies: dict, **headers):
    """(status, headers) of ``GET /open?run=run_id`` with ``cookies``: no redirect followed."""
    conn = http.client.HTTPConnection("127.0.0.1", server["port"], timeout=120)
    try:
        cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
        conn.request("GET", f"/open?run={run_id}", headers={"Cookie": cookie, **headers})
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.headers
    finally:
        conn.close()


def _portal(server, tenant="acme", ttl=3600) -> dict:
    return {PORTAL_COOKIE: sign_portal(server["stack"].settings.secret, tenant, ttl)}


def test_the_portal_link_names_only_the_run():
    class S:
        report_base_url = "https://reports.example/"

    assert open_url(S, "r1") == "https://reports.example/open?run=r1"


def test_the_portal_cookie_opens_its_tenants_report_with_a_token_that_dies_with_the_portals(server):
    secret, run = server["stack"].settings.secret, server["acme"]["id"]
    portal = _portal(server, ttl=600)
    status, headers = _open(server, run, portal, **{"Sec-Fetch-Site": "same-origin"})
    assert status == 303 and headers["Location"] == f"/?run={run}"
    jar = SimpleCookie()
    for value in headers.get_all("Set-Cookie"):
        jar.load(value)
    morsel = jar[cookie_name("", run)]
    assert morsel["httponly"] and morsel["secure"] and morsel["samesite"] == "Lax"
    grant, parent = verify(secret, morsel.value), verify_portal(secret, portal[PORTAL_COOKIE])
    assert (grant.tenant, grant.run_id) == ("acme", run)
    assert grant.expires <= parent.expires and grant.issued_at == parent.issued_at


def test_nothing_else_opens_a_report(server):
    acme, rival, secret = server["acme"]["id"], server["rival"]["id"], server["stack"].settings.secret
    expired = sign_portal(secret, "acme", 60, now=time.time() - 3600)
    for run, cookies, headers in [
        (acme, {}, {}),  # no cookie
        (acme, {cookie_name("", acme): sign(secret, "acme", acme, 3600)}, {}),  # a report's cookie
        (rival, _portal(server), {}),  # another tenant's run
        (acme, _portal(server), {"Sec-Fetch-Site": "cross-site"}),  # another site's link
        (acme, {PORTAL_COOKIE: sign_portal("another-secret", "acme", 3600)}, {}),
        (acme, {PORTAL_COOKIE: expired}, {}),
        ("no-such-run", _portal(server), {}),
    ]:
        status, answer = _open(server, run, cookies, **headers)
        assert status == 403 and "Set-Cookie" not in answer, (run, cookies, headers)


def test_a_revoked_portal_cookie_opens_nothing(server):
    portal = _portal(server)
    time.sleep(1.1)  # revocation is by issue time, to the second
    done = subprocess.run(
        [sys.executable, "-m", "retainwise", "tenant", "revoke-links", "acme"],
        env=server["stack"].env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    status, _ = _open(server, server["acme"]["id"], portal)
    assert status == 403
