"""The same customers exported in every dialect score exactly as their clean twin does.

Each export in tests/data/exports holds real customers of the training file the
way a CRM, billing system or spreadsheet would export them; tests/data/twins
holds the same customers and information in the training file's own format.
Both are scored in-process by the real pipeline (no kernel) and compared per
customer.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from retainwise.science.neutralise import is_risky
from retainwise.science.outputs import ECHOED
from retainwise.science.pipeline import Pipeline

DATA = Path(__file__).resolve().parent / "data"
EXPECTED = json.loads((DATA / "expected_mappings.json").read_text(encoding="utf-8"))


def run(path: Path, out: Path) -> Pipeline:
    pipe = Pipeline(path, out, tenant="dialects", run_id="dialect-test")
    pipe.run_all()
    return pipe


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_same_customers_score_the_same_in_every_dialect(name, tmp_path):
    expected = EXPECTED[name]
    export = run(DATA / expected["file"], tmp_path / "export")
    twin = run(DATA / expected["twin"], tmp_path / "twin")
    assert twin.mapping.unmapped == []  # the twin itself is read completely
    mine = export.results.set_index("customer_id")["churn_probability"]
    clean = twin.results.set_index("customer_id")["churn_probability"]
    assert mine.index.is_unique and len(mine) == expected["rows_in"] - expected["rows_rejected"]
    assert sorted(mine.index) == sorted(clean.index)
    diff = (mine - clean.reindex(mine.index)).abs()
    assert diff.max() <= 1e-6, diff.sort_values().tail(3)
    summary = json.loads((tmp_path / "export" / "summary.json").read_text())
    assert summary["mapping"] == expected["mapping"] and summary["unmapped"] == expected["unmapped"]
    assert (summary["rows_in"], summary["rows_rejected"]) == (expected["rows_in"], expected["rows_rejected"])
    assert summary["input"]["encoding"] == expected["encoding"]
    assert summary["input"]["format"] == expected["format"]


def test_formula_payloads_in_an_upload_are_neutralised_in_results_csv(tmp_path):
    run(DATA / EXPECTED["dirty"]["file"], tmp_path)
    with open(tmp_path / "results.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    ids = {row["customer_id"] for row in rows}
    assert {'\'=HYPERLINK("http://evil.example","click")', "'+1-555-0100", "'@SUM(A1:A9)", "'-2+3"} <= ids
    for row in rows:
        for column in ECHOED:
            assert not is_risky(row[column]), (column, row[column])
