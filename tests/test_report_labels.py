"""Plain words on the report, and the sections that compare runs: unit tests without a browser."""

from __future__ import annotations

import pandas as pd
import pytest

from retainwise.reports import detail, labels, sections
from retainwise.reports.data import ReportData


def test_labels_dates_files_and_points():
    assert labels.fact("tenure_months", 4.0) == "Months as a customer: 4"
    assert labels.fact("internet_service", "fiber_optic") == "Internet: fibre optic"
    assert labels.fact("paperless_billing", 1.0) == "Paperless billing: yes"
    assert labels.when("2026-11-27T09:59:41+00:00") == "27 Nov 2026, 09:59"
    assert labels.file_name("uploads/acme/0123456789ab-my customers.csv") == "my customers.csv"
    assert labels.file_name("uploads/acme/plain.csv") == "plain.csv"
    assert labels.points(0.12) == "+12 pts" and labels.points(-0.031) == "-3 pts"
    assert labels.join(["a"]) == "a" and labels.join(["a", "b", "c"]) == "a, b and c"


def test_factor_points_follow_the_impact():
    assert detail.factor_points(0.5, 1.0) > 0.2  # a strong push towards leaving
    assert detail.factor_points(0.5, -1.0) < -0.2
    assert abs(detail.factor_points(0.9, 0.0)) < 1e-9


def _data(high_ids, revenue, previous=None, history=True):
    results = pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "churn_risk": ["HIGH" if c in high_ids else "LOW" for c in "abc"]}
    )
    summary = {"rows_scored": 3, "risk_counts": {"HIGH": len(high_ids)}, "revenue_at_risk": revenue}
    return ReportData("acme", "r2", summary, results, previous=previous, history_known=history)


def test_since_last_time_names_customers_newly_at_high_risk():
    before = _data({"a"}, 100.0)
    now = _data(
        {"a", "c"},
        150.0,
        previous={
            "summary": before.summary,
            "results": before.results,
            "when": "1 Nov 2026, 10:00",
            "upload": "october.csv",
        },
    )
    html = sections.since(now)
    assert "october.csv" in html and "up 33.3 points" in html and "up $50" in html
    assert "1 customer newly at high risk: c." in html


def test_since_last_time_is_left_out_without_history():
    assert sections.since(_data({"a"}, 1.0, history=False)) == ""
    assert "first report" in sections.since(_data({"a"}, 1.0))


def test_a_large_run_is_read_from_its_top_customers():
    from retainwise.reports.data import MAX_ROWS, results_name

    assert results_name({"results.csv", "results_top.csv"}, MAX_ROWS + 1) == "results_top.csv"
    assert results_name({"results.csv", "results_top.csv"}, 400) == "results.csv"
    assert results_name({"results.csv"}, MAX_ROWS + 1) == "results.csv"  # runs from before results_top.csv


def _health(model: dict, realised: dict | None = None, rows: int = 4000) -> str:
    summary = {
        "rows_scored": rows,
        "risk_counts": {},
        "model": model,
        "drift": {"tenure_months": {"psi": 1.4, "level": "major"}},
        **({"realised": realised} if realised else {}),
    }
    return sections.health(ReportData("acme", "r1", summary, pd.DataFrame({"customer_id": ["a"]})))


def test_health_says_how_far_to_trust_an_out_of_domain_run_and_promises_nothing():
    model = {
        "confidence": "low",
        "reason": "Your file looks like a software-subscription business.",
        "domain": {"in_domain": False},
    }
    realised = {
        "n": 4000,
        "roc_auc": 0.79,
        "brier": 0.1,
        "compared": {"model_roc_auc": 0.52, "rules_roc_auc": 0.79, "rules_n": 4000, "better": "rules"},
    }
    html = _health(model, realised)
    assert "Confidence: low." in html and "software-subscription" in html
    assert "promised" not in html and "should hold" not in html
    assert (
        "the SaaS rules ranked a leaver above a stayer 79% of the time and our telco-trained model 52%"
        in html
    )
    assert "the SaaS rules ranked better" in html


def test_health_of_an_in_domain_run_compares_outcomes_with_the_promise():
    model = {
        "confidence": "high",
        "expected_roc_auc": 0.85,
        "reason": "Your customers look like ours.",
        "domain": {"in_domain": True},
    }
    html = _health(model, {"n": 800, "roc_auc": 0.70, "brier": 0.2})
    assert "Confidence: high." in html and "the model promised 85%" in html and "clearly below" in html
    small = _health(model, rows=50)
    assert "too noisy to judge" in small and "very different" not in small.split("<details")[0]


def test_what_if_on_a_rules_served_customer_moves_by_the_rules_own_difference():
    from retainwise.reports import whatif
    from retainwise.science import rules

    row = pd.DataFrame(
        {"customer_id": ["a"], "contract": ["monthly"], "feature_usage_score": [20.0], "tenure_months": [3.0]}
    )
    served = 0.71  # what the run served (its usage scale may differ from this one row's)
    after = whatif.rescore(row, "contract", "two_year", group="rules", before=served)
    annual = row.assign(contract="two_year")
    assert after == pytest.approx(served + float(rules.score(annual).iloc[0] - rules.score(row).iloc[0]))
    assert after < served
    assert whatif.rescore(row, "contract", "two_year") != pytest.approx(
        after
    )  # the model's own answer differs
