"""The report server for browser tests: a stack with COMPLETED runs, the server as a process, Chromium,
and what a test needs to watch the server (its kernels, its memory, its log)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from retainwise.execution.execute import run_pipeline
from retainwise.platform.runs import RunStore
from retainwise.platform.storage import Storage
from retainwise.platform.tenants import results_prefix

from ._stack import Stack
from .conftest import ROOT, SAMPLE, TRAINING

sys.path.insert(0, str(ROOT / "bench"))
from _procs import kernel_pids, rss_bytes, settled_kernels  # noqa: E402,F401 - the tests' process views

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
DESKTOP = {"width": 1280, "height": 1800}
PHONE = {"width": 390, "height": 844}


def completed_run(stack: Stack, tenant: str, upload: Path, workdir: Path) -> dict:
    """A COMPLETED run with its outputs in S3, made the way the runner makes one."""
    store, storage = RunStore.from_settings(stack.settings), Storage(stack.settings)
    key = f"uploads/{tenant}/0123456789ab-{upload.name}"
    storage.put_file(upload, key)
    run = store.create(tenant=tenant, upload_key=key)
    store.claim(run.id, lease_s=300)
    outcome = run_pipeline(upload, workdir / run.id, tenant=tenant, run_id=run.id)
    keys = storage.put_outputs(workdir / run.id, results_prefix(tenant, run.id))
    store.complete(run.id, summary=outcome.summary, output_keys=keys)
    results = pd.read_csv(workdir / run.id / "results.csv", dtype={"customer_id": str})
    return {
        "id": run.id,
        "tenant": tenant,
        "summary": outcome.summary,
        "results": results,
        "dir": workdir / run.id,
    }


def rival_upload(path: Path, rows: int = 120) -> Path:
    frame = pd.read_csv(TRAINING).drop(columns=["Churn"]).head(rows)
    frame["customerID"] = [f"RIVAL-{i:04d}-X" for i in range(len(frame))]
    frame.to_csv(path, index=False)
    return path


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the report server exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the report server did not start")


def start_server(
    stack: Stack, port: int, log_path: Path, *args: str, prefix: tuple[str, ...] = ()
) -> subprocess.Popen:
    """The report server for ``stack`` on ``port``, once it listens (``prefix``: a command to run it under)."""
    env = stack.env()
    env.pop("PYTHONWARNINGS", None)
    log = open(log_path, "wb")  # noqa: SIM115 - the server writes it until it stops
    server = subprocess.Popen(
        [*prefix, sys.executable, "-m", "retainwise.reports.server", "--port", str(port), *args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server.log_file = log
    wait_port(port, server)
    return server


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill()
    server.log_file.close()


def free_port_server(stack: Stack, log_path: Path, *args: str) -> tuple[subprocess.Popen, int]:
    """A report server for ``stack`` on a free port: (process, port)."""
    from retainwise.platform.embedded import free_port

    port = free_port()
    return start_server(stack, port, log_path, *args), port


def make_reports(moto_server, work: Path, runs: dict[str, Path]):
    """A stack with one COMPLETED run per tenant in ``runs`` and a report server; yields the fixture dict."""
    from retainwise.platform.embedded import free_port

    stack = Stack.create(moto_server.url, work)
    port = free_port()
    stack.settings = stack.settings.replace(report_base_url=f"http://127.0.0.1:{port}")
    made = {tenant: completed_run(stack, tenant, upload, work) for tenant, upload in runs.items()}
    server = start_server(stack, port, work / "voila.log")
    try:
        yield {"stack": stack, **made, "port": port, "log": work / "voila.log", "server": server}
    finally:
        stop_server(server)


# -- the browser --------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/install.sh does)")
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=DESKTOP)
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
    pg = context.new_page()
    yield pg
    context.close()


def open_report(page, url: str, selector: str):
    page.goto(url, wait_until="domcontentloaded", timeout=60_000)
    page.wait_for_selector(selector, timeout=90_000)
    return page


def screenshot(page, name: str) -> Path:
    """The whole page in ``test-artifacts/``: Voila scrolls inside a container, so the viewport is grown to
    the tallest scrolling content first (full_page alone would cut it at the window)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    size = page.viewport_size
    tallest = page.evaluate("() => Math.max(...[...document.querySelectorAll('*')].map(e => e.scrollHeight))")
    page.set_viewport_size({"width": size["width"], "height": min(max(size["height"], tallest), 16000)})
    page.wait_for_timeout(300)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path


__all__ = ["ARTIFACTS", "SAMPLE", "browser", "page", "phone"]
