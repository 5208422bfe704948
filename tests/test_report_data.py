"""The report's data loading (reports/data.py): a large run costs the customers shown, not the whole file."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from retainwise.reports import data as report_data
from retainwise.reports import sections, segments
from retainwise.resources import SAMPLE_UPLOAD
from retainwise.science.pipeline import Pipeline


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """The bundled sample scored, with the executed-notebook metadata load_local finds the upload by."""
    out = tmp_path_factory.mktemp("run")
    Pipeline(SAMPLE_UPLOAD, out, tenant="acme", run_id="r1").run_all()
    (out / "notebooks").mkdir()
    meta = {"metadata": {"papermill": {"parameters": {"input_path": str(SAMPLE_UPLOAD)}}}, "cells": []}
    (out / "notebooks" / "pipeline.ipynb").write_text(json.dumps(meta), encoding="utf-8")
    return out


def test_kept_customers_are_the_same_rows_as_the_whole_upload(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    whole = report_data.canonical_rows(SAMPLE_UPLOAD, summary)
    keep = set(whole.index[::7])
    kept = report_data.canonical_rows(SAMPLE_UPLOAD, summary, keep)
    assert set(kept.index) == keep
    pd.testing.assert_frame_equal(kept, whole.loc[kept.index])


def test_the_customers_to_keep_may_be_known_only_once_the_rows_are_read(run_dir):
    from concurrent.futures import Future

    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    whole = report_data.canonical_rows(SAMPLE_UPLOAD, summary)
    shown: Future = Future()  # what load_granted hands over while it still reads the results
    loading = report_data.background(lambda: report_data.canonical_rows(SAMPLE_UPLOAD, summary, shown.result))
    keep = set(whole.index[:10])
    shown.set_result(keep)
    kept = loading.result(timeout=120)
    assert set(kept.index) == keep
    pd.testing.assert_frame_equal(kept, whole.loc[kept.index])
    everyone: Future = Future()
    everyone.set_result(None)  # a run shown whole
    assert set(report_data.canonical_rows(SAMPLE_UPLOAD, summary, everyone.result).index) == set(whole.index)


def test_a_small_run_loads_every_customers_fields(run_dir):
    data = report_data.load_local(run_dir)
    assert not data.truncated
    assert set(data.features().index) == set(data.results["customer_id"].astype(str))


def test_a_large_run_loads_only_the_customers_shown_and_same_segments(run_dir, monkeypatch):
    full = report_data.load_local(run_dir)
    every = full.features()
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    top = full.results.head(25)
    top.to_csv(run_dir / "results_top.csv", index=False)
    monkeypatch.setattr(report_data, "MAX_ROWS", 30)  # the sample (400 rows) now counts as a large run
    try:
        data = report_data.load_local(run_dir)
    finally:
        (run_dir / "results_top.csv").unlink()
    assert data.truncated and data.rows_scored == summary["rows_scored"] > len(data.results) == 25
    assert set(data.features().index) == set(top["customer_id"].astype(str))
    shown = segments.by_segment(data.results, segments.segment_labels(data.features()))
    over_all = segments.by_segment(data.results, segments.segment_labels(every))
    assert shown.keys() == over_all.keys() and shown
    for title in shown:
        pd.testing.assert_frame_equal(shown[title], over_all[title])
    assert (
        f"Counted over the 25 customers most at risk shown here, not all {data.rows_scored:,}"
        in sections.segments_section(data)
    )
    assert "Counted over" not in sections.segments_section(full)


def test_results_too_big_to_embed_are_not_read(tmp_path, monkeypatch):
    big = tmp_path / "results.csv"
    big.write_bytes(b"customer_id\n" + b"1\n" * 1000)
    monkeypatch.setattr(report_data, "EMBED_BYTES", 100)

    def refuse(self):
        raise AssertionError(f"{self} was read whole")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert report_data._data_link(big) == ""


def test_results_small_enough_are_embedded(tmp_path):
    small = tmp_path / "results.csv"
    small.write_text("customer_id\n1\n", encoding="utf-8")
    assert report_data._data_link(small).startswith("data:text/csv;base64,")


def test_a_run_folder_gives_the_customers_fields_from_customers_parquet_as_the_upload_would(run_dir):
    """The report reads the fields the run wrote (customers.parquet), the same rows the upload gives, and
    without the upload: a million-row run is not read and validated a second time."""
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    whole = report_data.canonical_rows(SAMPLE_UPLOAD, summary)
    (run_dir / "notebooks" / "pipeline.ipynb").rename(run_dir / "pipeline.moved")  # no way back to the upload
    try:
        data = report_data.load_local(run_dir)
        features = data.features()
    finally:
        (run_dir / "pipeline.moved").rename(run_dir / "notebooks" / "pipeline.ipynb")
    assert set(features.index) == set(data.results["customer_id"]) == set(whole.index)
    pd.testing.assert_frame_equal(
        features.sort_index(), whole.loc[features.index].sort_index(), check_like=True
    )


def test_segment_labels_say_each_customers_value_as_labels_do():
    from retainwise.reports import labels

    features = pd.DataFrame(
        {
            "contract": ["monthly", None, "two_year", "monthly", float("nan")],
            "internet_service": ["fiber_optic", "dsl", "no", "fiber_optic", "dsl"],
            "tenure_months": [1, 8, 30, None, 70],
        },
        index=list("abcde"),
    )
    segs = segments.segment_labels(features)
    for title, field in (("Contract", "contract"), ("Internet", "internet_service")):
        assert segs[title].tolist() == [labels.value(field, v) for v in features[field]]
    assert segs.loc["b", "Contract"] == segs.loc["e", "Contract"] == "unknown"
    assert segs["Months as a customer"].tolist() == [
        "0–6 months",
        "7–12 months",
        "2–4 years",
        "unknown",
        "4+ years",
    ]


def test_a_granted_report_reads_customers_parquet_or_else_maps_the_upload_again(run_dir):
    import shutil
    from concurrent.futures import Future
    from types import SimpleNamespace

    from retainwise.reports import granted

    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    fetched: list[str] = []

    class Storage:  # S3 as granted.py uses it: get_bytes(key), download(key, path)
        def get_bytes(self, key):
            fetched.append(Path(key).name)
            return Path(key).read_bytes()

        def download(self, key, path):
            fetched.append(Path(key).name)
            shutil.copy(key, path)

    shown: Future = Future()
    shown.set_result(None)
    new = SimpleNamespace(
        output_keys={"customers.parquet": str(run_dir / "customers.parquet")}, upload_key=str(SAMPLE_UPLOAD)
    )
    old = SimpleNamespace(
        output_keys={}, upload_key=str(SAMPLE_UPLOAD)
    )  # a run from before customers.parquet
    from_parquet = granted._features_loader(Storage(), new, summary, "sample.csv", shown)()
    assert fetched == ["customers.parquet"]
    from_upload = granted._features_loader(Storage(), old, summary, "sample.csv", shown)()
    assert fetched[1:] == [SAMPLE_UPLOAD.name]
    pd.testing.assert_frame_equal(
        from_parquet.sort_index(), from_upload.loc[from_parquet.index].sort_index(), check_like=True
    )
    assert set(from_parquet.index) == set(from_upload.index)


def test_bands_read_in_their_own_order_and_categories_by_revenue():
    """Months as a customer is a ladder (0-6 months first, unknown last); contracts come by money at risk."""
    tenure = [70, 3, 30, 10, None, 2, 15]
    contract = ["annual", "monthly", "monthly", "two_year", "monthly", "annual", "monthly"]
    revenue = [1.0, 50.0, 40.0, 0.5, 30.0, 2.0, 20.0]
    ids = [f"c{i}" for i in range(len(tenure))]
    features = pd.DataFrame(
        {"tenure_months": tenure, "contract": contract}, index=pd.Index(ids, dtype="str")
    ).astype({"contract": "str"})
    results = pd.DataFrame(
        {
            "customer_id": ids,
            "churn_risk": ["LOW", "HIGH", "HIGH", "LOW", "HIGH", "LOW", "MEDIUM"],
            "revenue_at_risk": revenue,
        }
    )
    tables = segments.by_segment(results, segments.segment_labels(features))
    bands = segments.TENURE_BANDS[1]
    assert tables["Months as a customer"]["segment"].tolist() == [
        bands[0],
        bands[1],
        bands[2],
        bands[3],
        bands[4],
        "unknown",
    ]
    by_contract = tables["Contract"]
    assert by_contract["revenue"].tolist() == sorted(by_contract["revenue"], reverse=True)
    assert by_contract["customers"].sum() == len(ids)
