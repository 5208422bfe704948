"""Never confidently wrong: the domain verdict, the router and the confidence a run reports (domain.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from retainwise.resources import SAMPLE_UPLOAD
from retainwise.science import domain, drift
from retainwise.science.pipeline import Pipeline

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from saas_simulator import simulate  # noqa: E402

TRAINING = ROOT / "retainwise" / "data" / "telco_churn_train.csv"
EXPORTS = ROOT / "tests" / "data" / "exports"


def _reference(edges=(1.0, 2.0)):
    return {"tenure_months": {"kind": "number", "edges": list(edges), "shares": [0.3, 0.3, 0.4, 0.0]}}


def test_a_file_with_saas_usage_fields_and_no_telco_services_is_another_business():
    saas = domain.assess(frozenset({"tenure_months", "seats_used", "logins_30d"}), {}, {}, {}, rows=10)
    assert not saas.in_domain and saas.saas_fields == ["seats_used", "logins_30d"]
    assert "software-subscription" in saas.reason
    one = domain.assess(frozenset({"tenure_months", "support_tickets"}), {}, {}, {}, rows=10)
    assert one.in_domain  # one usage column is not yet another kind of business
    telco = domain.assess(frozenset({"seats_used", "logins_30d", "internet_service"}), {}, {}, {}, rows=10)
    assert telco.in_domain  # it has the telco's services: the model's kind of customer


def test_drift_counts_only_beyond_what_chance_gives_a_file_of_its_size():
    report = {"tenure_months": {"psi": 0.30}}
    importance = {"tenure_months": 1.0}
    big = domain.assess(frozenset({"tenure_months"}), report, _reference(), importance, rows=10_000)
    assert not big.in_domain and big.drifted_share == 1.0 and "months as a customer" in big.reason
    # 0.30 is what 3 bins give 400 customers by chance ((3 - 1) / 400 = 0.005 only): still far
    assert not domain.assess(
        frozenset({"tenure_months"}), report, _reference(), importance, rows=400
    ).in_domain
    # the same shift over 200 rows and 61 bins is mostly noise
    wide = {"tenure_months": {"kind": "number", "edges": list(range(60)), "shares": [0.0] * 62}}
    assert domain.assess(frozenset({"tenure_months"}), report, wide, importance, rows=200).in_domain
    small = domain.assess(
        frozenset({"tenure_months"}),
        {"tenure_months": {"psi": 3.0}},
        _reference(),
        importance,
        rows=domain.MIN_ROWS - 1,
    )
    assert small.in_domain and small.drifted_share is None  # too few customers to judge


def test_drift_is_weighed_by_what_the_model_relies_on():
    report = {"tenure_months": {"psi": 2.0}, "gender": {"psi": 0.0}}
    ref = {
        **_reference(),
        "gender": {"kind": "levels", "levels": ["female", "male"], "shares": [0.5, 0.5, 0.0]},
    }
    minor = domain.assess(frozenset(report), report, ref, {"tenure_months": 0.2, "gender": 0.8}, rows=5000)
    assert minor.in_domain and minor.drifted_share == pytest.approx(0.2)
    major = domain.assess(frozenset(report), report, ref, {"tenure_months": 0.6, "gender": 0.4}, rows=5000)
    assert not major.in_domain


def test_the_router_needs_a_column_the_rules_read():
    out = domain.Domain(in_domain=False, reason="x")
    assert domain.router_prefers_rules(out, frozenset({"tenure_months"}))
    assert not domain.router_prefers_rules(out, frozenset({"monthly_charges", "gender"}))
    assert not domain.router_prefers_rules(domain.Domain(in_domain=True), frozenset({"tenure_months"}))


def test_compare_names_the_better_ranking():
    assert domain.compare({"roc_auc": 0.6}, {"roc_auc": 0.8, "n": 10})["better"] == "rules"
    assert domain.compare({"roc_auc": 0.8}, {"roc_auc": 0.6, "n": 10})["better"] == "model"
    assert domain.compare({"roc_auc": None}, {"roc_auc": 0.6, "n": 10}) is None


def _run(path: Path, out: Path, **kwargs) -> tuple[pd.DataFrame, dict]:
    Pipeline(path, out, explain_ahead=False, **kwargs).run_all()
    return pd.read_parquet(out / "results.parquet"), json.loads(
        (out / "summary.json").read_text(encoding="utf-8")
    )


@pytest.fixture(scope="module")
def saas_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("saas")
    export, p, churned = simulate(1500, seed=11)
    export.to_csv(tmp / "accounts.csv", index=False)
    results, summary = _run(tmp / "accounts.csv", tmp / "out")
    truth = pd.DataFrame({"customer_id": export["Account ID"], "y": churned})
    return results.merge(truth, on="customer_id", validate="one_to_one"), summary


def test_a_saas_export_is_scored_by_the_rules_with_low_confidence_and_no_promised_auc(saas_run):
    joined, summary = saas_run
    model = summary["model"]
    assert model["confidence"] == "low" and "expected_roc_auc" not in model and model["kind"] == "rules"
    assert "expected_roc_auc_by_set" not in model
    assert not model["domain"]["in_domain"] and "telco" in model["reason"]
    assert summary["experiment"]["fallback_to_rules"] and summary["experiment"]["groups"]["ml"] == 0
    assert (joined["experiment_group"] == "rules").all()
    served = roc_auc_score(joined["y"], joined["churn_probability"])
    model_auc = roc_auc_score(joined["y"], joined["ml_probability"])
    assert served == pytest.approx(roc_auc_score(joined["y"], joined["rules_probability"]))
    assert served > model_auc + 0.1  # the telco model on a software business: near chance


def test_a_saas_export_with_outcomes_measures_both_scores_and_names_the_better(tmp_path):
    export, _, churned = simulate(1500, seed=12)
    export.assign(Churned=np.where(churned == 1, "Yes", "No")).to_csv(tmp_path / "history.csv", index=False)
    _, summary = _run(tmp_path / "history.csv", tmp_path / "out")
    compared = summary["realised"]["compared"]
    assert compared["better"] == "rules" and compared["rules_roc_auc"] > compared["model_roc_auc"]
    assert summary["realised"]["roc_auc"] == compared["rules_roc_auc"]  # the rules served everyone


def _labelled_auc(results: pd.DataFrame, column: str = "churn_probability") -> float:
    train = pd.read_csv(TRAINING, usecols=["customerID", "Churn"])
    y = results["customer_id"].map(dict(zip(train["customerID"], train["Churn"] == "Yes", strict=True)))
    known = y.notna()
    return roc_auc_score(y[known].astype(int), results.loc[known, column])


# ROC AUC of each telco-style file against the training labels, measured on main before the domain
# check and the SaaS fields existed (2026-12-03): they must not move by more than 0.002.
TELCO_BEFORE = {
    "sample": 0.8634,
    "crm_currency": 0.9534,
    "european_semicolon": 0.9168,
    "dirty": 0.9286,
    "salesforce_api": 0.9365,
    "value_evidence": 0.8022,
    "saas_minimal": 0.8962,
}
TELCO_CONFIDENCE = {
    "sample": "high",
    "crm_currency": "high",
    "european_semicolon": "high",
    "dirty": "high",
    "salesforce_api": "medium",
    "value_evidence": "medium",
    "saas_minimal": "medium",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TELCO_BEFORE))
def test_telco_files_keep_their_model_their_accuracy_and_their_confidence(name, tmp_path):
    path = SAMPLE_UPLOAD if name == "sample" else EXPORTS / f"{name}.csv"
    results, summary = _run(path, tmp_path / "out")
    assert summary["model"]["domain"]["in_domain"] and summary["model"]["kind"] == "xgboost"
    assert (results["experiment_group"] == "ml").all()
    assert abs(_labelled_auc(results) - TELCO_BEFORE[name]) <= 0.002
    assert summary["model"]["confidence"] == TELCO_CONFIDENCE[name]
    assert summary["model"]["expected_roc_auc"] > 0.8 and "telco" in summary["model"]["reason"]


@pytest.mark.slow
def test_held_out_training_rows_are_in_domain_with_drift_judged(tmp_path):
    rows = pd.read_csv(TRAINING).sample(800, random_state=7)
    rows.drop(columns="Churn").to_csv(tmp_path / "heldout.csv", index=False)
    results, summary = _run(tmp_path / "heldout.csv", tmp_path / "out")
    verdict = summary["model"]["domain"]
    assert verdict["in_domain"] and verdict["drifted_share"] == 0.0 and verdict["drifted"] == {}
    assert max(d["psi"] for d in summary["drift"].values()) < drift.MAJOR
    assert abs(_labelled_auc(results) - 0.8762) <= 0.002 and summary["model"]["confidence"] == "high"


def test_the_saas_export_fixture_is_mapped_to_saas_fields_and_scored_by_the_rules(tmp_path):
    results, summary = _run(EXPORTS / "saas_accounts.csv", tmp_path / "out")
    model = summary["model"]
    assert model["kind"] == "rules" and model["confidence"] == "low" and "expected_roc_auc" not in model
    assert {"seats_purchased", "seats_used", "logins_30d", "nps", "failed_payments"} <= set(
        model["domain"]["saas_fields"]
    )
    assert "multiple_lines" not in summary["mapping"].values()
    actions = set(results["recommended_action"]) - {""}
    assert actions and not actions & {"Review their plan and price", "Offer a free tech-support trial"}


def test_the_reason_quotes_what_the_file_s_own_outcomes_measured():
    out = domain.Domain(in_domain=False, reason="your file looks like a software-subscription business")
    assert "unknown until you tell us who actually left" in domain.out_of_domain_reason(out, True)
    assert "ranked a leaver above a stayer 81% of the time" in domain.out_of_domain_reason(out, True, 0.81)
