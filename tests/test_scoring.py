import numpy as np
import pandas as pd

from retainwise import scoring


def test_tier_boundaries_are_inclusive_at_the_lower_edge():
    p = np.array([0.0, 0.2999, 0.30, 0.5999, 0.60, 1.0])
    assert list(scoring.risk_tier(p)) == ["LOW", "LOW", "MEDIUM", "MEDIUM", "HIGH", "HIGH"]


def test_risk_counts_always_name_every_tier():
    assert scoring.risk_counts(pd.Series(["HIGH", "HIGH"])) == {"HIGH": 2, "MEDIUM": 0, "LOW": 0}
