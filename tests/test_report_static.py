"""The static report (report.html) and the executed notebooks rendered by nbconvert, in Chromium:
no text from a user runs as script (issue 13, item 14), and the report is readable (issue 16)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from . import _report_server as rs
from .conftest import SAMPLE

pytestmark = [pytest.mark.browser, pytest.mark.slow]

browser, page = rs.browser, rs.page  # the shared fixtures

PAYLOAD = '<img src=x onerror="window.__xss=(window.__xss||0)+1">'
SCRIPT = "<script>window.__xss=(window.__xss||0)+1</script>"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory) -> Path:
    """``retainwise score`` of a file whose tenant, file name, header and values carry HTML."""
    work = tmp_path_factory.mktemp("hostile")
    frame = pd.read_csv(SAMPLE).head(80)
    frame = frame.rename(columns={frame.columns[-1]: PAYLOAD})
    frame[SCRIPT] = "x"
    frame.iloc[0, 0] = SCRIPT
    upload = work / "evil<b>name.csv"
    frame.to_csv(upload, index=False)
    out = work / "out"
    done = subprocess.run(
        [sys.executable, "-m", "retainwise", "score", str(upload), "--out", str(out), "--tenant", PAYLOAD],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def _nbconvert(notebook: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "html",
            str(notebook),
            "--output-dir",
            str(notebook.parent / "html"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return notebook.parent / "html" / notebook.with_suffix(".html").name


def _runs_no_script(page, html: Path) -> None:
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(html.as_uri(), wait_until="load", timeout=60_000)
    page.wait_for_timeout(500)
    assert page.evaluate("window.__xss || 0") == 0, html.name
    assert dialogs == []


def test_static_report_runs_no_user_text_as_script(hostile_run, page):
    _runs_no_script(page, hostile_run / "report.html")
    assert PAYLOAD in page.inner_text("body")  # shown, as text
    assert page.title().startswith(f"Churn report — {PAYLOAD} — ")


@pytest.mark.parametrize("name", ["pipeline.ipynb", "report.ipynb"])
def test_executed_notebooks_in_nbconvert_run_no_user_text_as_script(hostile_run, page, name):
    _runs_no_script(page, _nbconvert(hostile_run / "notebooks" / name))


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("static") / "out"
    done = subprocess.run(
        [sys.executable, "-m", "retainwise", "score", str(SAMPLE), "--out", str(out), "--tenant", "acme"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def test_static_report_is_readable_on_desktop_and_phone(sample_run, browser):
    for name, viewport in (("desktop", rs.DESKTOP), ("phone", rs.PHONE)):
        context = browser.new_context(viewport=viewport)
        pg = context.new_page()
        pg.goto((sample_run / "report.html").as_uri(), wait_until="load")
        height = pg.evaluate("document.documentElement.scrollHeight")
        rs.screenshot(pg, f"static-report-{name}.png")
        if name == "desktop":
            assert height < 4000, height  # 400 customers
            assert pg.title().startswith("Churn report — acme — ")
            aligned = pg.evaluate(
                "[...document.querySelectorAll('td')].filter(td => !td.classList.contains('rw-num'))"
                ".map(td => getComputedStyle(td).textAlign)"
            )
            assert aligned and set(aligned) <= {"left", "start"}
            alts = pg.evaluate("[...document.querySelectorAll('img')].map(i => i.alt)")
            assert alts and all(a and "No description" not in a for a in alts)
            href = pg.get_attribute("a.rw-download", "href")
            assert href.startswith(("data:text/csv;base64,", "https://", "http://"))
            text = pg.inner_text("body")
            assert not [w for w in ("log-odds", "SHAP", "|impact|") if w in text]
        else:  # every column of the segment tables fits a phone's width (none cut off, none scrolled to)
            cut = pg.evaluate(
                "[...document.querySelectorAll('.rw-segments table')]"
                ".filter(t => t.scrollWidth > t.parentElement.clientWidth + 1)"
                ".map(t => t.querySelector('th').innerText + ': ' + t.scrollWidth + ' > '"
                " + t.parentElement.clientWidth)"
            )
            assert pg.locator(".rw-segments table").count() >= 3 and not cut, cut
            assert not pg.locator(".rw-segment-chart img").is_visible()  # too small to read there
        context.close()


def test_static_report_carries_no_jupyterlab_stylesheets(sample_run):
    """Past the report server's kernels every visitor of a burst gets this page (issue 27): nbconvert's lab
    stylesheets (256 KB, two thirds of the page) are left out; the sections style themselves."""
    html = (sample_run / "report.html").read_text(encoding="utf-8")
    assert "--jp-layout-color0" not in html and ".jp-Notebook" not in html
    styles = sum(len(m) for m in re.findall(r"<style[^>]*>(.*?)</style>", html, flags=re.S))
    assert styles < 60_000, styles  # the sections' own (was 290 KB with JupyterLab's)
    assert ".rw-kpis" in html  # the sections' own style is there
