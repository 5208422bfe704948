"""The pipeline notebook: runs from any folder on its defaults, and displays user text escaped."""

from __future__ import annotations

import json
import re

import pytest

from retainwise.resources import notebook
from retainwise.science import display

XSS = "<img src=x onerror=alert(1)>"

pytestmark = [pytest.mark.notebook, pytest.mark.slow]


def _execute(tmp_path, **parameters):
    import papermill as pm

    out = tmp_path / "executed.ipynb"
    pm.execute_notebook(
        str(notebook("pipeline.ipynb")),
        str(out),
        parameters=parameters,
        cwd=str(tmp_path),
        progress_bar=False,
        kernel_name="python3",
    )
    return out


def test_html_in_headers_and_file_names_is_never_rendered(tmp_path, monkeypatch):
    from nbconvert import HTMLExporter

    upload = tmp_path / "<b>customers.csv"
    upload.write_text(
        f"customer_id,tenure,{XSS},[x](javascript:alert(1))\nA1,3,{XSS},y\nA2,40,z,w\n", encoding="utf-8"
    )
    executed = _execute(tmp_path, input_path=str(upload), output_dir=str(tmp_path / "out"), tenant=XSS)
    cells = json.loads(executed.read_text())["cells"]
    # what a renderer treats as markup (text/plain is shown as text)
    outputs = json.dumps(
        [
            o.get("data", {}).get(kind)
            for c in cells
            for o in c.get("outputs", [])
            for kind in ("text/html", "text/markdown")
        ]
    )
    body, _ = HTMLExporter(exclude_input=True).from_filename(str(executed))
    for rendered in (body, outputs):
        assert "<img src=x" not in rendered and "<b>customers" not in rendered  # charts are <img> too
    assert 'href="javascript' not in body
    assert "&lt;img src=x onerror=alert" in body  # shown, as text


def test_defaults_score_the_bundled_sample_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    executed = _execute(tmp_path, output_dir=str(out))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["input"]["name"] == "sample_customers.csv" and summary["rows_scored"] == 400
    shown = json.dumps(
        [o.get("data", {}) for c in json.loads(executed.read_text())["cells"] for o in c.get("outputs", [])]
    )
    assert json.dumps(display.tier_legend())[1:-1] in shown  # the tiers as scoring.py defines them
    assert "Quality score" in shown and "customers to score" in shown


def test_the_notebook_is_thin_no_tier_or_summary_is_written_in_it():
    """The risk tiers are defined once (scoring.py) and every paragraph is made by the package
    (science/display.py): no threshold, tier name or text-building f-string in any cell."""
    cells = json.loads(notebook("pipeline.ipynb").read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        text = "".join(cell["source"])
        assert not re.search(r"0\.[36]0?\b|\b(HIGH|MEDIUM|LOW)\b", text), text
        if cell["cell_type"] == "code":
            assert 'f"' not in text and "f'" not in text and "value_counts" not in text, text
