import numpy as np
import pandas as pd
import pytest

from retainwise.science import rules


def saas(**cols):
    n = len(next(iter(cols.values())))
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], **cols})


def test_weights_are_the_original_systems():
    assert rules.WEIGHTS == {"contract": 0.40, "usage": 0.30, "engagement": 0.20, "tenure": 0.10}
    assert sum(rules.WEIGHTS.values()) == pytest.approx(1.0)


def test_full_saas_row_is_the_weighted_sum_of_component_risks():
    rows = saas(contract=["annual"], feature_usage_score=[40.0], seats_used=[5.0], last_activity_days_ago=[15.0],
                support_tickets=[2.0], tenure_months=[12.0])
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
    rows = saas(contract=rng.choice(["monthly", "annual", "two_year"], 50).tolist(),
                feature_usage_score=rng.uniform(0, 100, 50), seats_used=rng.integers(0, 40, 50).astype(float),
                last_activity_days_ago=rng.uniform(0, 90, 50), support_tickets=rng.integers(0, 15, 50).astype(float),
                tenure_months=rng.uniform(0, 60, 50))
    impacts = rules.contributions(rows)
    np.testing.assert_allclose(rules.BASE + impacts.sum(axis=1), rules.score(rows), atol=1e-12)
    assert rules.score(rows).between(0, 1).all()


def test_riskier_inputs_score_higher():
    low = saas(contract=["two_year"], feature_usage_score=[95.0], last_activity_days_ago=[1.0], tenure_months=[40.0])
    high = saas(contract=["monthly"], feature_usage_score=[5.0], last_activity_days_ago=[45.0], tenure_months=[2.0])
    assert rules.score(high).iloc[0] > 0.8 > 0.2 > rules.score(low).iloc[0]
