"""The report notebook is made of sections a data scientist can delete, reorder or add: removing one
cell removes that section from Voila's page (and from report.html)."""

from __future__ import annotations

import json

import pytest

from retainwise.platform.links import report_url
from retainwise.resources import notebook

from . import _report_server as rs
from ._report_server import completed_run, free_port_server, open_report, stop_server
from ._stack import Stack
from .conftest import SAMPLE

pytestmark = [pytest.mark.browser, pytest.mark.aws, pytest.mark.slow]

browser, page = rs.browser, rs.page  # the shared fixtures
SECTIONS = [
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
]


def _sources(nb: dict) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def test_the_notebook_has_one_cell_per_section_after_the_token_check():
    sources = _sources(json.loads(notebook("report.ipynb").read_text()))
    check = next(i for i, s in enumerate(sources) if "open_report(" in s)
    assert "page.check()" in sources[check]
    assert sources[check + 1 :] == [f"page.{name}()" for name in SECTIONS]


def test_a_removed_section_cell_is_gone_from_the_page(moto_server, tmp_path, page):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = json.loads(notebook("report.ipynb").read_text())
    nb["cells"] = [c for c in nb["cells"] if "".join(c["source"]) != "page.segments()"]
    (folder / "report.ipynb").write_text(json.dumps(nb))
    stack = Stack.create(moto_server.url, tmp_path)
    run = completed_run(stack, "acme", SAMPLE, tmp_path)
    server, port = free_port_server(stack, tmp_path / "voila.log", "--notebooks", str(folder))
    try:
        settings = stack.settings.replace(report_base_url=f"http://127.0.0.1:{port}")
        open_report(page, report_url(settings, "acme", run["id"]), "#rw-earlier")  # the last section
        assert page.locator("#rw-segments").count() == 0
        assert page.locator("#rw-actions").count() == 1 and page.locator("#rw-drivers").count() == 1
    finally:
        stop_server(server)
    # and the run's own report.html, from the unedited notebook, has it
    assert 'id="rw-segments"' in (run["dir"] / "report.html").read_text(encoding="utf-8")
