"""The report server's security (issue 13, items 15-17): strangers cost no kernel, the URL cannot skip the
preheated pool, a closed page frees its kernel, links minted from a page die with its token, and the
documented headers are on every response while nothing is loaded from elsewhere."""

from __future__ import annotations

import calendar
import re
import time
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest

from retainwise.platform.links import report_url, sign, verify
from retainwise.reports.server import SECURITY_HEADERS

from . import _report_server as rs
from ._report_server import kernel_pids, make_reports, open_report, rival_upload, rss_bytes, settled_kernels
from .conftest import SAMPLE

pytestmark = [pytest.mark.browser, pytest.mark.aws, pytest.mark.slow]

browser, page = rs.browser, rs.page  # the shared fixtures


@pytest.fixture(scope="module")
def reports(moto_server, tmp_path_factory):
    work = tmp_path_factory.mktemp("report-security")
    yield from make_reports(moto_server, work, {"acme": SAMPLE, "rival": rival_upload(work / "rival.csv")})


def _get(url: str) -> tuple[int, dict, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, dict(resp.headers), resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode(errors="replace")


def _stranger_urls(reports) -> list[str]:
    base, acme, secret = (
        f"http://127.0.0.1:{reports['port']}",
        reports["acme"]["id"],
        reports["stack"].settings.secret,
    )
    good = sign(secret, "acme", acme, 3600)
    return [
        f"{base}/",
        f"{base}/?run={acme}",
        f"{base}/?run={acme}&token=not-a-token",
        f"{base}/?run={acme}&token={good[:-4]}{'AAAA' if not good.endswith('AAAA') else 'BBBB'}",
        f"{base}/?run={acme}&token={sign(secret, 'acme', acme, 60, now=time.time() - 3600)}",
        f"{base}/?run={acme}&token={sign(secret, 'rival', acme, 3600)}",  # foreign: rival's name on acme's run
        f"{base}/?run={reports['rival']['id']}&token={good}",
        f"{base}/?template=classic",
        f"{base}/?theme=dark&run={acme}",
        f"{base}/?run={acme}&token={sign('another-secret', 'acme', acme, 3600)}",
    ]


def test_strangers_cost_no_kernel(reports):
    server, urls = reports["server"].pid, _stranger_urls(reports)
    for url in urls:  # first requests import the token and run-store code once: not a cost per stranger
        _get(url)
    settled_kernels(server)
    kernels, before = sorted(kernel_pids(server)), rss_bytes([server]) / 2**20
    for i in range(100):
        status, _, body = _get(urls[i % len(urls)])
        assert status == 403 and 'id="rw-refusal"' in body, (urls[i % len(urls)], status)
        assert "RIVAL-" not in body and reports["acme"]["results"]["customer_id"].iloc[0] not in body
    settled_kernels(server)
    assert sorted(kernel_pids(server)) == kernels  # the very same kernels: none started, none handed out
    after = rss_bytes([server]) / 2**20
    assert after - before < 20, f"the server grew from {before:.0f} MB to {after:.0f} MB"


def _preheated_uses(reports) -> int:
    return reports["log"].read_text(errors="replace").count("Using pre-heated kernel")


def test_url_cannot_make_the_server_cold_start_a_kernel(reports, page):
    acme, settings = reports["acme"], reports["stack"].settings
    settled_kernels(reports["server"].pid)
    used = _preheated_uses(reports)
    open_report(page, report_url(settings, "acme", acme["id"]) + "&template=classic&theme=dark", "#rw-rows")
    assert _preheated_uses(reports) == used + 1
    assert page.locator(".rw-header").count() == 1  # still our template


def test_a_closed_page_frees_its_kernel(reports, browser):
    server, acme, settings = reports["server"].pid, reports["acme"], reports["stack"].settings
    # a page an earlier test closed frees its kernel within RETAINWISE_REPORT_KERNEL_GONE (15 s): wait it out
    idle = settled_kernels(server, timeout=90, quiet=20)
    context = browser.new_context(viewport=rs.DESKTOP)
    pg = context.new_page()
    open_report(pg, report_url(settings, "acme", acme["id"]), "#rw-rows")
    assert settled_kernels(server) == idle + 1  # the visitor's kernel; the pool refilled behind it
    pg.close(run_before_unload=True)
    context.close()
    deadline = time.monotonic() + 30
    while len(kernel_pids(server)) > idle and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(kernel_pids(server)) == idle


def test_links_minted_from_a_page_expire_with_its_token(reports, page, tmp_path):
    acme, settings = reports["acme"], reports["stack"].settings
    rs.completed_run(reports["stack"], "acme", SAMPLE, tmp_path)  # an earlier-runs entry with a link
    token = sign(settings.secret, "acme", acme["id"], 45)  # under the old 60 s floor of minted links
    expires = verify(settings.secret, token).expires
    open_report(page, f"http://127.0.0.1:{reports['port']}/?run={acme['id']}&token={token}", "a.rw-download")
    download = page.get_attribute("a.rw-download", "href")
    q = parse_qs(urlsplit(download).query)
    if "Expires" in q:  # S3 signature v2: the expiry itself
        download_expires = int(q["Expires"][0])
    else:  # v4: signed at, plus seconds
        download_expires = calendar.timegm(time.strptime(q["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")) + int(
            q["X-Amz-Expires"][0]
        )
    assert download_expires <= expires + 1
    minted = [verify(settings.secret, t) for t in re.findall(r"token=([A-Za-z0-9_.\-]+)", page.content())]
    assert minted and all(g.expires <= expires for g in minted)


def test_security_headers_on_page_refusal_and_assets(reports, page):
    acme, settings, base = reports["acme"], reports["stack"].settings, f"http://127.0.0.1:{reports['port']}"
    seen = {}
    page.on("response", lambda r: seen.setdefault(r.url, r.all_headers()))
    open_report(page, report_url(settings, "acme", acme["id"]), "#rw-rows")
    _, refusal_headers, _ = _get(f"{base}/?run={acme['id']}")
    assets = {u: h for u, h in seen.items() if "/voila/" in u}
    assert assets, "the page loaded no static assets from the server"
    for url, headers in [("page", seen[page.url]), ("refusal", refusal_headers), *assets.items()]:
        headers = {k.lower(): v for k, v in headers.items()}
        for name, value in SECURITY_HEADERS.items():
            assert headers.get(name.lower()) == value, (url, name)


def test_the_page_loads_nothing_from_elsewhere(reports, page):
    acme, settings = reports["acme"], reports["stack"].settings
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    open_report(page, report_url(settings, "acme", acme["id"]), "#rw-rows")
    page.wait_for_load_state("networkidle")
    local = (f"http://127.0.0.1:{reports['port']}/", f"ws://127.0.0.1:{reports['port']}/", "data:", "blob:")
    assert [u for u in requested if not u.startswith(local)] == []
    assert "cdn.jsdelivr" not in page.content()


def test_pages_holding_tokens_or_presigned_urls_are_never_stored(reports, page):
    """The page (with its presigned download and minted links), the link's redirect and the refusal all say
    ``no-store``, over HSTS: nothing a token opened stays in a shared cache or the back/forward cache."""
    acme, settings = reports["acme"], reports["stack"].settings
    seen = {}
    page.on("response", lambda r: seen.setdefault(r.url, (r.status, r.all_headers())))
    open_report(page, report_url(settings, "acme", acme["id"]), "#rw-rows")
    redirects = [h for u, (status, h) in seen.items() if status == 303 and "token=" in u]
    _, refusal_headers, _ = _get(f"http://127.0.0.1:{reports['port']}/?run={acme['id']}")
    assert redirects, "the link was not exchanged for a cookie"
    for headers in (seen[page.url][1], redirects[0], {k.lower(): v for k, v in refusal_headers.items()}):
        assert "no-store" in headers["cache-control"]
        assert headers["strict-transport-security"].startswith("max-age=31536000")
