"""Report kernels on a real report server (issue 27, issue 25 item 6): a link past its cap gets the static
report with a clear note and costs no kernel, a page closed without its unload event frees its kernel, and
report kernels run without the link secret, database URL or AWS credentials."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from retainwise.platform.links import report_url

from . import _report_server as rs
from ._report_server import (
    completed_run,
    kernel_pids,
    open_report,
    settled_kernels,
    start_server,
    stop_server,
)
from ._stack import Stack
from .conftest import SAMPLE

pytestmark = [pytest.mark.browser, pytest.mark.aws, pytest.mark.slow]

browser = rs.browser
GONE_S = 3


@pytest.fixture(scope="module")
def server(moto_server, tmp_path_factory):
    from retainwise.platform.embedded import free_port

    work = tmp_path_factory.mktemp("report-kernels")
    port = free_port()
    stack = Stack.create(moto_server.url, work, report_kernels_per_token=1, report_kernel_gone_s=GONE_S)
    stack.settings = stack.settings.replace(report_base_url=f"http://127.0.0.1:{port}")
    acme = completed_run(stack, "acme", SAMPLE, work)
    proc = start_server(stack, port, work / "voila.log")
    try:
        yield {
            "stack": stack,
            "acme": acme,
            "proc": proc,
            "url": report_url(stack.settings, "acme", acme["id"]),
        }
    finally:
        stop_server(proc)


def _settled(server) -> int:
    """The kernel count once stable for longer than a closed page's kernel may live (an earlier test's)."""
    return settled_kernels(server["proc"].pid, timeout=90, quiet=GONE_S + 5)


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)


def _visit(browser, url: str, selector: str):
    context = browser.new_context(viewport=rs.DESKTOP)
    page = context.new_page()
    page.route("**/shutdown/**", lambda route: route.abort())  # no unload-time shutdown reaches the server
    open_report(page, url, selector)
    return context, page


def test_a_link_past_its_cap_gets_the_static_report_and_no_kernel(server, browser):
    idle = _settled(server)
    first, _ = _visit(browser, server["url"], ".rw-row")  # interactive: the customer browser's rows
    assert settled_kernels(server["proc"].pid) == idle + 1
    try:
        second, page = _visit(browser, server["url"], "#rw-busy")
        text = page.inner_text("#rw-busy")
        assert "Too many open reports" in text and "Close one of the other pages" in text
        summary = server["acme"]["summary"]
        assert (
            page.get_attribute("#rw-rows", "data-value") == f"{summary['rows_scored']:,}"
        )  # the report itself
        assert page.locator("#rw-actions").count() == 1 and page.locator(".rw-row").count() == 0
        assert settled_kernels(server["proc"].pid) == idle + 1  # no kernel for it
        second.close()
    finally:
        first.close()


def test_a_page_closed_without_unload_frees_its_kernel(server, browser):
    idle = _settled(server)
    context, _ = _visit(browser, server["url"], ".rw-row")
    assert settled_kernels(server["proc"].pid) == idle + 1
    context.close()  # the tab is gone; its unload-time shutdown request is blocked
    deadline = time.monotonic() + GONE_S + 20
    while len(kernel_pids(server["proc"].pid)) > idle and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(kernel_pids(server["proc"].pid)) == idle  # without the watch: alive until the 10-minute cull


def test_report_kernels_hold_no_credentials(server, browser):
    context, page = _visit(browser, server["url"], ".rw-whatif-contract select")
    try:
        envs = [_environ(pid) for pid in kernel_pids(server["proc"].pid)]
        report = [e for e in envs if "RETAINWISE_REPORT_CACHE" in e]
        assert report, "no report kernel reads the run cache"
        for env in report:
            assert not [
                k for k in env if k.startswith(("RETAINWISE_SECRET", "RETAINWISE_DATABASE_URL", "AWS_"))
            ]
        select = page.locator(".rw-whatif-contract select")  # what-if still re-scores (the model loads now)
        current = select.evaluate("s => s.options[s.selectedIndex].text")
        select.select_option(
            label=next(o for o in ("one year", "two years", "month to month") if o != current)
        )
        page.wait_for_selector(".rw-whatif", timeout=60_000)
    finally:
        context.close()
