"""The report server's metrics: counted where requests and kernels pass, written as EMF records a minute,
and, end to end, what a real server process wrote after a refusal and a page."""

from __future__ import annotations

import asyncio
import http.client
import json
from http.cookies import SimpleCookie

import pytest

from retainwise.platform.links import sign
from retainwise.reports.metrics import ServerMetrics, install, is_page, request_logger, watch_kernels

from ._report_server import make_reports
from .conftest import SAMPLE
from .test_metrics import assert_emf


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def made(every_s: float = 60.0):
    lines: list[str] = []
    clock = Clock()
    return ServerMetrics(lines.append, clock, every_s), lines, clock


def test_counts_become_one_record_a_minute_and_nothing_when_idle():
    metrics, lines, clock = made()
    metrics.request(True, 200, 1.25)
    metrics.request(True, 403, 0.01)
    metrics.request(False, 429, 0.01)  # the upload over its limit
    metrics.request(False, 404, 0.01)  # neither served nor refused
    metrics.kernel_started()
    assert lines == []  # not a minute yet
    clock.now = 61
    metrics.kernel_culled()
    (line,) = lines
    record = json.loads(line)
    assert record["event"] == "metrics" and record["Service"] == "reports"
    assert assert_emf(record) == {
        "PagesServed": 1,
        "PagesRefused": 2,
        "KernelsStarted": 1,
        "KernelsCulled": 1,
        "RenderTime": [1.25],
    }
    clock.now = 200
    assert metrics.flush() == {} and len(lines) == 1  # nothing happened since: no record


def test_page_routes_are_the_gates_and_the_upload():
    assert is_page("/") and is_page("/portal") and is_page("/portal/") and is_page("/portal/upload")
    assert not is_page("/api/kernels/x") and not is_page("/healthz") and not is_page("/static/x.js")


class _Request:
    def __init__(self, path: str, seconds: float) -> None:
        self.path, self._seconds = path, seconds

    def request_time(self) -> float:
        return self._seconds


class _Handler:
    def __init__(self, path: str, status: int, seconds: float) -> None:
        self.request, self._status = _Request(path, seconds), status

    def get_status(self) -> int:
        return self._status


def test_the_request_logger_counts_then_still_logs_every_request():
    metrics, _, _ = made()
    logged = []
    log_function = request_logger(metrics, logged.append)
    first, second = _Handler("/portal", 200, 2.0), _Handler("/", 403, 0.1)
    log_function(first)
    log_function(second)
    assert logged == [first, second]
    assert (metrics.pages, metrics.refused, metrics.render_s) == (1, 1, [2.0])


def test_kernels_started_and_culled_are_counted_on_a_real_kernel_manager(tmp_path):
    from jupyter_server.services.kernels.kernelmanager import MappingKernelManager

    async def scenario():
        manager = MappingKernelManager(root_dir=str(tmp_path), cull_idle_timeout=0)
        metrics, _, _ = made()
        watch_kernels(metrics, manager)
        kernel_id = await manager.start_kernel(kernel_name="python3")
        assert metrics.kernels_started == 1
        await manager.cull_kernel_if_idle(kernel_id)  # idle longer than 0 s: culled
        assert metrics.kernels_culled == 1 and kernel_id not in manager.list_kernel_ids()

    asyncio.run(scenario())


def test_install_keeps_an_existing_log_function():
    class App:
        class kernel_manager:  # noqa: N801 - stands in for the instance
            start_watching_activity = staticmethod(lambda kernel_id: None)

            @staticmethod
            async def cull_kernel_if_idle(kernel_id):
                return None

            list_kernel_ids = staticmethod(list)

    seen = []
    settings = {"log_function": seen.append}
    metrics = install(App, settings, made()[0])
    settings["log_function"](_Handler("/", 200, 0.5))
    assert len(seen) == 1 and metrics.pages == 1


# -- the real server ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reports(moto_server, tmp_path_factory):
    work = tmp_path_factory.mktemp("report-metrics")
    yield from make_reports(moto_server, work, {"acme": SAMPLE})


def _get(port: int, path: str, cookie: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def _open_link(port: int, path: str) -> int:
    """Open a report link as a browser would: a 303 that swaps the token for a cookie is followed."""
    status, headers, _ = _get(port, path)
    if status in (302, 303):
        jar = SimpleCookie()
        for value in headers.get_all("Set-Cookie") or []:
            jar.load(value)
        cookie = "; ".join(f"{k}={m.value}" for k, m in jar.items())
        status, _, _ = _get(port, headers["Location"], cookie)
    return status


@pytest.mark.aws
@pytest.mark.slow
@pytest.mark.browser
def test_a_real_server_writes_its_counts_as_emf_records(reports):
    from ._report_server import stop_server

    port, acme = reports["port"], reports["acme"]
    assert _get(port, f"/?run={acme['id']}&token=not-a-token")[0] == 403
    token = sign(reports["stack"].settings.secret, "acme", acme["id"], 3600)
    assert _open_link(port, f"/?run={acme['id']}&token={token}") == 200
    stop_server(reports["server"])  # what is left is written at exit

    records = []
    for line in reports["log"].read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith('{"event": "metrics"'):
            records.append(json.loads(line))
    assert records, "the server wrote no metrics record"
    totals: dict[str, list | int] = {}
    for record in records:
        for name, value in assert_emf(record).items():
            totals[name] = totals.get(name, [] if isinstance(value, list) else 0) + value
    assert totals["PagesRefused"] >= 1 and totals["PagesServed"] >= 1
    assert totals["KernelsStarted"] >= 1  # the preheated pool at least
    assert len(totals["RenderTime"]) == totals["PagesServed"] and all(t > 0 for t in totals["RenderTime"])
