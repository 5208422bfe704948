"""Voila kernels cannot read the link secret: not in their environment, not through the server's /proc files.

The real report server serves a report and a portal page to Chromium; the test then reads every kernel's
``/proc/<pid>/environ`` and runs a cell in the kernels that served the pages (connecting to their connection
files, as ``test_confinement`` does for the runner) that looks for the secret in ``os.environ``, its parent's
``/proc/<ppid>/environ`` and the server's. The portal's report link works all the same (``/open``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from retainwise.platform.links import portal_url, report_url

from . import _report_server as rs
from ._report_server import completed_run, kernel_pids, open_report, start_server, stop_server
from ._stack import Stack
from .conftest import SAMPLE

pytestmark = [
    pytest.mark.browser,
    pytest.mark.aws,
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc and prctl"),
]

browser, page = rs.browser, rs.page  # the shared fixtures

SECRET_NAMES = ("RETAINWISE_SECRET", "RETAINWISE_PREVIOUS_SECRETS")
PREVIOUS = "an-earlier-secret-still-accepted"

#: What a cell reports: its environment, what it could read of its parent and of the server, what it serves.
PROBE = """
import json, os, sys
def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("latin-1")
    except OSError as exc:
        return type(exc).__name__
print(json.dumps({
    "env": dict(os.environ),
    "ppid": os.getppid(),
    "parent_environ": _read(f"/proc/{os.getppid()}/environ"),
    "server_environ": _read("/proc/SERVER_PID/environ"),
    "server_mem": _read("/proc/SERVER_PID/mem"),
    "cap_eff": [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff:")][0],
    "page": "portal" if "retainwise.reports.portal" in sys.modules else
            "report" if "retainwise.reports.sections" in sys.modules else "",
}))
"""


def _start_without_capabilities(stack, port: int, log_path: Path) -> subprocess.Popen:
    """The server as the production image runs it: no capabilities (there, uid 10001)."""
    prefix = ("setpriv", "--inh-caps=-all", "--bounding-set=-all", "--")
    return start_server(stack, port, log_path, prefix=prefix)


@pytest.fixture(scope="module", params=["as_started", "none"])
def reports(request, moto_server, tmp_path_factory):
    """A server holding the secret and an earlier key (which no kernel may see either), one COMPLETED run.

    ``as_started``: root here, whose kernels confinement stops (a kernel without capabilities may not read a
    process that has them); ``none``: the production server, whose kernels only its being non-dumpable stops
    (a same-user child may read a dumpable parent)."""
    from retainwise.platform.embedded import free_port

    if request.param == "none" and (os.geteuid() != 0 or not shutil.which("setpriv")):
        pytest.skip("the server already runs without capabilities (as_started covers it)")
    work = tmp_path_factory.mktemp("voila-confinement")
    stack = Stack.create(moto_server.url, work, previous_secrets=PREVIOUS)
    port = free_port()
    stack.settings = stack.settings.replace(report_base_url=f"http://127.0.0.1:{port}")
    acme = completed_run(stack, "acme", SAMPLE, work)
    if request.param == "none":
        server = _start_without_capabilities(stack, port, work / "voila.log")
    else:
        server = start_server(stack, port, work / "voila.log")
    try:
        yield {"stack": stack, "acme": acme, "server": server}
    finally:
        stop_server(server)


def _connection_file(pid: int) -> str | None:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return None
    return argv[argv.index("-f") + 1] if "-f" in argv else None


def _probe(connection: str, server_pid: int) -> dict | None:
    """The probe's report from the kernel at ``connection``; None for a kernel busy waiting for its request
    (a preheated one: it answers nothing until a page takes it)."""
    from jupyter_client import BlockingKernelClient

    kc = BlockingKernelClient(connection_file=connection)
    kc.load_connection_file()
    kc.start_channels()
    try:
        try:
            kc.wait_for_ready(timeout=20)
        except RuntimeError:
            return None
        printed = []
        reply = kc.execute_interactive(
            PROBE.replace("SERVER_PID", str(server_pid)),
            timeout=60,
            output_hook=lambda m: (
                printed.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None
            ),
        )
    finally:
        kc.stop_channels()
    assert reply["content"]["status"] == "ok", reply["content"]
    return json.loads("".join(printed))


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(e.decode(errors="replace").split("=", 1) for e in raw if b"=" in e)


def test_no_voila_kernel_can_read_the_link_secret(reports, page):
    settings, server = reports["stack"].settings, reports["server"]
    secrets = (settings.secret, PREVIOUS)
    assert PREVIOUS in _server_environ_as_root(
        server.pid
    )  # the server holds both: there is something to steal

    open_report(page, report_url(settings, "acme", reports["acme"]["id"], 3600), "#rw-rows")
    portal = page.context.new_page()
    open_report(portal, portal_url(settings, "acme", 3600), "a.rw-open-report")
    link = portal.locator("a.rw-open-report").first
    assert "token=" not in link.get_attribute("href")  # minted by the server on the click: /open?run=R
    with portal.context.expect_page() as opened:
        link.click()
    opened.value.wait_for_selector("#rw-rows", timeout=90_000)  # the server's /open led into the report

    pids = kernel_pids(server.pid)
    assert len(pids) >= 3
    for pid in pids:  # every kernel, the pool's included
        env = _environ(pid)
        assert not set(SECRET_NAMES) & set(env), pid
        assert not any(s in "\0".join(env.values()) for s in secrets), pid

    seen = [s for s in (_probe(_connection_file(p), server.pid) for p in pids if _connection_file(p)) if s]
    assert {"report", "portal"} <= {s["page"] for s in seen}, [s["page"] for s in seen]
    for s in seen:
        assert s["ppid"] == server.pid  # the kernel is the server's own child
        assert not set(SECRET_NAMES) & set(s["env"])
        assert not any(secret in "\0".join(s["env"].values()) for secret in secrets)
        # the server is non-dumpable and the kernel has no capability that would override it
        assert s["parent_environ"] == "PermissionError"
        assert s["server_environ"] == "PermissionError" and s["server_mem"] == "PermissionError"
        assert int(s["cap_eff"], 16) == 0


def _server_environ_as_root(pid: int) -> str:
    """The server's environment as this test (root here, or its owner with CAP_SYS_PTRACE) reads it."""
    deadline = time.monotonic() + 10
    while True:
        try:
            return Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
        except PermissionError:
            if time.monotonic() > deadline:
                pytest.skip("this test process cannot read the server's environment either")
            time.sleep(0.5)
