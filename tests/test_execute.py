"""`retainwise score` end to end: real Papermill runs of the pipeline notebook."""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pandas as pd
import pytest

from retainwise.science.outputs import RESULT_COLUMNS

from .conftest import TRAINING

pytestmark = pytest.mark.notebook


def score(path, out, *extra):
    return subprocess.run(
        [sys.executable, "-m", "retainwise", "score", str(path), "--out", str(out), *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """The training file minus Churn, with some customers repeated, scored once for the module."""
    tmp = tmp_path_factory.mktemp("score")
    data = pd.read_csv(TRAINING, dtype=str, keep_default_na=False).drop(columns=["Churn"]).head(600)
    upload = pd.concat([data, data.head(25)], ignore_index=True)  # 25 duplicated customers
    path = tmp / "customers.csv"
    upload.to_csv(path, index=False)
    proc = score(path, tmp / "out", "--tenant", "acme")
    return proc, tmp / "out", data


def test_score_writes_every_output(scored):
    proc, out, _ = scored
    assert proc.returncode == 0, proc.stderr
    for name in (
        "results.csv",
        "summary.json",
        "report.html",
        "notebooks/pipeline.ipynb",
        "notebooks/report.ipynb",
    ):
        assert (out / name).is_file(), name
    assert "Most at risk:" in proc.stdout and "Data quality:" in proc.stdout


def test_score_prints_the_customers_most_at_risk_and_its_progress(scored):
    import re

    proc, out, _ = scored
    listed = proc.stdout.split("Most at risk:\n")[1].splitlines()[:5]
    results = pd.read_csv(out / "results.csv", dtype={"customer_id": "str"})
    top = results.nlargest(5, "churn_probability")
    assert [line.split()[0] for line in listed] == list(top["customer_id"])
    # rows done / total on stderr, from the pipeline's progress file
    assert re.search(r"^explanation: rows [\d,]+ / [\d,]+ \(100%\)", proc.stderr, re.M), proc.stderr


def test_the_run_record_holds_no_progress_bar_widgets(scored):
    """Bars are for JupyterLab: in a run they only cost comm messages and left a stale "0%" in the record."""
    _, out, _ = scored
    record = nbformat.read(str(out / "notebooks" / "pipeline.ipynb"), as_version=4)
    kinds = {kind for cell in record.cells for o in cell.get("outputs", []) for kind in o.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" not in kinds
    assert record.metadata["papermill"]["parameters"]["progress_bar"] is False
    assert record.metadata["retainwise"]["kernel_pid"] > 0  # stamped by the engine, with no second write


def test_each_distinct_customer_appears_exactly_once(scored):
    _, out, data = scored
    results = pd.read_csv(out / "results.csv", dtype={"customer_id": "str"})
    assert list(results.columns[: len(RESULT_COLUMNS)]) == RESULT_COLUMNS
    assert results["customer_id"].is_unique
    assert set(results["customer_id"]) == set(data["customerID"])
    assert results["churn_probability"].between(0, 1).all()
    assert set(results["churn_risk"]) <= {"HIGH", "MEDIUM", "LOW"}
    for col in ("risk_factors", "protective_factors"):
        assert all(isinstance(json.loads(v), list) for v in results[col])


def test_summary_follows_the_design(scored):
    _, out, data = scored
    s = json.loads((out / "summary.json").read_text())
    for key in (
        "run_id",
        "tenant",
        "rows_in",
        "rows_scored",
        "rows_rejected",
        "mapping",
        "mapping_confidence",
        "unmapped",
        "quality",
        "model",
        "risk_counts",
        "timings_s",
    ):
        assert key in s, key
    assert s["tenant"] == "acme"
    assert (s["rows_in"], s["rows_scored"], s["rows_rejected"]) == (625, 600, 25)
    assert s["mapping"]["customerID"] == "customer_id" and s["mapping"]["tenure"] == "tenure_months"
    assert sum(s["risk_counts"].values()) == 600
    assert 0 <= s["quality"]["score"] <= 100
    assert {"read", "mapping", "validation", "prediction", "explanation", "notebook", "report"} <= set(
        s["timings_s"]
    )


def test_report_hides_code(scored):
    _, out, _ = scored
    html = (out / "report.html").read_text()
    assert "Risk distribution" in html or "<img" in html
    assert "from retainwise.science.pipeline import Pipeline" not in html and "run.predict()" not in html
    assert "open_page" not in html and "<script" not in html  # no sources, no JavaScript: mailable
    s = json.loads((out / "summary.json").read_text())
    assert f'id="rw-rows">{s["rows_scored"]:,}<' in html  # the report notebook's headline
    assert f"${s['revenue_at_risk']:,.0f}" in html and 'class="rw-download"' in html


UNUSABLE = {
    "empty": b"",
    "header_only": b"customerID,tenure,MonthlyCharges\n",
    "binary": bytes(range(256)) * 40,
    "no_id": b"colour,size\nred,3\nblue,4\n",
}


@pytest.mark.parametrize("case", sorted(UNUSABLE))
def test_unusable_input_exits_2_with_one_clear_line(tmp_path, case):
    path = tmp_path / f"{case}.csv"
    path.write_bytes(UNUSABLE[case])
    proc = score(path, tmp_path / "out", "--quiet")
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("retainwise: error: ") and len(lines[0]) > 40
    assert "Traceback" not in proc.stderr + proc.stdout
    # the failed run still leaves its executed notebook, error visible
    executed = tmp_path / "out" / "notebooks" / "pipeline.ipynb"
    nb = nbformat.read(str(executed), as_version=4)
    text = json.dumps(nb)
    assert "InputError" in text


def test_missing_file_is_an_input_error(tmp_path):
    proc = score(tmp_path / "nope.csv", tmp_path / "out", "--quiet")
    assert proc.returncode == 2 and "no such file" in proc.stderr and "Traceback" not in proc.stderr


def _tiny_notebook(path, code):
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}}
    )
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(code),
    ]
    nbformat.write(nb, str(path))
    return path


@pytest.mark.parametrize(
    ("code", "expected", "code_name"),
    [
        (
            "from retainwise.errors import InputError\nraise InputError('no rows in the file')",
            "InputError",
            "bad_input",
        ),
        ("raise ValueError('a bug of ours')", "InternalError", "tiny_failed"),
    ],
)
def test_run_notebook_maps_kernel_errors_to_our_categories(tmp_path, code, expected, code_name):
    from retainwise.errors import RetainwiseError
    from retainwise.execution.notebook import run_notebook

    source = _tiny_notebook(tmp_path / "tiny.ipynb", code)
    with pytest.raises(RetainwiseError) as info:
        run_notebook(source, tmp_path / "out" / "tiny.ipynb", {"x": 2})
    assert type(info.value).__name__ == expected and info.value.code == code_name
    assert not info.value.transient  # neither a bad file nor a bug is worth a retry
    record = nbformat.read(str(tmp_path / "out" / "tiny.ipynb"), as_version=4)
    assert (
        record.metadata["retainwise"]["kernel_pid"] > 0 and not record.metadata["retainwise"]["kernel_pooled"]
    )


def test_run_notebook_injects_parameters_and_returns_the_record(tmp_path):
    from retainwise.execution.notebook import run_notebook

    source = _tiny_notebook(tmp_path / "tiny.ipynb", "print(x * 21)")
    executed = run_notebook(source, tmp_path / "tiny-out.ipynb", {"x": 2})
    outputs = nbformat.read(str(executed), as_version=4).cells[-1].outputs
    assert executed == tmp_path / "tiny-out.ipynb" and outputs[0]["text"].strip() == "42"


def test_a_dead_kernel_is_a_transient_execution_error(tmp_path):
    from retainwise.errors import ExecutionError
    from retainwise.execution.notebook import run_notebook

    source = _tiny_notebook(
        tmp_path / "tiny.ipynb", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
    )
    with pytest.raises(ExecutionError) as info:
        run_notebook(source, tmp_path / "dead.ipynb", {})
    assert info.value.transient and (tmp_path / "dead.ipynb").is_file()


def test_score_uses_the_tenants_saved_mapping_and_saves_the_one_it_used(tmp_path):
    import os

    home = tmp_path / "home"
    (home / "mappings").mkdir(parents=True)
    # "Zeta" holds the ids but is named so that no stage of inference takes it for customer_id...
    upload = tmp_path / "export.csv"
    upload.write_text("Zeta,tenure,MonthlyCharges\nQ-1,3,70.5\nQ-2,40,20.0\n", encoding="utf-8")
    env = {**os.environ, "RETAINWISE_HOME": str(home)}
    alone = subprocess.run(
        [
            sys.executable,
            "-m",
            "retainwise",
            "score",
            str(upload),
            "--out",
            str(tmp_path / "a"),
            "--tenant",
            "zed",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert alone.returncode == 2, alone.stderr  # ...so without the saved mapping the file is unusable
    # ...until a person confirmed it for this tenant: the saved mapping makes the same file score
    (home / "mappings" / "zed.json").write_text(
        json.dumps(
            {
                "columns": ["Zeta", "tenure", "MonthlyCharges"],
                "mapping": {"Zeta": "customer_id"},
                "confirmed": {"Zeta": "customer_id"},
            }
        ),
        encoding="utf-8",
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "retainwise",
            "score",
            str(upload),
            "--out",
            str(tmp_path / "b"),
            "--tenant",
            "zed",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    results = pd.read_csv(tmp_path / "b" / "results.csv", dtype=str)
    assert sorted(results["customer_id"]) == ["Q-1", "Q-2"]
    saved = json.loads((home / "mappings" / "zed.json").read_text(encoding="utf-8"))
    assert saved == json.loads((tmp_path / "b" / "mapping.json").read_text(encoding="utf-8"))
    assert saved["mapping"]["Zeta"] == "customer_id" and saved["mapping"]["tenure"] == "tenure_months"
