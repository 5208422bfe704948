"""Only ``customer_id`` is required: every file with a customer id gets its report, whatever else it has.

A three-column file, a file of ids alone and random column subsets of the bundled sample (fixed seeds; the id
column always kept) are scored by ``retainwise score`` (report.html), run by a runner against the moto server
(COMPLETED, with its report) and shown by the report server's Voila page in headless Chromium. Every section
renders; revenue figures appear only where the file has a money column, and where it has none the report says
so, once, in plain words.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from retainwise.platform.jobs import submit
from retainwise.platform.links import report_url
from retainwise.platform.runs import COMPLETED

from . import _report_server as rs
from ._report_server import open_report, screenshot, start_server, stop_server
from ._stack import Stack
from .conftest import SAMPLE

browser, page, phone = rs.browser, rs.page, rs.phone  # the shared fixtures

ID, MONEY = "customerID", "MonthlyCharges"
THREE = "customer_id,tenure,contract\nA1,3,Month-to-month\nA2,40,Two year\nA3,12,One year\n"
HOSTILE_ID = "<b>A2</b>"
IDS_ONLY = f"customer_id\nA1\n{HOSTILE_ID}\nA3\nA4\nA5\n"
NO_REVENUE = "revenue at risk is not shown"
#: The sections every report has, whatever its columns (Voila adds "since" and "earlier").
SECTIONS = ("risk", "drivers", "segments", "customers", "detail", "actions", "quality", "mapping", "health")
#: A customer's own charges named as a factor ("Total charges: $75.35"): their data, not a revenue figure.
CHARGES = re.compile(r"(Total|Monthly) charges: \$[\d,.]+")
#: A missing value printed as itself, or an error, where a customer reads the page.
LEAKS = re.compile(r"\bnan\b|\bNaN\b|\bNone\b|n/a|nan%|\binf\b|Traceback|There was an error|Error:")
SEGMENT_FIELDS = {"Contract", "tenure", "InternetService", "PaymentMethod"}


# -- the files --------------------------------------------------------------------------------------
def subsets(n: int, seed: int) -> list[list[str]]:
    """``n`` column subsets of the sample, the id column first in each: ids alone, then about half without
    the money column, the rest with it (and other columns at random)."""
    rng = random.Random(seed)
    others = [c for c in pd.read_csv(SAMPLE, nrows=0).columns if c not in (ID, MONEY)]
    out: list[list[str]] = [[ID]]
    while len(out) < n:
        picked = rng.sample(others, rng.randint(1, len(others)))
        out.append([ID, *picked] if len(out) <= n // 2 else [ID, MONEY, *picked])
    return out


def write_subset(columns: list[str], path: Path, rows: int = 400) -> Path:
    """The sample's ``columns`` (their text as it is) for its first ``rows`` customers."""
    pd.read_csv(SAMPLE, dtype=str, keep_default_na=False)[columns].head(rows).to_csv(path, index=False)
    return path


def named_uploads(folder: Path) -> dict[str, Path]:
    (folder / "three.csv").write_text(THREE, encoding="utf-8")
    (folder / "ids.csv").write_text(IDS_ONLY, encoding="utf-8")
    return {"three": folder / "three.csv", "ids": folder / "ids.csv"}


def has_money(upload: Path) -> bool:
    return MONEY in pd.read_csv(upload, nrows=0).columns


# -- what every report must be ---------------------------------------------------------------------
class _Text(HTMLParser):
    """The text a reader sees: no styles, scripts or attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def check_report_html(html: str, money: bool, what: str) -> None:
    """report.html of a run: every section, revenue only with money (else the one sentence why), no leaks."""
    missing = [s for s in SECTIONS if f'id="rw-{s}"' not in html]
    assert not missing, (what, missing)
    text = visible_text(html)
    assert not LEAKS.findall(text), (what, LEAKS.findall(text)[:5])
    if money:
        assert 'id="rw-revenue"' in html and NO_REVENUE not in text, what
    else:
        assert text.count(NO_REVENUE) == 1, what
        rest = CHARGES.sub("", text)
        assert 'id="rw-revenue"' not in html and "$" not in rest, (
            what,
            re.findall(r".{40}\$.{20}", rest)[:3],
        )
        assert "Revenue" not in text and "/mo" not in text, what


def check_executed(notebook: Path) -> None:
    """The executed report notebook: no error, no warning or other text on stderr."""
    nb = nbformat.read(str(notebook), as_version=4)
    bad = [
        o
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.output_type == "error" or (o.output_type == "stream" and o.name == "stderr")
    ]
    assert not bad, bad[:2]


def check_run_dir(out: Path, upload: Path) -> None:
    money = has_money(upload)
    check_report_html((out / "report.html").read_text(encoding="utf-8"), money, upload.name)
    check_executed(out / "notebooks" / "report.ipynb")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert (summary.get("revenue_at_risk") is not None) == money, summary.get("revenue_at_risk")
    fields = set(pd.read_parquet(out / "customers.parquet").columns)
    assert fields == set(summary["mapping"].values()), fields  # only the canonical fields the file has


# -- the report's code, in this process -------------------------------------------------------------
SECTION_CALLS = (
    "check",
    "headline",
    "since",
    "risk",
    "drivers",
    "segments",
    "customers",
    "customer",
    "actions",
    "quality",
    "mapping",
    "health",
    "earlier",
)


def page_html(data, *, static: bool, monkeypatch) -> tuple[str, object]:
    """Every section of ``notebooks/report.ipynb`` as its Page shows them: (their HTML, the page)."""
    from retainwise.reports.view import Page

    parts: list[str] = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)  # widgets: built, not shown
    page = Page(data, static=static)
    page._html = parts.append
    for call in SECTION_CALLS:
        getattr(page, call)()
    return "".join(parts), page


@pytest.mark.slow
def test_every_section_renders_for_random_column_subsets(tmp_path, monkeypatch):
    """Sixteen subsets (fixed seed) scored in-process (no kernel), each report built static and interactive,
    from summary.json as written and without its revenue_at_risk (older runs have none); every what-if re-scores."""
    from retainwise.reports.data import load_local
    from retainwise.reports.render import money
    from retainwise.science.pipeline import Pipeline

    rng = random.Random(5)
    for i, columns in enumerate(subsets(16, seed=99)):
        upload = write_subset(columns, tmp_path / f"subset-{i}.csv", rows=rng.choice([1, 2, 30, 400]))
        out = tmp_path / f"out-{i}"
        Pipeline(upload, out, tenant="acme", run_id=f"r{i}").run_all()
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        for variant in ("as written", "no revenue key"):
            if variant == "no revenue key":
                summary.pop("revenue_at_risk")
                (out / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
            data = load_local(out)
            html, _ = page_html(data, static=True, monkeypatch=monkeypatch)
            check_report_html(html, MONEY in columns, f"{columns} {variant}")
            if MONEY in columns:  # the headline's figure: the pipeline's, else the customers' sum
                assert f'data-value="{money(data.results["revenue_at_risk"].sum())}"' in html, columns
        _, page = page_html(load_local(out), static=False, monkeypatch=monkeypatch)
        assert page._browser.revenue == (MONEY in columns)
        assert ("revenue" in [o for _, o in page._browser.sort.options]) == (MONEY in columns)
        assert (page._browser.sort in page._browser.widget.children[0].children) == (MONEY in columns)
        for pick in page._detail.controls.children[1:]:  # every what-if field the customer has re-scores
            pick.value = next(v for _, v in pick.options if v != pick.value)
            assert "data-probability" in page._detail.result.value, columns


def test_an_empty_money_column_is_said_to_be_empty_and_shows_no_revenue(tmp_path, monkeypatch):
    """A monthly charges column with no value in it: summary.json says 0.0, but there is no money to show."""
    from retainwise.reports.data import load_local
    from retainwise.science.pipeline import Pipeline

    upload = tmp_path / "blank.csv"
    upload.write_text("customer_id,tenure,monthly_charges\nA1,3,\nA2,40,\nA3,12,\n", encoding="utf-8")
    Pipeline(upload, tmp_path / "out", tenant="acme", run_id="r1").run_all()
    html, page = page_html(load_local(tmp_path / "out"), static=False, monkeypatch=monkeypatch)
    assert "The monthly charges column of this file is empty, so revenue at risk is not shown" in html
    check_report_html(html, False, "blank money")
    drivers = html.split('id="rw-drivers"')[1].split("</div>")[0]  # the chart's alt text names each bar
    assert (
        not page._browser.revenue and "Months as a customer" in drivers and "Monthly charges" not in drivers
    )


# -- retainwise score --------------------------------------------------------------------------------
def score(upload: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "retainwise", "score", str(upload), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> dict[str, tuple[Path, Path, subprocess.CompletedProcess]]:
    """The three-column file and the file of ids alone, each scored by `retainwise score` once."""
    work = tmp_path_factory.mktemp("score-any")
    return {
        name: (upload, work / f"{name}-out", score(upload, work / f"{name}-out"))
        for name, upload in named_uploads(work).items()
    }


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize("name", ["three", "ids"])
def test_score_gives_a_report_without_money_or_any_column_but_the_id(scored, name):
    upload, out, proc = scored[name]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "report.html").is_file()
    check_run_dir(out, upload)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert (
        summary["revenue_at_risk"] is None
        and summary["rows_scored"] == len(upload.read_text().splitlines()) - 1
    )
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "No monthly charges in this file" in html
    if name == "ids":  # nothing to segment, nothing drives it, no action: each section says why
        assert (
            "none of the columns segments are made from" in html and "No column of this file is one" in html
        )
        assert "&lt;b&gt;A2&lt;/b&gt;" in html and HOSTILE_ID not in html  # the customer's text, escaped


@pytest.mark.notebook
@pytest.mark.slow
def test_random_column_subsets_score_to_a_report(tmp_path):
    """Eight subsets (fixed seed) through the command's own code path, in this process (a kernel each)."""
    from retainwise.cli import main

    rng = random.Random(11)
    for i, columns in enumerate(subsets(8, seed=2026)):
        upload = write_subset(columns, tmp_path / f"subset-{i}.csv", rows=rng.choice([1, 7, 60, 400]))
        out = tmp_path / f"out-{i}"
        assert main(["score", str(upload), "--out", str(out), "--quiet"]) == 0, columns
        check_run_dir(out, upload)
        html = (out / "report.html").read_text(encoding="utf-8")
        if not SEGMENT_FIELDS & set(columns):
            assert "none of the columns segments are made from" in html, columns


@pytest.mark.browser
@pytest.mark.slow
def test_static_report_without_money_reads_on_desktop_and_phone(scored, browser):
    _, out, proc = scored["three"]
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name, viewport in (("desktop", rs.DESKTOP), ("phone", rs.PHONE)):
        context = browser.new_context(viewport=viewport)
        pg = context.new_page()
        pg.goto((out / "report.html").as_uri(), wait_until="load")
        rs.screenshot(pg, f"no_money_static_{name}.png")
        assert pg.locator("#rw-no-revenue").is_visible()
        assert pg.locator(".rw-segment-chart img").is_visible() == (name == "desktop")
        alts = pg.evaluate("[...document.querySelectorAll('img')].map(i => i.alt)")
        assert alts and all(alts) and not [a for a in alts if "$" in a], alts
        cut = pg.evaluate(
            "[...document.querySelectorAll('.rw-segments table, table.rw-customers')]"
            ".filter(t => t.scrollWidth > t.parentElement.clientWidth + 1).length"
        )
        assert cut == 0
        context.close()


# -- the runner and the Voila page ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs(moto_server, tmp_path_factory):
    """The named files and four random subsets, one tenant, run by one runner process in upload order (so each
    report has the one before as "since last time", with and without money on either side)."""
    work = tmp_path_factory.mktemp("runner-any")
    stack = Stack.create(
        moto_server.url, work, run_timeout_s=60, visibility_timeout_s=90
    )  # a busy CI machine
    uploads = named_uploads(work)
    for i, columns in enumerate(subsets(4, seed=7)):
        uploads[f"subset-{i}"] = write_subset(columns, work / f"subset-{i}.csv", rows=120)
    stack.start_worker()
    try:
        ids = {}
        for name, upload in uploads.items():
            ids[name] = submit(upload, "anycols", stack.settings)
            stack.wait_status(ids[name], timeout=240)  # one at a time: their order is the tenant's history
        yield {"stack": stack, "uploads": uploads, "runs": {n: stack.store.get(i) for n, i in ids.items()}}
    finally:
        stack.stop_workers()


@pytest.mark.aws
@pytest.mark.slow
def test_the_runner_completes_every_file_with_its_report(runs):
    stack = runs["stack"]
    for name, run in runs["runs"].items():
        upload = runs["uploads"][name]
        assert run.status == COMPLETED, (name, run.error)
        assert {"report.html", "summary.json", "customers.parquet"} <= set(run.output_keys), run.output_keys
        check_report_html(stack.storage.get_text(run.output_keys["report.html"]), has_money(upload), name)
        summary = json.loads(stack.storage.get_text(run.output_keys["summary.json"]))
        assert (summary.get("revenue_at_risk") is not None) == has_money(upload), name


@pytest.fixture(scope="module")
def served(runs, tmp_path_factory):
    from retainwise.platform.embedded import free_port

    stack, port = runs["stack"], free_port()
    server = start_server(stack, port, tmp_path_factory.mktemp("voila-any") / "voila.log")
    try:
        yield {**runs, "settings": stack.settings.replace(report_base_url=f"http://127.0.0.1:{port}")}
    finally:
        stop_server(server)


def check_voila_page(pg, served, name: str) -> str:
    """Open ``name``'s report link; every section shown, no error, revenue only with money. The page's text."""
    run, upload = served["runs"][name], served["uploads"][name]
    open_report(pg, report_url(served["settings"], "anycols", run.id), "#rw-earlier")  # the last section
    pg.wait_for_selector(".rw-drill", timeout=60_000)  # the widgets too: the browser and the detail
    missing = [s for s in (*SECTIONS, "since") if pg.locator(f".rw-section#rw-{s}").count() != 1]
    assert not missing, (name, missing)
    assert (
        pg.locator('[data-mime-type="application/vnd.jupyter.stderr"], .jp-OutputArea-output pre').count()
        == 0
    )
    text = pg.inner_text("body")
    assert not LEAKS.findall(text), (name, LEAKS.findall(text)[:5])
    assert pg.locator(".rw-row").count() >= 1
    if has_money(upload):
        assert pg.get_attribute("#rw-revenue", "data-value").startswith("$")
    else:
        assert text.count(NO_REVENUE) == 1 and "$" not in CHARGES.sub("", text) and "/mo" not in text, name
        assert pg.locator("#rw-revenue").count() == 0
        assert pg.locator("option", has_text="Revenue at risk").count() == 0  # no revenue sort to offer
    return text


@pytest.mark.browser
@pytest.mark.aws
@pytest.mark.slow
def test_voila_page_of_a_file_without_money(served, page, phone):
    check_voila_page(page, served, "three")
    select = page.locator(".rw-whatif-contract select")  # what-if offers the one field it has: contract
    current = select.evaluate("s => s.options[s.selectedIndex].text")
    select.select_option(label=next(o for o in ("one year", "two years") if o != current))
    page.wait_for_selector(".rw-whatif", timeout=30_000)
    assert page.locator("[class*='rw-whatif-'] select").count() == 1
    screenshot(page, "no_money_desktop.png")
    check_voila_page(phone, served, "three")
    screenshot(phone, "no_money_phone.png")


@pytest.mark.browser
@pytest.mark.aws
@pytest.mark.slow
def test_voila_page_of_a_file_of_ids_alone(served, page):
    text = check_voila_page(page, served, "ids")
    assert HOSTILE_ID in text and page.locator("#rw-customers b").count() == 0  # shown as text, not markup
    assert (
        page.locator(".rw-whatif-none").count() == 1
        and page.locator("[class*='rw-whatif-'] select").count() == 0
    )
    assert "none of the columns segments are made from" in page.inner_text("#rw-segments")
    assert (
        page.locator(".widget-dropdown").count() == 0
    )  # no revenue sort, no segment filter: nothing to choose
    screenshot(page, "id_only_desktop.png")


@pytest.mark.browser
@pytest.mark.aws
@pytest.mark.slow
@pytest.mark.parametrize("name", ["subset-1", "subset-2", "subset-3"])
def test_voila_page_of_a_random_column_subset(served, page, name):
    check_voila_page(page, served, name)
    names = list(served["uploads"])
    before = served["uploads"][names[names.index(name) - 1]]  # the tenant's run before this one
    since = page.inner_text("#rw-since")
    if has_money(served["uploads"][name]):
        assert "Monthly revenue at risk $" in since
        assert ("the earlier file had no monthly charges" in since) == (not has_money(before)), since
    else:
        assert "revenue" not in since.lower(), since
