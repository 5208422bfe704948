import numpy as np
import pandas as pd
import pytest

from retainwise.science import rules


def saas(**cols):
    n = len(next(iter(cols.values())))
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], **cols})


def test_weights_are_the_original_systems_plus_billing():
    original = {"contract": 0.40, "usage": 0.30, "engagement": 0.20, "tenure": 0.10}
    assert {k: v for k, v in rules.WEIGHTS.items() if k != "billing"} == original
    assert sum(original.values()) == pytest.approx(1.0) and rules.WEIGHTS["billing"] == 0.15


def test_a_file_with_only_the_original_columns_scores_as_the_original_four_rules():
    rng = np.random.default_rng(1)
    rows = saas(
        contract=rng.choice(["monthly", "annual", "two_year"], 40).tolist(),
        feature_usage_score=rng.uniform(0, 100, 40),
        seats_used=rng.integers(0, 40, 40).astype(float),
        last_activity_days_ago=rng.uniform(0, 90, 40),
        support_tickets=rng.integers(0, 15, 40).astype(float),
        tenure_months=rng.uniform(0, 60, 40),
    )
    risk = pd.DataFrame(
        {
            "contract": rows["contract"].map(rules.CONTRACT_RISK),
            "usage": ((1 - rows["feature_usage_score"] / 100) + 1 / (1 + rows["seats_used"] / 5)) / 2,
            "engagement": (
                (rows["last_activity_days_ago"] / 30).clip(0, 1) + (rows["support_tickets"] / 10).clip(0, 1)
            )
            / 2,
            "tenure": (1 - rows["tenure_months"] / 24).clip(0, 1),
        }
    )
    original = 0.4 * risk["contract"] + 0.3 * risk["usage"] + 0.2 * risk["engagement"] + 0.1 * risk["tenure"]
    np.testing.assert_allclose(rules.score(rows), original, atol=1e-12)


def test_seat_utilisation_logins_per_seat_integrations_nps_and_failed_payments():
    rows = saas(
        seats_purchased=[20.0],
        seats_used=[5.0],
        logins_30d=[40.0],
        integrations=[2.0],
        nps=[3.0],
        failed_payments=[1.0],
    )
    risk = rules.column_risks(rows).iloc[0]
    assert risk["seats_used"] == pytest.approx(0.75)  # 5 of 20 seats in use
    assert np.isnan(risk["seats_purchased"])  # the utilisation speaks for both seat columns
    assert risk["logins_30d"] == pytest.approx(1 / (1 + 8 / 4))  # 8 logins per active seat
    assert risk["integrations"] == pytest.approx(0.5)
    assert risk["nps"] == pytest.approx(0.7)  # 3 on a 0-10 survey
    assert risk["failed_payments"] == pytest.approx(0.5)
    usage = (0.75 + 1 / 3 + 0.5) / 3
    expected = (0.3 * usage + 0.2 * 0.7 + 0.15 * 0.5) / (0.3 + 0.2 + 0.15)
    assert rules.score(rows).iloc[0] == pytest.approx(expected)


def test_seats_alone_read_as_account_size_and_no_active_seats_as_no_logins():
    bought = saas(seats_purchased=[5.0, 45.0])
    assert list(rules.column_risks(bought)["seats_purchased"]) == pytest.approx([0.5, 0.1])
    idle = saas(seats_used=[0.0], logins_30d=[0.0])
    assert rules.column_risks(idle)["logins_30d"].iloc[0] == 1.0
    no_seats = saas(logins_30d=[20.0])
    assert rules.column_risks(no_seats)["logins_30d"].iloc[0] == pytest.approx(0.5)


def test_nps_scale_is_read_from_the_whole_file():
    survey = saas(nps=[9.0, 2.0])
    net = saas(nps=[80.0, -60.0])
    assert list(rules.column_risks(survey)["nps"]) == pytest.approx([0.1, 0.8])
    assert list(rules.column_risks(net)["nps"]) == pytest.approx([0.1, 0.8])
    finder = rules.ScaleFinder()
    finder.add(saas(nps=[5.0]))
    finder.add(saas(nps=[-20.0]))  # a later chunk shows the net-score scale: the whole file is on it
    assert finder.scales().nps == 100.0
    assert rules.column_risks(saas(nps=[5.0]), finder.scales())["nps"].iloc[0] == pytest.approx(0.475)


def test_full_saas_row_is_the_weighted_sum_of_component_risks():
    rows = saas(
        contract=["annual"],
        feature_usage_score=[40.0],
        seats_used=[5.0],
        last_activity_days_ago=[15.0],
        support_tickets=[2.0],
        tenure_months=[12.0],
    )
    contract = 0.4
    usage = ((1 - 0.40) + 1 / (1 + 5 / 5)) / 2
    engagement = (15 / 30 + 2 / 10) / 2
    tenure = 1 - 12 / 24
    expected = 0.4 * contract + 0.3 * usage + 0.2 * engagement + 0.1 * tenure
    assert rules.score(rows).iloc[0] == pytest.approx(expected)


def test_missing_components_renormalise_the_weights():
    only_contract = saas(contract=["monthly", "two_year"])
    assert list(rules.score(only_contract)) == pytest.approx([1.0, 0.1])
    contract_and_tenure = saas(contract=["monthly"], tenure_months=[0.0])
    assert rules.score(contract_and_tenure).iloc[0] == pytest.approx(1.0)
    two = saas(contract=["two_year"], tenure_months=[48.0])
    assert rules.score(two).iloc[0] == pytest.approx((0.4 * 0.1 + 0.1 * 0.0) / 0.5)


def test_a_missing_value_in_one_row_only_affects_that_row():
    rows = saas(contract=["monthly", None], last_activity_days_ago=[60.0, 60.0])
    s = rules.score(rows)
    assert s.iloc[0] == pytest.approx(1.0) and s.iloc[1] == pytest.approx(1.0)
    rows = saas(contract=["two_year", None], last_activity_days_ago=[0.0, 0.0])
    assert list(rules.score(rows)) == pytest.approx([(0.4 * 0.1) / 0.6, 0.0])


def test_usage_score_scale_is_read_from_the_file():
    hundred = saas(feature_usage_score=[80.0, 20.0])
    unit = saas(feature_usage_score=[0.8, 0.2])
    assert list(rules.score(hundred)) == pytest.approx(list(rules.score(unit)))
    assert list(rules.score(unit)) == pytest.approx([0.2, 0.8])


def test_row_without_any_rules_column_cannot_be_scored():
    rows = pd.DataFrame({"customer_id": ["a", "b"], "monthly_charges": [10.0, 20.0]})
    assert rules.score(rows).isna().all()


def test_score_is_base_plus_column_impacts():
    rng = np.random.default_rng(0)
    rows = saas(
        contract=rng.choice(["monthly", "annual", "two_year"], 50).tolist(),
        feature_usage_score=rng.uniform(0, 100, 50),
        seats_used=rng.integers(0, 40, 50).astype(float),
        last_activity_days_ago=rng.uniform(0, 90, 50),
        support_tickets=rng.integers(0, 15, 50).astype(float),
        tenure_months=rng.uniform(0, 60, 50),
    )
    impacts = rules.contributions(rows)
    np.testing.assert_allclose(rules.BASE + impacts.sum(axis=1), rules.score(rows), atol=1e-12)
    assert rules.score(rows).between(0, 1).all()


def test_riskier_inputs_score_higher():
    low = saas(
        contract=["two_year"], feature_usage_score=[95.0], last_activity_days_ago=[1.0], tenure_months=[40.0]
    )
    high = saas(
        contract=["monthly"], feature_usage_score=[5.0], last_activity_days_ago=[45.0], tenure_months=[2.0]
    )
    assert rules.score(high).iloc[0] > 0.8 > 0.2 > rules.score(low).iloc[0]
