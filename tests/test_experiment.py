import json

import numpy as np
import pandas as pd
import pytest

from retainwise.errors import ConfigError
from retainwise.science import experiment
from retainwise.science.pipeline import Pipeline

from .conftest import TRAINING

IDS = [f"C{i:05d}" for i in range(10_000)]


def test_default_sends_everyone_to_the_model():
    assert set(experiment.assign("acme", IDS)) == {"ml"}


def test_assignment_is_deterministic_and_close_to_the_share():
    first = experiment.assign("acme", IDS, 0.3)
    again = experiment.assign("acme", list(reversed(IDS)), 0.3)[::-1]
    assert (first == again).all()
    assert 0.28 < np.mean(first == "rules") < 0.32


def test_growing_the_share_only_moves_customers_into_rules():
    small, large = experiment.assign("acme", IDS, 0.1), experiment.assign("acme", IDS, 0.4)
    assert ((small == "rules") <= (large == "rules")).all()


def test_tenants_are_assigned_independently():
    a, b = experiment.assign("acme", IDS, 0.5), experiment.assign("globex", IDS, 0.5)
    assert 0.4 < np.mean(a == b) < 0.6


@pytest.mark.parametrize("share", [-0.1, 1.5, float("nan")])
def test_share_outside_zero_to_one_is_a_config_error(share):
    with pytest.raises(ConfigError, match="rules_share"):
        experiment.assign("acme", IDS[:3], share)


def _ml(p):
    return pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(len(p))],
            "churn_probability": p,
            "churn_risk": "LOW",
            "predicted_churn": 0,
        }
    )


def test_route_serves_each_group_its_own_score():
    ml = _ml([0.9, 0.2, 0.5, 0.7])
    rules_p = pd.Series([0.3, 0.35, np.nan, 0.1])
    served = experiment.route(ml, rules_p, np.array(["ml", "rules", "rules", "ml"]), ml_threshold=0.5)
    assert list(served["experiment_group"]) == ["ml", "rules", "ml", "ml"]  # rules cannot score row 2
    assert list(served["churn_probability"]) == [0.9, 0.35, 0.5, 0.7]
    assert list(served["churn_risk"]) == ["HIGH", "MEDIUM", "MEDIUM", "HIGH"]
    assert list(served["predicted_churn"]) == [1, 0, 1, 1]
    counts = experiment.summary(served, 0.5)
    assert counts["groups"] == {"ml": 3, "rules": 1} and counts["rules_scored"] == 3


def test_strong_disagreement_is_flagged_by_rank():
    ml = pd.Series([0.05, 0.10, 0.20, 0.30, 0.40, 0.50, 0.60, 0.70, 0.80, 0.90])
    rules_p = pd.Series(
        [0.15, 0.20, 0.30, 0.40, 0.50, 0.60, 0.70, 0.80, 0.95, 0.10]
    )  # last one: top vs bottom
    flags = experiment.disagreement(ml, rules_p)
    assert list(flags) == [0] * 9 + [1]
    served = experiment.route(_ml(ml.tolist()), rules_p, np.full(10, "ml"), ml_threshold=0.5)
    assert experiment.summary(served, 0.0)["disagreements"] == 1


def test_no_flags_without_a_rules_opinion():
    ml = pd.Series([0.1, 0.5, 0.9])
    assert experiment.disagreement(ml, pd.Series([0.8, 0.8, 0.8])).sum() == 0
    assert experiment.disagreement(ml, pd.Series([np.nan, np.nan, 0.2])).sum() == 0


@pytest.fixture(scope="module")
def ab_run(tmp_path_factory):
    """An in-process pipeline run on a SaaS-flavoured file with half the customers routed to the rules."""
    tmp = tmp_path_factory.mktemp("ab")
    data = pd.read_csv(TRAINING, dtype=str, keep_default_na=False).drop(columns=["Churn"]).head(400)
    rng = np.random.default_rng(0)
    data["last_activity_days_ago"] = rng.integers(0, 90, len(data))
    data["support_tickets"] = rng.integers(0, 12, len(data))
    path = tmp / "saas.csv"
    data.to_csv(path, index=False)
    run = Pipeline(path, tmp / "out", tenant="acme")
    run.read()
    run.map_columns()
    run.validate()
    run.predict(rules_share=0.5)
    run.explain()
    run.write_outputs()
    return run, tmp / "out"


def test_pipeline_records_the_group_of_every_customer(ab_run):
    run, out = ab_run
    results = pd.read_csv(out / "results.csv", dtype={"customer_id": "str"})
    groups = dict(zip(results["customer_id"], results["experiment_group"], strict=True))
    expected = experiment.assign("acme", list(groups), 0.5)
    assert [groups[c] for c in groups] == list(expected)
    rules_rows = results[results["experiment_group"] == "rules"]
    assert 150 < len(rules_rows) < 250
    np.testing.assert_allclose(rules_rows["churn_probability"], rules_rows["rules_probability"], atol=1e-5)
    ml_rows = results[results["experiment_group"] == "ml"]
    np.testing.assert_allclose(ml_rows["churn_probability"], ml_rows["ml_probability"], atol=1e-5)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["experiment"]["groups"] == {"ml": len(ml_rows), "rules": len(rules_rows)}
    assert summary["experiment"]["disagreements"] == int(results["scores_disagree"].sum())


def test_rules_served_customers_are_explained_by_the_rules(ab_run):
    _, out = ab_run
    results = pd.read_csv(out / "results.csv", dtype={"customer_id": "str"})
    rules_features = {
        "contract",
        "tenure_months",
        "last_activity_days_ago",
        "support_tickets",
        "feature_usage_score",
        "seats_used",
    }
    for _, row in results[results["experiment_group"] == "rules"].iterrows():
        named = {f["feature"] for col in ("risk_factors", "protective_factors") for f in json.loads(row[col])}
        assert named <= rules_features


def test_realised_metrics_are_read_out_per_arm(tmp_path):
    data = pd.read_csv(TRAINING, dtype=str, keep_default_na=False).head(600)
    path = tmp_path / "labelled.csv"
    data.to_csv(path, index=False)
    run = Pipeline(path, tmp_path / "out", tenant="acme")
    run.read()
    run.map_columns()
    run.validate()
    run.predict(rules_share=0.5)
    run.explain()
    realised = run.summary()["realised"]
    arms = realised["by_group"]
    assert arms["ml"]["n"] + arms["rules"]["n"] == realised["n"] == 600
    assert arms["ml"]["roc_auc"] > arms["rules"]["roc_auc"]  # the model beats the rules on Telco


def test_a_file_the_model_cannot_read_is_served_by_the_rules(tmp_path):
    saas = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "seats_used": [1, 10, 3, 2],
            "feature_usage_score": [10, 90, 50, 20],
            "last_activity_days_ago": [40, 1, 10, 60],
        }
    )
    path = tmp_path / "saas.csv"
    saas.to_csv(path, index=False)
    run = Pipeline(path, tmp_path / "out", tenant="acme")
    run.run_all()
    summary = run.summary()
    assert summary["model"]["confidence"] == "low" and summary["experiment"]["fallback_to_rules"]
    assert set(run.results["experiment_group"]) == {"rules"}
    ranked = list(run.results.sort_values("churn_probability", ascending=False, kind="stable")["customer_id"])
    assert ranked[0] == "a" and ranked[-1] == "b"  # inactive, low usage first; engaged last
