import json

import numpy as np
import pytest

from retainwise.science import explain, scoring
from retainwise.science.model import load_model
from retainwise.science.training import load_training_rows


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
    np.testing.assert_allclose(expl.values.sum(axis=1) + expl.base, model.margin(rows), atol=1e-4, rtol=0)


@pytest.mark.parametrize("columns", [None, ["customer_id", "tenure_months", "monthly_charges", "total_charges",
                                            "contract"], ["customer_id", "contract", "internet_service"]])
def test_every_row_adds_up_to_the_margin_whatever_columns_the_file_has(columns):
    """Done when 3: contributions + base value == margin within 1e-4, every training row, every model."""
    rows, _ = load_training_rows()
    rows = rows.drop(columns=["churned"]) if columns is None else rows[columns]
    model = load_model().for_rows(rows)
    expl = explain.explain_rows(rows, model)
    assert len(expl.values) == len(rows)
    np.testing.assert_allclose(expl.values.sum(axis=1) + expl.base, model.margin(rows), atol=1e-4, rtol=0)
    p = 1 / (1 + np.exp(-(expl.values.sum(axis=1) + expl.base)))
    np.testing.assert_allclose(p, scoring.score_rows(rows, model)["churn_probability"], atol=1e-5)


def test_matches_shap_tree_explainer(explained):
    shap = pytest.importorskip("shap")
    rows, model, expl, _, _ = explained
    chosen = model.for_rows(rows)
    import xgboost as xgb

    from retainwise.science.features import feature_frame

    x = xgb.DMatrix(feature_frame(rows.head(50), chosen.features), enable_categorical=True)
    reference = shap.TreeExplainer(chosen.booster).shap_values(x)
    a, _ = chosen._platt
    np.testing.assert_allclose(expl.values.head(50)[chosen.features].to_numpy(), a * reference, atol=1e-4)


def test_grouping_sums_model_features_into_their_business_feature(explained, monkeypatch):
    rows, model, expl, _, _ = explained
    from retainwise.science import features

    grouped = dict(features.BUSINESS_FEATURE, total_charges="monthly_charges")
    monkeypatch.setattr(explain, "BUSINESS_FEATURE", grouped)
    merged = explain.explain_rows(rows, model)
    assert "total_charges" not in merged.values.columns
    np.testing.assert_allclose(merged.values["monthly_charges"],
                               expl.values["monthly_charges"] + expl.values["total_charges"], atol=1e-6)
    np.testing.assert_allclose(merged.values.sum(axis=1) + merged.base, model.margin(rows), atol=1e-4, rtol=0)


def test_rules_explanations_add_up_to_the_rules_score():
    from retainwise.science import rules

    rows, _ = load_training_rows()
    rows = rows.head(200)
    expl = explain.rules_explanations(rows)
    np.testing.assert_allclose(expl.values.sum(axis=1) + expl.base, rules.score(rows), atol=1e-12)


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
        from retainwise.science.schema import column

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


# -- the vectorised factor lists give the text the per-customer loop gave -----------------------------------
def _reference_factor_columns(rows, expl, probabilities, tiers):
    """The per-customer loop factor_columns replaced, kept verbatim as the reference."""
    import pandas as pd

    present = [f for f in expl.values.columns if f in rows.columns]
    values = expl.values[present].to_numpy()
    order = np.argsort(-values, axis=1)
    raw = rows[present].to_numpy(dtype=object)
    risk_json, protect_json, sentences = [], [], []
    for i in range(len(values)):
        risks, protects = [], []
        for j in order[i]:
            if values[i, j] <= 0 or len(risks) == 3:
                break
            risks.append((present[j], explain._display_value(present[j], raw[i, j]), values[i, j]))
        for j in order[i][::-1]:
            if values[i, j] >= 0 or len(protects) == 3:
                break
            protects.append((present[j], explain._display_value(present[j], raw[i, j]), values[i, j]))
        dump = lambda fs: json.dumps([{"feature": f, "value": v, "impact": round(float(imp), 4)}  # noqa: E731
                                      for f, v, imp in fs], separators=(",", ":"))
        risk_json.append(dump(risks))
        protect_json.append(dump(protects))
        head = f"{str(tiers[i]).capitalize()} risk ({float(probabilities[i]):.0%})"
        join = lambda ps: ps[0] if len(ps) == 1 else ", ".join(ps[:-1]) + " and " + ps[-1]  # noqa: E731
        up = [explain._phrase(f, v) for f, v, _ in risks]
        down = [explain._phrase(f, v) for f, v, _ in protects]
        if up and down:
            sentences.append(f"{head}: driven mostly by {join(up)}; {join(down)} work in the customer's favour.")
        elif up:
            sentences.append(f"{head}: driven mostly by {join(up)}.")
        elif down:
            sentences.append(f"{head}: {join(down)} keep the risk down.")
        else:
            sentences.append(f"{head}: no single factor stands out.")
    return pd.DataFrame({"explanation": sentences, "risk_factors": risk_json, "protective_factors": protect_json},
                        index=rows.index)


@pytest.mark.parametrize("columns", [None, ["customer_id", "tenure_months", "contract"], ["customer_id", "contract"]])
def test_vectorised_factors_give_the_same_text_as_the_loop(columns):
    rows, _ = load_training_rows()
    rows = rows.drop(columns=["churned"]) if columns is None else rows[columns]
    rows = rows.head(1500).copy()
    rows.loc[rows.index[:40], rows.columns[1:]] = np.nan  # missing values are named "(missing)"
    model = load_model()
    scores = scoring.score_rows(rows, model)
    expl = explain.explain_rows(rows, model)
    p, tiers = scores["churn_probability"].to_numpy(), scores["churn_risk"].to_numpy()
    got = explain.factor_columns(rows, expl, p, tiers)
    want = _reference_factor_columns(rows, expl, p, tiers)
    assert got.columns.tolist() == want.columns.tolist()
    for col in want.columns:
        assert got[col].tolist() == want[col].tolist(), col


def test_vectorised_factors_for_the_rules_and_ties():
    import pandas as pd

    rows, _ = load_training_rows()
    rows = rows.head(300)
    expl = explain.rules_explanations(rows)
    expl.values.iloc[:5] = 0.00015  # exact ties on the rounding edge and between columns
    p = np.linspace(0, 1, len(rows))
    tiers = scoring.risk_tier(p)
    got = explain.factor_columns(rows, expl, p, tiers)
    want = _reference_factor_columns(rows, expl, p, tiers)
    pd.testing.assert_frame_equal(got.astype(str), want.astype(str))


def test_vectorised_actions_equal_the_playbook_for_model_and_rules_explanations():
    """factor_columns(with_actions=True) gives what playbook.recommend reads from the written risk factors."""
    from retainwise.science import playbook

    rows, _ = load_training_rows()
    rows = rows.drop(columns=["churned"]).head(2000).copy()
    rows.loc[rows.index[:30], rows.columns[1:]] = np.nan  # missing values match no rule
    model = load_model()
    scores = scoring.score_rows(rows, model)
    p, tiers = scores["churn_probability"].to_numpy(), scores["churn_risk"].to_numpy()
    for expl in (explain.explain_rows(rows, model), explain.rules_explanations(rows)):
        got = explain.factor_columns(rows, expl, p, tiers, with_actions=True)
        want = playbook.recommend(got.assign(churn_risk=tiers))
        assert got["recommended_action"].tolist() == want.tolist()
        assert (got["recommended_action"] != "").sum() > 50  # the playbook does speak for this file
