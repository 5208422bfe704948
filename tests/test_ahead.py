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
            spill.put(rows.iloc[start:start + 300])
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
