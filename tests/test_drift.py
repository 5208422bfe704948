import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, roc_auc_score

from retainwise.science import drift
from retainwise.science.model import load_model
from retainwise.science.pipeline import Pipeline
from retainwise.science.training import load_training_rows

from .conftest import TRAINING


@pytest.fixture(scope="module")
def reference():
    return load_model().card["drift_reference"]


@pytest.fixture(scope="module")
def rows():
    canonical, _ = load_training_rows()
    return canonical


def test_training_data_does_not_drift_from_itself(rows, reference):
    report = drift.psi_report(rows, reference)
    assert set(report) == set(reference)
    assert all(v["psi"] < 0.01 and v["level"] == "stable" for v in report.values())


def test_a_random_half_is_stable(rows, reference):
    report = drift.psi_report(rows.sample(frac=0.5, random_state=0), reference)
    assert max(v["psi"] for v in report.values()) < 0.1


def test_shifted_customers_show_major_drift_on_the_shifted_columns(rows, reference):
    shifted = rows.copy()
    shifted["tenure_months"] = shifted["tenure_months"] + 36
    shifted["contract"] = "monthly"
    report = drift.psi_report(shifted, reference)
    assert report["tenure_months"]["level"] == "major" and report["contract"]["level"] == "major"
    assert report["gender" if "gender" in report else "partner"]["level"] == "stable"
    assert list(report)[:2] == sorted(["tenure_months", "contract"], key=lambda f: -report[f]["psi"])


def test_values_going_missing_is_drift(rows, reference):
    holes = rows.copy()
    holes.loc[holes.index[: len(holes) // 2], "monthly_charges"] = np.nan
    assert drift.psi_report(holes, reference)["monthly_charges"]["level"] == "major"


def test_absent_columns_are_not_reported(rows, reference):
    report = drift.psi_report(rows[["customer_id", "tenure_months", "contract"]], reference)
    assert set(report) == {"tenure_months", "contract"}


def test_psi_formula():
    assert drift.psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    expected = (0.7 - 0.5) * np.log(0.7 / 0.5) + (0.3 - 0.5) * np.log(0.3 / 0.5)
    assert drift.psi([0.5, 0.5], [0.7, 0.3]) == pytest.approx(expected)


def test_realised_metrics_match_sklearn():
    y = np.array([0, 1, 1, 0, 1, np.nan])
    p = np.array([0.1, 0.8, 0.4, 0.3, 0.9, 0.5])
    got = drift.realised(y, p)
    assert got["n"] == 5
    assert got["roc_auc"] == pytest.approx(roc_auc_score(y[:5], p[:5]), abs=1e-4)
    assert got["brier"] == pytest.approx(brier_score_loss(y[:5], p[:5]), abs=1e-4)
    assert got["accuracy"] == pytest.approx(0.8)
    assert drift.realised([np.nan, np.nan], [0.2, 0.4]) is None
    assert drift.realised([1, 1], [0.2, 0.4])["roc_auc"] is None


def _run(tmp, frame):
    path = tmp / "upload.csv"
    frame.to_csv(path, index=False)
    run = Pipeline(path, tmp / "out", tenant="acme")
    run.run_all()
    return json.loads((tmp / "out" / "summary.json").read_text())


def test_summary_reports_realised_metrics_when_the_upload_has_outcomes(tmp_path):
    data = pd.read_csv(TRAINING, dtype=str, keep_default_na=False).head(500)
    summary = _run(tmp_path, data)
    realised = summary["realised"]
    assert realised["n"] == 500 and realised["roc_auc"] > 0.8 and realised["brier"] < 0.16
    results = pd.read_csv(tmp_path / "out" / "results.csv", dtype={"customer_id": "str"})
    truth = data.set_index("customerID").loc[results["customer_id"], "Churn"].eq("Yes").astype(int)
    assert realised["roc_auc"] == pytest.approx(roc_auc_score(truth, results["churn_probability"]), abs=1e-3)
    assert set(summary["drift"]) >= {"tenure_months", "contract", "monthly_charges"}


def test_summary_reports_drift_but_no_realised_metrics_without_outcomes(tmp_path):
    data = pd.read_csv(TRAINING, dtype=str, keep_default_na=False).drop(columns=["Churn"]).head(300)
    data["tenure"] = (pd.to_numeric(data["tenure"]) + 40).astype(str)
    summary = _run(tmp_path, data)
    assert "realised" not in summary
    assert summary["drift"]["tenure_months"]["level"] == "major"
    assert all(set(v) == {"psi", "level"} for v in summary["drift"].values())


def test_bin_counts_tally_levels_flags_and_missing(reference):
    """Counts per level (flags: 1 at 0.5 and above, 0 below), the last bin missing; unknown levels in no bin."""
    import numpy as np
    import pandas as pd

    from retainwise.science.drift import bin_counts

    flag = pd.Series([1.0, 0.0, 0.5, 0.49, np.nan, 1.0, None])
    assert bin_counts(flag, "partner", reference["partner"]).tolist() == [
        2 if lvl == "0" else 3 for lvl in reference["partner"]["levels"]
    ] + [2]
    levels = reference["contract"]["levels"]
    contract = pd.Series([levels[0], levels[0], levels[-1], None, "weekly"], dtype="str")
    expected = [2 if lvl == levels[0] else 1 if lvl == levels[-1] else 0 for lvl in levels] + [1]
    assert bin_counts(contract, "contract", reference["contract"]).tolist() == expected
