"""The tenant portal (issue 15) in Debian's Chromium: upload, confirm columns, watch the run, open the report.

One stack (moto's server, one runner process) and one report server for the module; each test is a tenant
using its portal link as a customer would.
"""

from __future__ import annotations

import http.client
import json
import re
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest

from retainwise.errors import InputError
from retainwise.platform.links import portal_url, sign, sign_portal
from retainwise.reports.portal_upload import size_refusal
from retainwise.reports.portal_widgets import IGNORE
from retainwise.science.reading import MAX_BYTES, read_upload

from . import _report_server as rs
from ._report_server import kernel_pids, screenshot, settled_kernels
from ._stack import Stack
from .conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.aws, pytest.mark.slow]

browser, page, phone = rs.browser, rs.page, rs.phone  # the shared fixtures

EXPORT = ROOT / "tests" / "data" / "exports" / "value_evidence.csv"  # three columns mapped from values alone
CHANGED = "Pay by"  # a low-confidence column the tenant decides to leave out


@pytest.fixture(scope="module")
def portal(moto_server, tmp_path_factory):
    from retainwise.platform.embedded import free_port

    work = tmp_path_factory.mktemp("portal")
    stack = Stack.create(moto_server.url, work)
    port = free_port()
    stack.settings = stack.settings.replace(report_base_url=f"http://127.0.0.1:{port}")
    stack.start_worker()
    server = rs.start_server(stack, port, work / "voila.log")
    try:
        yield {"stack": stack, "port": port, "server": server, "base": f"http://127.0.0.1:{port}"}
    finally:
        rs.stop_server(server)
        stack.stop_workers()


def open_portal(pg, url: str):
    pg.goto(url, wait_until="domcontentloaded", timeout=60_000)
    pg.wait_for_selector("button.rw-score-file", timeout=90_000)
    return pg


def upload(pg, path: Path) -> None:
    pg.set_input_files("input.rw-file", str(path))
    pg.click("button.rw-score-file")


def field_of(pg, source: str):
    """The drop-down of the row whose source column is exactly ``source``."""
    name = pg.locator(".rw-map-source", has_text=re.compile(f"^{re.escape(source)}$"))
    return pg.locator(".rw-map-row").filter(has=name).locator("select")


def chosen(pg, source: str) -> str:
    """The label of the field chosen for ``source``."""
    label = field_of(pg, source).evaluate(
        "s => s.selectedIndex < 0 ? '' : s.options[s.selectedIndex].textContent"
    )
    return label.replace("\xa0", " ")  # ipywidgets shows spaces in options as no-break spaces


def _get(url: str, data: bytes | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=30) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def test_tenant_uploads_confirms_columns_watches_and_downloads(portal, page, phone, tmp_path):
    stack = portal["stack"]
    url = portal_url(stack.settings, "acme", 3600)
    open_portal(page, url)
    screenshot(page, "portal-desktop-empty.png")
    upload(page, EXPORT)
    page.wait_for_selector(".rw-map-row.rw-low", timeout=60_000)
    low = page.locator(".rw-map-row.rw-low").all_inner_texts()
    assert any(CHANGED in row for row in low)  # the column we change is one the page flags
    assert not any(t.startswith("ID") for t in low)  # a confident column is not flagged
    assert (
        chosen(page, CHANGED) == "Payment method"
    )  # the guess (payment_method), before the tenant changes it
    field_of(page, CHANGED).select_option(label=IGNORE)
    screenshot(page, "portal-desktop-columns.png")
    page.evaluate("window.__notReloaded = true")
    page.dblclick("button.rw-start")  # a double click queues one run
    page.wait_for_selector('tr[data-status="COMPLETED"]', timeout=180_000)
    assert page.evaluate("window.__notReloaded === true")  # the table moved on by itself
    runs = stack.store.list_tenant("acme")
    assert len(runs) == 1 and runs[0].status == "COMPLETED"
    run = runs[0]
    summary = json.loads(stack.storage.get_text(run.output_keys["summary.json"]))
    assert CHANGED not in summary["mapping"] and CHANGED in summary["unmapped"]  # the run used the change
    row = page.locator(f'tr[data-run="{run.id}"]')
    assert row.locator(".rw-run-file").inner_text() == EXPORT.name
    assert row.locator("td").nth(3).inner_text() == f"{summary['rows_scored']:,}"
    screenshot(page, "portal-desktop-completed.png")

    link = row.locator("a.rw-download")
    assert link.get_attribute("target") == "_blank"  # leaving the page would shut its kernel down
    href = link.get_attribute("href")
    assert "response-content-disposition=attachment" in href  # S3 answers it as a download (moto ignores it)
    with urllib.request.urlopen(href, timeout=30) as resp:  # what the new tab receives
        (tmp_path / "results.csv").write_bytes(resp.read())
    results = pd.read_csv(tmp_path / "results.csv", dtype={"customer_id": str})
    uploaded = pd.read_csv(EXPORT, dtype={"ID": str})
    assert sorted(results["customer_id"]) == sorted(uploaded["ID"].unique())

    with page.context.expect_page() as opened:
        row.locator("a.rw-open-report").click()
    report = opened.value
    report.wait_for_selector("#rw-rows", timeout=90_000)
    assert report.get_attribute("#rw-rows", "data-value") == f"{summary['rows_scored']:,}"
    report.close()

    upload(page, EXPORT)  # the same export again: the tenant's choice is filled in
    page.wait_for_selector(".rw-map-row", timeout=60_000)
    page.wait_for_function(
        "document.querySelector('.rw-upload-status').textContent.includes('check its columns')"
    )
    assert chosen(page, CHANGED) == IGNORE and chosen(page, "Line") == "Internet"  # human labels
    shown = field_of(page, "Line").evaluate(
        "s => [...s.options].map(o => o.textContent.replace(/\\u00a0/g, ' '))"
    )
    assert "Months as a customer" in shown and not [o for o in shown if "_" in o], shown  # no field names
    assert len(stack.store.list_tenant("acme")) == 1  # uploading queues nothing by itself

    open_portal(phone, url)
    phone.wait_for_selector('tr[data-status="COMPLETED"]', timeout=60_000)
    screenshot(phone, "portal-phone.png")


@pytest.mark.parametrize(
    "name, content",
    [
        ("empty.csv", b""),
        ("archive.csv", b"PK\x03\x04" + b"\x00" * 200),
        ("header_only.csv", b"customer_id,tenure\n"),
    ],
)
def test_unusable_file_is_refused_with_the_cli_reason_and_nothing_queued(
    portal, page, tmp_path, name, content
):
    stack = portal["stack"]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as cli:
        read_upload(path)
    open_portal(page, portal_url(stack.settings, "refused", 3600))
    upload(page, path)
    page.wait_for_selector('.rw-upload-status[data-state="error"]', timeout=60_000)
    assert page.inner_text(".rw-upload-status") == cli.value.message
    assert page.locator(".rw-map-row").count() == 0
    assert stack.store.list_tenant("refused") == []
    if name == "empty.csv":
        screenshot(page, "portal-desktop-refused.png")


def test_refused_portal_links_show_the_refusal_page_and_start_no_kernel(portal):
    base, secret = portal["base"], portal["stack"].settings.secret
    good = sign_portal(secret, "acme", 3600)
    urls = [
        f"{base}/portal",
        f"{base}/portal?token=not-a-token",
        f"{base}/portal?token={good[:-4]}{'AAAA' if not good.endswith('AAAA') else 'BBBB'}",  # tampered
        f"{base}/portal?token={sign_portal(secret, 'acme', 60, now=time.time() - 3600)}",  # expired
        f"{base}/portal?token={sign_portal('another-secret', 'acme', 3600)}",  # signed by someone else
        f"{base}/portal?token={sign(secret, 'acme', 'run1', 3600)}",
    ]  # a report token is no portal token
    server = portal["server"].pid
    _get(urls[0])
    before = sorted(kernel_pids(server)) if settled_kernels(server) else []
    for url in urls:
        status, body = _get(url)
        assert status == 403, url
        assert "rw-refusal" in body and "rw-score-file" not in body
    assert settled_kernels(server) == len(before) and sorted(kernel_pids(server)) == before


def test_upload_cannot_leave_the_tenant_prefix_or_use_another_token(portal):
    stack, base, secret = portal["stack"], portal["base"], portal["stack"].settings.secret
    token = sign_portal(secret, "acme", 3600)
    body = EXPORT.read_bytes()
    for name in ("../rival/evil.csv", "a/b.csv", "..\\rival\\evil.csv", "..", "/etc/passwd"):
        status, answer = _get(f"{base}/portal/upload?token={token}&name={quote(name)}", body)
        assert status == 400, (name, answer)
    for bad in (sign(secret, "rival", "run1", 3600), sign_portal("another-secret", "rival", 3600), ""):
        status, _ = _get(f"{base}/portal/upload?token={bad}&name=x.csv", body)
        assert status == 403
    for declared in (str(MAX_BYTES + 1), "0"):  # refused on the declared size, before any body is read
        conn = http.client.HTTPConnection("127.0.0.1", portal["port"], timeout=30)
        conn.putrequest("POST", f"/portal/upload?token={token}&name=huge.csv")
        conn.putheader("Content-Length", declared)
        conn.endheaders()
        answer = conn.getresponse()
        assert answer.status in (400, 413)
        assert json.loads(answer.read())["error"] == size_refusal("huge.csv", int(declared)).message
        conn.close()
    status, answer = _get(f"{base}/portal/upload?token={token}&name=ok.csv", body)
    assert status == 200 and json.loads(answer)["key"].startswith("uploads/acme/portal/")
    assert stack.storage.list("uploads/rival/") == []


def test_a_tenant_sees_only_its_own_runs(portal, page):
    stack = portal["stack"]
    stack.wait_for(lambda: stack.store.list_tenant("acme"), what="acme's run from the first test")
    open_portal(page, portal_url(stack.settings, "rival", 3600))
    page.wait_for_selector(".rw-no-runs", timeout=60_000)
    assert page.get_attribute(".rw-own-model", "data-model") == "general"  # no model of its own
    content = page.content()
    for run in stack.store.list_tenant("acme"):
        assert run.id not in content
    assert "rw-open-report" not in content and "rw-download" not in content


def test_the_tenant_sees_its_own_model_and_tells_us_who_left_for_a_run(portal, page, phone, tmp_path):
    from retainwise.platform.labelled import BucketLabelled
    from retainwise.platform.registry import BucketRegistry

    stack = portal["stack"]
    [run] = stack.wait_for(
        lambda: [r for r in stack.store.list_tenant("acme") if r.status == "COMPLETED"],
        what="acme's completed run from the first test",
    )
    trained = tmp_path / "trained"
    trained.mkdir()
    (trained / "model.ubj").write_bytes(b"booster bytes")
    (trained / "card.json").write_text(
        json.dumps(
            {
                "version": "t-abc",
                "kind": "tenant",
                "cv": {"roc_auc": 0.85},
                "trained_on": {"rows": 1500, "leavers": 209},
            }
        )
    )
    BucketRegistry(stack.storage, "acme").register(trained, activate=True)
    stack.storage.download(run.output_keys["snapshot.parquet"], tmp_path / "snapshot.parquet")
    ids = list(pd.read_parquet(tmp_path / "snapshot.parquet")["customer_id"].astype(str))
    outcomes = tmp_path / "who left.csv"
    outcomes.write_text(
        "Customer,Churned\n"
        + "".join(f"{c},{'yes' if i % 3 == 0 else 'no'}\n" for i, c in enumerate(ids))
        + "NOT-OURS,yes\n"
    )
    url = portal_url(stack.settings, "acme", 3600)
    open_portal(page, url)
    assert page.inner_text(".rw-own-model").startswith(
        "Your own model t-abc, trained on 1,500 of your customers (209 who left): on customers it had not seen "
        "it ranked a leaver above a stayer 85% of the time. Active since "
    )
    row = page.locator(f'tr[data-run="{run.id}"]')
    assert row.locator(".rw-tell").inner_text() == "Tell us who left"
    row.locator("input.rw-outcomes-file").set_input_files(str(outcomes))
    page.wait_for_selector('.rw-outcomes-status[data-state="done"]', timeout=60_000)
    said = page.inner_text(".rw-outcomes-status")
    assert f"{len(ids):,} customers matched" in said and "NOT-OURS" in said, said
    assert re.search(r"Our \d+ \w+ predictions ranked a leaver above a stayer \d+% of the time", said), said
    assert BucketLabelled(stack.storage, "acme").run_ids() == [run.id]
    assert stack.storage.head(f"tenants/acme/labelled/{run.id}.parquet") is not None
    page.wait_for_selector(f'tr[data-run="{run.id}"] .rw-outcomes-note', timeout=30_000)
    assert row.locator(".rw-tell").inner_text() == "Send who left again"
    screenshot(page, "portal-desktop-outcomes.png")
    open_portal(phone, url)
    phone.wait_for_selector(".rw-outcomes-note", timeout=60_000)
    screenshot(phone, "portal-phone-outcomes.png")
