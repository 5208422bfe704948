"""snapshot.parquet: every scored customer as the run saw them, own columns included, in results' order."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from retainwise.science import snapshot
from retainwise.science.pipeline import Pipeline

from .conftest import SAMPLE, TRAINING


def _upload(tmp_path, *, own: int = 2, churned: bool = False) -> tuple:
    """The sample (with churned: 400 training rows) plus own columns, a repeated id and a row without an id."""
    data = pd.read_csv(TRAINING if churned else SAMPLE, dtype=str, keep_default_na=False).head(400)
    data["Account Manager"] = [f"manager {i % 7}" for i in range(len(data))]
    data["Notes"] = ["x" * 300 if i == 3 else f"note {i}" for i in range(len(data))]
    for i in range(own - 2):
        data[f"Extra {i}"] = str(i)
    repeat = data.iloc[[5]].copy()
    repeat["Account Manager"] = "the repeat"
    no_id = data.iloc[[6]].copy()
    no_id[data.columns[0]] = ""
    data = pd.concat([data.iloc[:10], repeat, no_id, data.iloc[10:]], ignore_index=True)
    path = tmp_path / "upload.csv"
    data.to_csv(path, index=False)
    return path, data


def _run(path, out, **kw) -> Pipeline:
    run = Pipeline(path, out, explain_ahead=False, **kw)
    run.run_all()
    return run


def _validated(path, out) -> pd.DataFrame:
    run = Pipeline(path, out, explain_ahead=False)
    run.read()
    run.map_columns()
    run.validate()
    try:
        return run.rows
    finally:
        run.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("snapshot")
    path, data = _upload(tmp)
    whole = _run(path, tmp / "whole")
    chunked = _run(path, tmp / "chunked", chunk_rows=37)
    return data, whole, chunked


def test_every_scored_customer_is_in_the_snapshot_in_results_order(runs):
    data, whole, _ = runs
    snap = pd.read_parquet(whole.output_dir / "snapshot.parquet")
    results = pd.read_parquet(whole.output_dir / "results.parquet")
    assert len(snap) == len(results) == whole.validation.rows_in - whole.validation.rows_rejected
    assert snap["customer_id"].tolist() == results["customer_id"].tolist()
    assert len(snap) > 50_000 // 1000  # all of them, not only the top
    summary = json.loads((whole.output_dir / "summary.json").read_text())
    assert summary["snapshot"]["rows"] == len(snap)
    assert summary["snapshot"]["own_columns"] == ["Account Manager", "Notes"]
    assert summary["snapshot"]["own_columns_dropped"] == []


def test_snapshot_holds_canonical_fields_as_normalised_and_own_columns_as_text(runs):
    data, whole, _ = runs
    snap = pd.read_parquet(whole.output_dir / "snapshot.parquet")
    rows = _validated(whole.input_path, whole.output_dir.parent / "validated")
    for name in rows.columns:
        if name == "customer_id":
            continue
        kind = snapshot._KINDS[name]
        assert snap[name].dtype == ("float64" if kind in ("number", "flag") else "str"), name
        np.testing.assert_array_equal(snap[name].to_numpy(), rows[name].to_numpy())
    assert snap["own:Account Manager"].dtype == "str"
    # the repeated id keeps its first row's own cells, never the repeat's; the row without an id is not there
    first_id = data.iloc[5, 0]
    assert snap.loc[snap["customer_id"] == first_id, "own:Account Manager"].tolist() == ["manager 5"]
    assert "the repeat" not in set(snap["own:Account Manager"])
    assert snap["customer_id"].notna().all()
    notes = snap.set_index("customer_id")["own:Notes"]
    assert notes[data.iloc[3, 0]] == "x" * snapshot.MAX_CELL_CHARS  # cut at 200 characters


def test_a_chunked_run_writes_the_same_snapshot_as_a_whole_one(runs):
    _, whole, chunked = runs
    a = pd.read_parquet(whole.output_dir / "snapshot.parquet")
    b = pd.read_parquet(chunked.output_dir / "snapshot.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert (
        pq.ParquetFile(chunked.output_dir / "snapshot.parquet").metadata.num_row_groups > 1
    )  # written by chunk
    assert (
        b["customer_id"].tolist()
        == pd.read_parquet(chunked.output_dir / "results.parquet")["customer_id"].tolist()
    )


def test_at_most_fifty_own_columns_and_the_rest_are_listed_as_dropped(tmp_path):
    path, _ = _upload(tmp_path, own=53)
    run = _run(path, tmp_path / "out")
    snap = pd.read_parquet(run.output_dir / "snapshot.parquet")
    own = [c for c in snap.columns if c.startswith("own:")]
    assert len(own) == snapshot.MAX_OWN
    dropped = json.loads((run.output_dir / "summary.json").read_text())["snapshot"]["own_columns_dropped"]
    assert dropped == ["Extra 48", "Extra 49", "Extra 50"]


def test_churned_is_in_the_snapshot_when_the_file_has_it(tmp_path):
    path, _ = _upload(tmp_path, churned=True)
    run = _run(path, tmp_path / "out")
    snap = pd.read_parquet(run.output_dir / "snapshot.parquet")
    assert snap["churned"].dtype == "float64" and set(snap["churned"].dropna()) == {0.0, 1.0}


def test_strict_rejections_are_not_in_the_snapshot(tmp_path):
    path, data = _upload(tmp_path)
    data.loc[20, "tenure"] = "-5"
    data.to_csv(path, index=False)
    run = _run(path, tmp_path / "out", quality_level="strict", chunk_rows=16)
    snap = pd.read_parquet(run.output_dir / "snapshot.parquet")
    assert data.iloc[20, 0] not in set(snap["customer_id"])
    assert snap["customer_id"].tolist() == run.results["customer_id"].tolist()


def test_a_failed_validation_leaves_no_snapshot(tmp_path):
    path = tmp_path / "ids_only_blank.csv"
    path.write_text("customer_id,tenure\n,3\n,4\n")
    run = Pipeline(path, tmp_path / "out", explain_ahead=False)
    run.read()
    run.map_columns()
    with pytest.raises(Exception, match="No row can be scored"):
        run.validate()
    assert not list((tmp_path / "out").glob("*snapshot*"))
