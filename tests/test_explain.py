import json

import numpy as np
import pytest

from retainwise import explain, scoring
from retainwise.model import load_model
from retainwise.training import load_training_rows


@pytest.fixture(scope="module")
def explained():
    rows, _ = load_training_rows()
    rows = rows.head(300).drop(columns=["churned"])
    model = load_model()
    scores = scoring.score_rows(rows, model)
    expl = explain.explain_rows(rows, model)
    factors = explain.factor_columns(rows, expl, scores["churn_probability"].to_numpy(), scores["churn_risk"].to_numpy())
    return rows, model, expl, factors, scores


def test_grouped_values_still_add_up_to_the_margin(explained):
    rows, model, expl, _, _ = explained
    np.testing.assert_allclose(expl.values.sum(axis=1) + expl.base, model.margin(rows), atol=1e-4)


def test_factors_are_ordered_signed_and_at_most_three(explained):
    _, _, _, factors, _ = explained
    for risk_json, protect_json in zip(factors["risk_factors"], factors["protective_factors"], strict=True):
        risks, protects = json.loads(risk_json), json.loads(protect_json)
        assert len(risks) <= 3 and len(protects) <= 3
        assert all(f["impact"] > 0 for f in risks) and all(f["impact"] < 0 for f in protects)
        assert [f["impact"] for f in risks] == sorted((f["impact"] for f in risks), reverse=True)
        assert [f["impact"] for f in protects] == sorted(f["impact"] for f in protects)
        assert all(set(f) == {"feature", "value", "impact"} for f in risks + protects)


def test_top_factor_is_the_largest_grouped_contribution(explained):
    _, _, expl, factors, _ = explained
    i = int(np.argmax(expl.values.max(axis=1).to_numpy()))
    top = json.loads(factors["risk_factors"].iloc[i])[0]
    assert top["feature"] == expl.values.iloc[i].idxmax()


def test_sentence_names_tier_probability_and_top_factor(explained):
    _, _, _, factors, scores = explained
    row = factors.iloc[0]
    top = json.loads(row["risk_factors"])
    sentence = row["explanation"]
    assert sentence.startswith(scores["churn_risk"].iloc[0].capitalize() + " risk (")
    if top:
        from retainwise.schema import column

        assert column(top[0]["feature"]).label in sentence


def test_columns_absent_from_the_upload_are_not_factors():
    rows, _ = load_training_rows()
    rows = rows.head(50)[["customer_id", "tenure_months", "monthly_charges", "contract"]]
    model = load_model()
    scores = scoring.score_rows(rows, model)
    factors = explain.factor_columns(rows, explain.explain_rows(rows, model),
                                     scores["churn_probability"].to_numpy(), scores["churn_risk"].to_numpy())
    named = {f["feature"] for col in ("risk_factors", "protective_factors") for s in factors[col] for f in json.loads(s)}
    assert named and named <= {"tenure_months", "monthly_charges", "contract"}
