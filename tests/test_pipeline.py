"""science.pipeline: stages called out of order (a notebook's cells run in another order) say which to run."""

from __future__ import annotations

import pytest

from retainwise.errors import InternalError
from retainwise.resources import SAMPLE_UPLOAD
from retainwise.science.pipeline import Pipeline


@pytest.fixture
def run(tmp_path):
    return Pipeline(SAMPLE_UPLOAD, tmp_path / "out", tenant="acme", explain_ahead=False)


def _refused(call, step: str) -> None:
    with pytest.raises(InternalError) as info:
        call()
    assert info.value.code == "step_out_of_order" and f"Pipeline.{step}()" in info.value.message
    assert not info.value.transient


def test_every_stage_before_its_predecessor_names_the_one_to_run_first(run):
    _refused(run.map_columns, "read")
    _refused(run.validate, "map_columns")
    _refused(lambda: run.rows, "validate")
    _refused(run.predict, "validate")
    _refused(run.explain, "predict")
    _refused(run.model_summary, "predict")
    _refused(run.histogram, "predict")
    _refused(run.write_outputs, "explain")
    _refused(run.summary, "explain")
    _refused(run.global_drivers, "explain")
    _refused(run.top_at_risk, "explain")
    _refused(run.revenue_at_risk, "explain")


def test_a_stage_run_too_early_leaves_the_run_usable_in_order(run):
    run.read()
    _refused(run.predict, "validate")  # skipping a stage: still the clear error, nothing half-done
    run.map_columns()
    run.validate()
    _refused(run.explain, "predict")
    run.predict()
    run.explain()
    paths = run.write_outputs()
    assert paths["summary.json"].is_file() and run.summary()["rows_scored"] == len(run.scores)


def test_everything_a_stage_finds_is_declared_when_the_run_is_made(run):
    found = {
        "upload",
        "mapping",
        "validation",
        "snapshot",
        "present",
        "scales",
        "scores",
        "model",
        "models",
        "choice",
        "drift",
        "domain",
        "experiment",
        "realised",
        "confidence",
        "top",
        "driver_names",
        "_tables",
        "_top_rows",
        "_mean_abs",
        "_revenue",
    }
    assert found <= set(vars(run))
    before = set(vars(run))
    run.run_all()
    assert set(vars(run)) == before  # no stage adds an attribute __init__ did not declare
