import numpy as np
import pandas as pd

from retainwise.science import scoring


def test_tier_boundaries_are_inclusive_at_the_lower_edge():
    p = np.array([0.0, 0.2999, 0.30, 0.5999, 0.60, 1.0])
    assert list(scoring.risk_tier(p)) == ["LOW", "LOW", "MEDIUM", "MEDIUM", "HIGH", "HIGH"]


def test_risk_counts_always_name_every_tier():
    assert scoring.risk_counts(pd.Series(["HIGH", "HIGH"])) == {"HIGH": 2, "MEDIUM": 0, "LOW": 0}


def test_score_rows_uses_the_model_chosen_for_the_columns():
    from retainwise.science.model import load_model
    from retainwise.science.training import load_training_rows

    rows, _ = load_training_rows()
    rows = rows.head(200)[["customer_id", "tenure_months", "monthly_charges", "total_charges", "contract"]]
    models = load_model()
    core = models.models["core"]
    scored = scoring.score_rows(rows, models)
    np.testing.assert_allclose(scored["churn_probability"], core.predict_proba(rows))
    assert (scored["predicted_churn"] == (scored["churn_probability"] >= core.threshold)).all()


def test_summary_names_the_feature_set_and_lowers_confidence(tmp_path):
    import json

    from retainwise.science.pipeline import Pipeline

    from .conftest import TRAINING

    data = pd.read_csv(TRAINING, dtype=str, keep_default_na=False).drop(columns=["Churn"]).head(300)
    models = {}
    for name, cols in {
        "full": list(data.columns),
        "core": ["customerID", "tenure", "MonthlyCharges", "TotalCharges", "Contract"],
    }.items():
        path = tmp_path / f"{name}.csv"
        data[cols].to_csv(path, index=False)
        Pipeline(path, tmp_path / name, tenant="acme").run_all()
        models[name] = json.loads((tmp_path / name / "summary.json").read_text())["model"]
    assert models["full"]["feature_set"] == "full" and models["full"]["confidence"] == "high"
    assert models["core"]["feature_set"] == "core" and models["core"]["confidence"] != "high"
    assert models["core"]["expected_roc_auc"] < models["full"]["expected_roc_auc"]
    assert "payment_method" in models["core"]["missing_features"] and models["full"]["missing_features"] == []
