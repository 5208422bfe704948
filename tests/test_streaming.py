"""A file scored in small chunks gives exactly what it gives scored whole (issue 14)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from retainwise.resources import TRAINING_DATA
from retainwise.science.pipeline import Pipeline
from retainwise.science.progress import read_progress

VARYING = {"timings_s", "started_at", "finished_at"}


@pytest.fixture(scope="module")
def messy_upload(tmp_path_factory):
    """3,451 customers with everything a quality report counts, repeats far apart (across chunks)."""
    data = pd.read_csv(TRAINING_DATA, dtype=str, keep_default_na=False)
    rng = np.random.default_rng(7)
    data.loc[rng.choice(len(data), 40, replace=False), "customerID"] = ""  # no id
    data.loc[rng.choice(len(data), 30, replace=False), "MonthlyCharges"] = "abc"  # not understood
    data.loc[rng.choice(len(data), 20, replace=False), "tenure"] = "-5"  # out of range
    repeats = data.iloc[rng.choice(len(data), 60, replace=False)].copy()
    repeats.loc[repeats.index[:25], "Contract"] = "Two year"  # some repeats disagree with the first row
    data = pd.concat([data, repeats, data.iloc[:5]], ignore_index=True)
    path = tmp_path_factory.mktemp("upload") / "customers.csv"
    data.to_csv(path, index=False)
    return path


def run(path, out, chunk_rows, **kw) -> Pipeline:
    pipe = Pipeline(path, out, tenant="acme", run_id="same", chunk_rows=chunk_rows, rules_share=0.3, **kw)
    pipe.run_all()
    return pipe


def test_chunked_run_equals_the_whole_file_run(messy_upload, tmp_path):
    whole = run(messy_upload, tmp_path / "whole", 1_000_000)
    chunked = run(messy_upload, tmp_path / "chunked", 257)
    assert len(chunked._spill.paths) > 10 and len(whole._spill.paths) == 1
    for name in ("results.csv", "mapping.json"):
        a, b = (tmp_path / "whole" / name).read_bytes(), (tmp_path / "chunked" / name).read_bytes()
        if name == "mapping.json":
            a, b = (json.loads(x) for x in (a, b))
            a.pop("saved_at"), b.pop("saved_at")
        assert a == b, name
    s1, s2 = (json.loads((tmp_path / d / "summary.json").read_text()) for d in ("whole", "chunked"))
    assert {k: v for k, v in s1.items() if k not in VARYING} == {
        k: v for k, v in s2.items() if k not in VARYING
    }
    codes = {i["code"]: i for i in s1["quality"]["issues"]}
    assert {"missing_id", "duplicate_id", "not_understood", "out_of_range"} <= set(codes)
    upload = pd.read_csv(messy_upload, dtype=str, keep_default_na=False)
    with_id = upload[upload["customerID"].ne("")]
    versions = with_id.drop_duplicates().groupby("customerID").size()
    assert codes["duplicate_id"]["count"] == with_id["customerID"].duplicated().sum() > 0
    assert f"{int((versions - 1).sum())} of them with different values" in codes["duplicate_id"]["message"]
    assert s1["realised"]["by_group"] and s1["experiment"]["groups"]["rules"] > 0
    assert pd.read_parquet(tmp_path / "chunked" / "results.parquet").shape[0] == s1["rows_scored"]
    customers = [pd.read_parquet(tmp_path / d / "customers.parquet") for d in ("whole", "chunked")]
    pd.testing.assert_frame_equal(customers[0], customers[1])


def test_customers_file_holds_the_canonical_fields_of_the_top_customers(messy_upload, tmp_path, monkeypatch):
    """customers.parquet: results_top.csv's customers, same order, as the run mapped them (the report's
    segments and what-if read it instead of the upload)."""
    from retainwise.science import pipeline

    monkeypatch.setattr(
        pipeline, "TOP_N", 300
    )  # fewer than the file holds: the top must be chosen across chunks
    run(messy_upload, tmp_path / "out", 500)
    top = pd.read_csv(tmp_path / "out" / "results_top.csv", dtype={"customer_id": str}, keep_default_na=False)
    customers = pd.read_parquet(tmp_path / "out" / "customers.parquet")
    assert len(top) == 300 and customers["customer_id"].astype(str).tolist() == top["customer_id"].tolist()
    validated = Pipeline(messy_upload, tmp_path / "validated", explain_ahead=False)
    validated.read(), validated.map_columns(), validated.validate()
    rows = validated.rows.set_index("customer_id")  # validation keeps each customer's first row
    expected = rows.loc[customers["customer_id"], ["contract", "tenure_months", "monthly_charges"]]
    pd.testing.assert_frame_equal(customers.set_index("customer_id")[expected.columns], expected)


def test_results_keep_the_upload_order_and_summary_carries_the_most_at_risk(messy_upload, tmp_path):
    pipe = run(messy_upload, tmp_path / "out", 500)
    results = pd.read_csv(tmp_path / "out" / "results.csv", dtype={"customer_id": str}, keep_default_na=False)
    upload = pd.read_csv(messy_upload, dtype=str, keep_default_na=False)
    firsts = upload["customerID"][upload["customerID"].ne("")].drop_duplicates()
    assert results["customer_id"].tolist() == firsts.tolist()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    top = summary["top_at_risk"]
    assert [t["churn_probability"] for t in top] == sorted(results["churn_probability"], reverse=True)[
        : len(top)
    ] or np.allclose(
        [t["churn_probability"] for t in top],
        sorted(results["churn_probability"], reverse=True)[: len(top)],
        atol=1e-6,
    )
    top_file = pd.read_csv(
        tmp_path / "out" / "results_top.csv", dtype={"customer_id": str}, keep_default_na=False
    )
    assert len(top_file) == len(results) and top_file["churn_probability"].is_monotonic_decreasing
    assert sorted(top_file["customer_id"]) == sorted(results["customer_id"])
    hist = summary["probability_histogram"]
    assert sum(sum(hist[t]) for t in ("HIGH", "MEDIUM", "LOW")) == summary["rows_scored"]
    assert "recommended_action" in results.columns
    progress = read_progress(tmp_path / "out")
    assert progress["stage"] == "explanation" and progress["rows_done"] == progress["rows_total"] == len(
        results
    )
    assert pipe.top_at_risk(3)["churn_probability"].is_monotonic_decreasing


def test_top_collected_chunk_by_chunk_equals_sorting_everything_at_once():
    """Ties on the cut-off and pruning across chunks: the same rows, same order, as one stable sort."""
    from retainwise.science.streaming import Top

    rng = np.random.default_rng(3)
    whole = pd.DataFrame(
        {
            "churn_probability": rng.choice(np.linspace(0, 1, 41), 5000),  # many ties
            "customer_id": [f"c{i}" for i in range(5000)],
        }
    )
    companion = whole.assign(extra=np.arange(5000))
    top = Top(300)
    for start in range(0, len(whole), 170):
        top.add(whole.iloc[start : start + 170], companion.iloc[start : start + 170])
    want = whole.sort_values("churn_probability", ascending=False, kind="stable").head(300)
    got = top.frame()
    pd.testing.assert_frame_equal(got, want)
    assert top.companion(got)["extra"].tolist() == want.index.tolist()
    assert top._rows < 2 * 300 + 170  # pruned as it went, never holding the whole file
