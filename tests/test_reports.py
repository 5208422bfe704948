"""Customer reports in Voila, driven in real headless Chromium (Debian's package, through Playwright):
a 2,000-customer run browsed page by page, searched, clicked, re-scored; and links that grant nothing."""

from __future__ import annotations

import re
import time

import pandas as pd
import pytest

from retainwise.platform.links import report_url, sign

from . import _report_server as rs
from ._report_server import make_reports, open_report, rival_upload, screenshot
from .conftest import TRAINING

pytestmark = [pytest.mark.browser, pytest.mark.aws, pytest.mark.slow]

browser, page, phone = rs.browser, rs.page, rs.phone  # the shared fixtures
CUSTOMERS = 2000
FORBIDDEN = ("log-odds", "SHAP", "|impact|")
SNAKE = re.compile(r"\b[a-z]+_[a-z0-9_]+\b")


def big_upload(path):
    frame = pd.read_csv(TRAINING).drop(columns=["Churn"]).head(CUSTOMERS)
    frame["customerID"] = [f"C{i:05d}-ACME" for i in range(len(frame))]
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def reports(moto_server, tmp_path_factory):
    work = tmp_path_factory.mktemp("reports")
    yield from make_reports(
        moto_server,
        work,
        {"acme": big_upload(work / "customers-2000.csv"), "rival": rival_upload(work / "rival.csv")},
    )


def _open(page, reports, selector="#rw-rows"):
    acme, settings = reports["acme"], reports["stack"].settings
    return open_report(page, report_url(settings, "acme", acme["id"]), selector)


def _ranked(reports) -> pd.DataFrame:
    return reports["acme"]["results"].sort_values("churn_probability", ascending=False, kind="stable")


def _shown_ids(page) -> list[str]:
    return [b.get_attribute("title") for b in page.locator(".rw-row button, button.rw-row").all()]


def _detail(page) -> str | None:
    return page.get_attribute(".rw-drill", "data-customer")


def test_valid_link_renders_the_runs_numbers_in_plain_words(reports, page, phone):
    acme = reports["acme"]
    _open(page, reports)
    page.wait_for_selector(".rw-row", timeout=60_000)
    s = acme["summary"]
    assert page.get_attribute("#rw-rows", "data-value") == f"{s['rows_scored']:,}"
    assert (
        page.get_attribute("#rw-high", "data-value") == f"{s['risk_counts']['HIGH'] / s['rows_scored']:.1%}"
    )
    assert page.get_attribute("#rw-revenue", "data-value") == f"${s['revenue_at_risk']:,.0f}"
    assert page.get_attribute("#rw-quality", "data-value") == f"{s['quality']['score']:.0f}"
    assert _shown_ids(page)[0] == _ranked(reports)["customer_id"].iloc[0]
    screenshot(page, "report-desktop.png")
    text = page.inner_text("body")
    assert "customers-2000.csv" in text and "0123456789ab" not in text  # the file's own name, no key prefix
    assert re.search(r"\b\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2}\b", text)  # "27 Nov 2026, 09:59"
    assert not [w for w in FORBIDDEN if w in text]
    assert not SNAKE.findall(text), SNAKE.findall(text)[:5]
    content = page.content()
    assert "open_report" not in content and "from retainwise" not in content  # no notebook source
    assert "Traceback" not in content and "All logic lives in" not in content
    _open(phone, reports)
    phone.wait_for_selector(".rw-row", timeout=60_000)
    screenshot(phone, "report-phone.png")


def test_every_customer_can_be_reached_page_by_page(reports, page):
    _open(page, reports, ".rw-row")
    seen: list[str] = []
    next_button = page.get_by_role("button", name="Next ›")
    while True:
        ids = _shown_ids(page)
        seen += ids
        if next_button.is_disabled():
            break
        next_button.click()
        page.wait_for_function(
            f"() => document.querySelector('.rw-row').title !== {ids[0]!r}", timeout=30_000
        )
    assert len(seen) == CUSTOMERS and set(seen) == set(reports["acme"]["results"]["customer_id"])
    assert seen == _ranked(reports)["customer_id"].tolist()  # in order of the chance of leaving


def test_search_and_click_open_a_customers_detail(reports, page):
    _open(page, reports, ".rw-row")
    target = _ranked(reports)["customer_id"].iloc[1500]  # far down the list
    page.locator(".widget-text input").first.fill(target)
    page.locator(".widget-text input").first.press("Enter")
    page.wait_for_selector(f'.rw-row[title="{target}"]', timeout=30_000)
    assert _shown_ids(page) == [target]
    page.locator(f'.rw-row[title="{target}"]').click()
    page.wait_for_selector(f'.rw-drill[data-customer="{target}"]', timeout=30_000)
    assert page.locator(".rw-drill img[alt]").count() == 1  # its factors as a chart, with alt text
    screenshot(page, "report-detail.png")


def test_clicking_a_row_opens_that_customer(reports, page):
    _open(page, reports, ".rw-row")
    fifth = _ranked(reports)["customer_id"].iloc[4]
    assert _detail(page) == _ranked(reports)["customer_id"].iloc[0]
    page.locator(f'.rw-row[title="{fifth}"]').click()
    page.wait_for_selector(f'.rw-drill[data-customer="{fifth}"]', timeout=30_000)


def test_a_search_without_match_clears_the_detail_and_says_so(reports, page):
    _open(page, reports, ".rw-row")
    page.locator(".widget-text input").first.fill("NOBODY-HAS-THIS-ID")
    page.locator(".widget-text input").first.press("Enter")
    page.wait_for_selector(".rw-drill-empty", timeout=30_000)
    assert page.locator(".rw-row").count() == 0
    assert "No customer matches" in page.inner_text(".rw-drill-empty")
    assert "No customers match" in page.inner_text(".rw-count")


def test_filters_by_tier_and_segment_and_sorts_by_revenue(reports, page):
    results = reports["acme"]["results"]
    _open(page, reports, ".rw-row")
    page.get_by_role("button", name="Low", exact=True).click()
    low = set(results.loc[results["churn_risk"] == "LOW", "customer_id"])
    page.wait_for_function(
        f"() => document.querySelector('.rw-count').textContent.includes('of {len(low):,}')", timeout=30_000
    )
    assert set(_shown_ids(page)) <= low
    page.get_by_role("button", name="All", exact=True).click()
    page.locator(".widget-dropdown select").nth(1).select_option(label="Contract: two years")
    upload = pd.read_csv(reports["acme"]["dir"].parent / "customers-2000.csv")
    two_year = set(upload.loc[upload["Contract"] == "Two year", "customerID"])
    page.wait_for_function(
        f"() => document.querySelector('.rw-count').textContent.includes('of {len(two_year):,}')",
        timeout=30_000,
    )
    assert set(_shown_ids(page)) <= two_year
    page.locator(".widget-dropdown select").nth(1).select_option(label="All segments")
    page.locator(".widget-dropdown select").nth(0).select_option(label="Revenue at risk")
    top = results.loc[(results["monthly_charges"] * results["churn_probability"]).idxmax(), "customer_id"]
    page.wait_for_function(f"() => document.querySelector('.rw-row').title === {top!r}", timeout=30_000)


def test_what_if_rescores_the_customer(reports, page):
    _open(page, reports, ".rw-whatif-contract select")
    shown = float(_ranked(reports)["churn_probability"].iloc[0])
    select = page.locator(".rw-whatif-contract select")
    current = select.evaluate("s => s.options[s.selectedIndex].text")
    other = next(o for o in ("one year", "two years", "month to month") if o != current)
    select.select_option(label=other)
    page.wait_for_selector(".rw-whatif", timeout=30_000)
    after = float(page.get_attribute(".rw-whatif", "data-probability"))
    assert abs(after - shown) > 0.005
    assert f"{shown:.0%} → {after:.0%}" in page.inner_text(".rw-whatif")
    screenshot(page, "report-whatif.png")


def test_recommended_actions_list_actions_with_revenue(reports, page):
    _open(page, reports, "#rw-actions")
    rows = page.locator("#rw-actions table tbody tr")
    assert rows.count() >= 1
    assert re.search(r"\$[\d,]+", rows.first.inner_text())
    assert "Recommended actions" in page.inner_text("#rw-actions")


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
    _refused(
        page,
        f"http://127.0.0.1:{reports['port']}/?run={acme['id']}&token={rival_token}",
        acme["results"]["customer_id"],
    )
    forged = sign(settings.secret, "rival", acme["id"], 3600)
    _refused(
        page,
        f"http://127.0.0.1:{reports['port']}/?run={acme['id']}&token={forged}",
        acme["results"]["customer_id"],
    )


def test_tampered_token_is_refused(reports, page):
    acme, settings = reports["acme"], reports["stack"].settings
    url = report_url(settings, "acme", acme["id"])
    tampered = url[:-4] + ("AAAA" if not url.endswith("AAAA") else "BBBB")
    _refused(page, tampered, acme["results"]["customer_id"])


def test_expired_token_is_refused(reports, page):
    acme, settings = reports["acme"], reports["stack"].settings
    old = sign(settings.secret, "acme", acme["id"], 60, now=time.time() - 3600)
    _refused(
        page,
        f"http://127.0.0.1:{reports['port']}/?run={acme['id']}&token={old}",
        acme["results"]["customer_id"],
    )
    assert "expired" in page.content()


def test_no_token_is_refused(reports, page):
    acme = reports["acme"]
    _refused(page, f"http://127.0.0.1:{reports['port']}/?run={acme['id']}", acme["results"]["customer_id"])
    _refused(page, f"http://127.0.0.1:{reports['port']}/", reports["rival"]["results"]["customer_id"])


def test_url_cannot_switch_template_or_fetch_files(reports, page):
    import urllib.request

    port = reports["port"]
    for path in (
        "/voila/files/report.ipynb",
        "/voila/files/../pyproject.toml",
        "/voila/tree",
        "/report.ipynb",
    ):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as resp:
                body = resp.read().decode(errors="replace")
            assert "from retainwise" not in body and "[project]" not in body
        except urllib.error.HTTPError as exc:
            assert exc.code in (403, 404)
    acme, settings = reports["acme"], reports["stack"].settings
    open_report(page, report_url(settings, "acme", acme["id"]) + "&template=classic&theme=dark", "#rw-rows")
    assert page.locator(".rw-header").count() == 1  # still our template
