"""SHAP values computed ahead in the background (science/ahead.py) are the foreground's numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from retainwise.science import explain
from retainwise.science.ahead import Ahead
from retainwise.science.model import load_model
from retainwise.science.streaming import Spill
from retainwise.science.training.data import load_training_rows


def test_background_values_equal_the_foreground_chunk_by_chunk():
    rows, _ = load_training_rows()
    rows = rows.drop(columns=["churned"]).head(900)
    models = load_model()
    full, core = models.models["full"], models.models["core"]
    spill = Spill()
    ahead = Ahead(full, workers=2)
    try:
        for start in range(0, len(rows), 300):
            spill.put(rows.iloc[start : start + 300])
            ahead.submit(spill.paths[-1])
        for i, chunk in enumerate(spill.chunks()):
            got, want = ahead.result(i, full, chunk), explain.explain_rows(chunk, full)
            pd.testing.assert_frame_equal(got.values, want.values, check_exact=True)
            np.testing.assert_array_equal(got.base, want.base)
        # the whole file chose another model than the first chunk suggested: computed now, for that model
        other = ahead.result(0, core, next(spill.chunks()))
        assert list(other.values.columns) != list(want.values.columns)
    finally:
        ahead.close()
        spill.close()


def test_a_failed_stage_stops_the_background_work_and_a_retry_still_explains(tmp_path, monkeypatch):
    from retainwise.errors import ConfigError
    from retainwise.resources import SAMPLE_UPLOAD
    from retainwise.science import experiment
    from retainwise.science.pipeline import Pipeline

    run = Pipeline(SAMPLE_UPLOAD, tmp_path / "out", chunk_rows=100)
    run.read(), run.map_columns(), run.validate()
    ahead = run._ahead
    assert ahead is not None and len(ahead._futures) >= 4  # one per parked chunk

    def refuse(*args, **kwargs):
        raise ConfigError("no such share")

    with monkeypatch.context() as m:
        m.setattr(experiment, "assign", refuse)
        try:
            run.predict()
        except ConfigError:
            pass
    assert run._ahead is None and ahead._pool._shutdown
    run.predict()
    assert len(run.explain()) == 400 and (tmp_path / "out" / "results.csv").is_file()
