"""Customer reports in Voila, driven in real headless Chromium (Debian's package, through Playwright)."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from retainwise.platform.links import report_url, sign

from . import _report_server as rs
from ._report_server import ARTIFACTS, make_reports, open_report, rival_upload
from .conftest import SAMPLE

browser, page = rs.browser, rs.page  # the shared fixtures

pytestmark = [pytest.mark.browser, pytest.mark.aws, pytest.mark.slow]


@pytest.fixture(scope="module")
def reports(moto_server, tmp_path_factory):
    work = tmp_path_factory.mktemp("reports")
    yield from make_reports(moto_server, work, {"acme": SAMPLE, "rival": rival_upload(work / "rival.csv")})


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
