"""Customer reports in Voila, driven in real headless Chromium (Debian's package, through Playwright)."""

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
from retainwise.platform.links import report_url, sign
from retainwise.platform.runs import RunStore
from retainwise.platform.storage import Storage, results_prefix

from ._stack import Stack
from .conftest import ROOT, SAMPLE, TRAINING

pytestmark = [pytest.mark.browser, pytest.mark.aws, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"


def completed_run(stack: Stack, tenant: str, upload: Path, workdir: Path) -> dict:
    """A COMPLETED run with its outputs in S3, made the way the runner makes one."""
    store, storage = RunStore.from_settings(stack.settings), Storage(stack.settings)
    key = f"uploads/{tenant}/{upload.name}"
    storage.put_file(upload, key)
    run = store.create(tenant=tenant, upload_key=key)
    store.claim(run.id, lease_s=300)
    outcome = run_pipeline(upload, workdir / run.id, tenant=tenant, run_id=run.id)
    keys = storage.put_outputs(workdir / run.id, results_prefix(tenant, run.id))
    store.complete(run.id, summary=outcome.summary, output_keys=keys)
    results = pd.read_csv(workdir / run.id / "results.csv", dtype={"customer_id": str})
    return {"id": run.id, "tenant": tenant, "summary": outcome.summary, "results": results}


def rival_upload(path: Path) -> Path:
    frame = pd.read_csv(TRAINING).drop(columns=["Churn"]).head(120)
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


@pytest.fixture(scope="module")
def reports(moto_server, tmp_path_factory):
    from retainwise.platform.embedded import free_port

    work = tmp_path_factory.mktemp("reports")
    stack = Stack.create(moto_server.url, work)
    port = free_port()

    stack.settings = stack.settings.replace(report_base_url=f"http://127.0.0.1:{port}")
    acme = completed_run(stack, "acme", SAMPLE, work)
    rival = completed_run(stack, "rival", rival_upload(work / "rival.csv"), work)
    env = stack.env()
    env.pop("PYTHONWARNINGS", None)
    log = open(work / "voila.log", "wb")  # noqa: SIM115
    server = subprocess.Popen([sys.executable, "-m", "retainwise.reports.server", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_port(port, server)
        yield {"stack": stack, "acme": acme, "rival": rival, "port": port, "log": work / "voila.log"}
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (.ci/install.sh does)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                    "--disable-background-networking", "--disable-component-update"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 1800})
    pg = context.new_page()
    yield pg
    context.close()


def open_report(page, url: str, selector: str):
    page.goto(url, wait_until="domcontentloaded", timeout=60_000)
    page.wait_for_selector(selector, timeout=90_000)
    return page


def test_valid_link_renders_the_runs_numbers(reports, page):
    acme, settings = reports["acme"], reports["stack"].settings
    open_report(page, report_url(settings, "acme", acme["id"]), "#rw-rows")
    page.wait_for_selector("table.rw-table tbody tr", timeout=60_000)
    s = acme["summary"]
    assert page.get_attribute("#rw-rows", "data-value") == f"{s['rows_scored']:,}"
    assert page.get_attribute("#rw-high", "data-value") == f"{s['risk_counts']['HIGH'] / s['rows_scored']:.1%}"
    assert page.get_attribute("#rw-revenue", "data-value") == f"${s['revenue_at_risk']:,.0f}"
    assert page.get_attribute("#rw-quality", "data-value") == f"{s['quality']['score']:.0f}"
    top = acme["results"].sort_values("churn_probability", ascending=False, kind="stable").iloc[0]
    first = page.get_attribute("table.rw-table tbody tr:first-child", "data-customer")
    assert first == top["customer_id"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
    content = page.content()
    assert "open_page" not in content and "from retainwise" not in content  # no notebook source
    assert "Traceback" not in content
    assert "All logic lives in" not in content  # the notebook's developer notes are hidden from customers


def test_drill_down_follows_the_chosen_customer(reports, page):
    acme, settings = reports["acme"], reports["stack"].settings
    open_report(page, report_url(settings, "acme", acme["id"]), ".rw-drill")
    ranked = acme["results"].sort_values("churn_probability", ascending=False, kind="stable")
    first, fifth = ranked["customer_id"].iloc[0], ranked["customer_id"].iloc[4]
    assert page.get_attribute(".rw-drill", "data-customer") == first
    page.locator(".widget-dropdown select").nth(1).select_option(label=fifth)
    page.wait_for_selector(f'.rw-drill[data-customer="{fifth}"]', timeout=30_000)
    page.wait_for_selector(".rw-drill-out img", timeout=30_000)  # the contributions chart


def test_table_sorts_by_revenue_searches_by_id_and_filters_by_tier(reports, page):
    acme, settings = reports["acme"], reports["stack"].settings
    open_report(page, report_url(settings, "acme", acme["id"]), "table.rw-table tbody tr")
    results = acme["results"]
    page.locator(".widget-dropdown select").nth(0).select_option(label="Revenue at risk")
    by_revenue = (results["monthly_charges"] * results["churn_probability"]).idxmax()
    expected = results.loc[by_revenue, "customer_id"]
    page.wait_for_selector(f'table.rw-table tbody tr:first-child[data-customer="{expected}"]', timeout=30_000)
    target = results.sort_values("churn_probability", kind="stable").iloc[len(results) // 2]["customer_id"]
    page.locator(".widget-text input").first.fill(target[:6])
    page.wait_for_selector(f'table.rw-table tbody tr[data-customer="{target}"]', timeout=30_000)
    page.wait_for_function(
        f"() => [...document.querySelectorAll('table.rw-table tbody tr[data-customer]')]"
        f".every(r => r.dataset.customer.toLowerCase().includes('{target[:6].lower()}'))", timeout=30_000)
    page.locator(".widget-text input").first.fill("")
    page.get_by_role("button", name="LOW", exact=True).click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('table.rw-table tbody tr .rw-tier')].every(e => e.textContent === 'LOW')"
        " && document.querySelectorAll('table.rw-table tbody tr').length > 0", timeout=30_000)


def _refused(page, url: str, forbidden: pd.Series) -> None:
    open_report(page, url, "#rw-refusal")
    time.sleep(0.5)
    content = page.content()
    leaked = [c for c in forbidden if c in content]
    assert not leaked, leaked[:5]
    assert page.locator("#rw-rows").count() == 0


def test_link_for_other_tenant_is_refused(reports, page):
    acme, rival, settings = reports["acme"], reports["rival"], reports["stack"].settings
    # rival's own valid token, pointed at acme's run; and a token claiming acme's run for rival's tenant
    rival_token = sign(settings.secret, "rival", rival["id"], 3600)
    _refused(page, f"http://127.0.0.1:{reports['port']}/?run={acme['id']}&token={rival_token}", acme["results"]["customer_id"])
    forged = sign(settings.secret, "rival", acme["id"], 3600)
    _refused(page, f"http://127.0.0.1:{reports['port']}/?run={acme['id']}&token={forged}", acme["results"]["customer_id"])


def test_tampered_token_is_refused(reports, page):
    acme, settings = reports["acme"], reports["stack"].settings
    url = report_url(settings, "acme", acme["id"])
    tampered = url[:-4] + ("AAAA" if not url.endswith("AAAA") else "BBBB")
    _refused(page, tampered, acme["results"]["customer_id"])


def test_expired_token_is_refused(reports, page):
    acme, settings = reports["acme"], reports["stack"].settings
    old = sign(settings.secret, "acme", acme["id"], 60, now=time.time() - 3600)
    _refused(page, f"http://127.0.0.1:{reports['port']}/?run={acme['id']}&token={old}", acme["results"]["customer_id"])
    assert "expired" in page.content()


def test_no_token_is_refused(reports, page):
    acme = reports["acme"]
    _refused(page, f"http://127.0.0.1:{reports['port']}/?run={acme['id']}", acme["results"]["customer_id"])
    _refused(page, f"http://127.0.0.1:{reports['port']}/", reports["rival"]["results"]["customer_id"])


def test_url_cannot_switch_template_or_fetch_files(reports, page):
    import urllib.request

    port = reports["port"]
    for path in ("/voila/files/report.ipynb", "/voila/files/../pyproject.toml", "/voila/tree"):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
                body = resp.read().decode(errors="replace")
            assert "from retainwise" not in body and "[project]" not in body
        except urllib.error.HTTPError as exc:
            assert exc.code in (403, 404)
    acme, settings = reports["acme"], reports["stack"].settings
    open_report(page, report_url(settings, "acme", acme["id"]) + "&template=classic&theme=dark", "#rw-rows")
    assert page.locator(".rw-header").count() == 1  # still our template
