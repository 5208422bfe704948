import json

import numpy as np
import pandas as pd
import pytest

from retainwise.science import arrow_text, explain, scoring
from retainwise.science.factors import FactorTables, _display_value, _phrase, factor_columns
from retainwise.science.model import load_model
from retainwise.science.training import load_training_rows


@pytest.fixture(scope="module")
def explained():
    rows, _ = load_training_rows()
    rows = rows.head(300).drop(columns=["churned"])
    model = load_model()
    scores = scoring.score_rows(rows, model)
    expl = explain.explain_rows(rows, model)
    factors = factor_columns(
        rows, expl, scores["churn_probability"].to_numpy(), scores["churn_risk"].to_numpy()
    )
    return rows, model, expl, factors, scores


def test_grouped_values_still_add_up_to_the_margin(explained):
    rows, model, expl, _, _ = explained
    np.testing.assert_allclose(expl.values.sum(axis=1) + expl.base, model.margin(rows), atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    "columns",
    [
        None,
        ["customer_id", "tenure_months", "monthly_charges", "total_charges", "contract"],
        ["customer_id", "contract", "internet_service"],
    ],
)
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
    np.testing.assert_allclose(
        merged.values["monthly_charges"],
        expl.values["monthly_charges"] + expl.values["total_charges"],
        atol=1e-6,
    )
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
    factors = factor_columns(
        rows,
        explain.explain_rows(rows, model),
        scores["churn_probability"].to_numpy(),
        scores["churn_risk"].to_numpy(),
    )
    named = {
        f["feature"]
        for col in ("risk_factors", "protective_factors")
        for s in factors[col]
        for f in json.loads(s)
    }
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
            risks.append((present[j], _display_value(present[j], raw[i, j]), values[i, j]))
        for j in order[i][::-1]:
            if values[i, j] >= 0 or len(protects) == 3:
                break
            protects.append((present[j], _display_value(present[j], raw[i, j]), values[i, j]))

        def dump(fs):
            rows = [{"feature": f, "value": v, "impact": round(float(imp), 4)} for f, v, imp in fs]
            return json.dumps(rows, separators=(",", ":"))

        risk_json.append(dump(risks))
        protect_json.append(dump(protects))
        head = f"{str(tiers[i]).capitalize()} risk ({float(probabilities[i]):.0%})"
        join = lambda ps: ps[0] if len(ps) == 1 else ", ".join(ps[:-1]) + " and " + ps[-1]  # noqa: E731
        up = [_phrase(f, v) for f, v, _ in risks]
        down = [_phrase(f, v) for f, v, _ in protects]
        if up and down:
            sentences.append(
                f"{head}: driven mostly by {join(up)}; {join(down)} work in the customer's favour."
            )
        elif up:
            sentences.append(f"{head}: driven mostly by {join(up)}.")
        elif down:
            sentences.append(f"{head}: {join(down)} keep the risk down.")
        else:
            sentences.append(f"{head}: no single factor stands out.")
    return pd.DataFrame(
        {"explanation": sentences, "risk_factors": risk_json, "protective_factors": protect_json},
        index=rows.index,
    )


@pytest.mark.parametrize(
    "columns", [None, ["customer_id", "tenure_months", "contract"], ["customer_id", "contract"]]
)
def test_vectorised_factors_give_the_same_text_as_the_loop(columns):
    rows, _ = load_training_rows()
    rows = rows.drop(columns=["churned"]) if columns is None else rows[columns]
    rows = rows.head(1500).copy()
    rows.loc[rows.index[:40], rows.columns[1:]] = np.nan  # missing values are named "(missing)"
    model = load_model()
    scores = scoring.score_rows(rows, model)
    expl = explain.explain_rows(rows, model)
    p, tiers = scores["churn_probability"].to_numpy(), scores["churn_risk"].to_numpy()
    got = factor_columns(rows, expl, p, tiers)
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
    got = factor_columns(rows, expl, p, tiers)
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
        got = factor_columns(rows, expl, p, tiers, with_actions=True)
        want = playbook.recommend(got.assign(churn_risk=tiers))
        assert got["recommended_action"].tolist() == want.tolist()
        assert (got["recommended_action"] != "").sum() > 50  # the playbook does speak for this file


# -- factor_columns against a plain per-row loop on hostile, synthetic inputs -------------------------------
_HOSTILE = [
    'Month "to" month',
    "a,b, and c",
    "line\nbreak\r\n",
    "ünïcødé – ✓ 😀",
    '=HYPERLINK("x")',
    "back\\slash",
    "",
    "under_score",
    "monthly",
    "no",
    '{"feature":1}',
    "tab\there",
    "null",
]


def _synthetic(n: int, seed: int, features: list[str]):
    """Canonical-looking rows (missing values, flags, hostile category text) and hand-made impacts:
    exact ties between columns and on the 4th-decimal rounding edge, all-positive, all-negative, all-zero,
    tiny (rounding to 0.0 / -0.0), large and NaN impacts, plus a feature the rows do not have."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    pick = lambda options: [options[i] for i in rng.integers(0, len(options), n)]  # noqa: E731
    data = {
        "customer_id": [f"C{i}" for i in range(n)],
        "tenure_months": pick([0.0, 1.0, 5.5, 72.0, np.nan, 1e6, 3.14159, -2.0]),
        "contract": pick(_HOSTILE + [None]),
        "monthly_charges": [
            round(v, int(d)) for v, d in zip(rng.uniform(0, 150, n), rng.integers(0, 4, n), strict=True)
        ],
        "paperless_billing": pick([0.0, 1.0, np.nan, 0.5, 0.49]),
        "senior_citizen": pick([0.0, 1.0]),
        "tech_support": pick(["no", "yes", None, "no_internet_service", "ÄÖÜ"]),
        "payment_method": pick(_HOSTILE[:6] + ["electronic_check"]),
    }
    rows = pd.DataFrame({f: data[f] for f in ["customer_id"] + features}, index=rng.permutation(n) + 1000)
    columns = features + ["internet_service"]  # the last is absent from the rows: never a factor
    m = len(columns)
    values = rng.normal(0, 0.5, (n, m))
    kind = rng.integers(0, 10, n)
    edges = np.array([0.00015, 0.00025, -0.00035, 1.23455, -2.00005, 0.00005, -0.00005, 0.5, -0.5, 0.0])
    values[kind == 0] = rng.choice(edges, (int((kind == 0).sum()), m))  # rounding edges and ties
    values[kind == 1] = np.abs(values[kind == 1]) + 0.01  # all positive
    values[kind == 2] = -np.abs(values[kind == 2]) - 0.01  # all negative
    values[kind == 3] = 0.0
    values[kind == 4] = rng.choice(
        [1e-6, -1e-6, 3e-5, -3e-5, 0.0], (int((kind == 4).sum()), m)
    )  # 0.0 and -0.0
    values[kind == 5] = rng.choice(
        [0.25, -0.25, 0.0], (int((kind == 5).sum()), m)
    )  # exact ties between columns
    values[kind == 6] *= 1000  # large impacts
    values[(kind == 7)[:, None] & (rng.random((n, m)) < 0.3)] = np.nan
    values[kind == 8] = values[kind == 8].round(4)
    expl = explain.Explanations(
        values=pd.DataFrame(values, columns=columns, index=rows.index), base=np.zeros(n)
    )
    p = rng.uniform(0, 1, n)
    p[:8] = [0.0, 1.0, 0.005, 0.125, 0.995, 0.5, 0.015, 0.285][:n]
    tiers = scoring.risk_tier(p)
    return rows, expl, p, tiers


def _row_reference(rows, expl, probabilities, tiers, with_actions):
    """One customer at a time, in plain Python: the text factor_columns must give.

    A list walks the argsort order from its end and stops at the first impact that is not of its sign
    (zero and NaN included) or after three.
    """
    import pandas as pd

    from retainwise.science import playbook

    present = [f for f in expl.values.columns if f in rows.columns]
    values = expl.values[present].to_numpy(dtype="float64")
    order = np.argsort(-values, axis=1)
    raw = rows[present].to_numpy(dtype=object)
    out = {"explanation": [], "risk_factors": [], "protective_factors": []}
    for i in range(len(rows)):
        lists = []
        for walk, sign in ((order[i], 1), (order[i][::-1], -1)):
            listed = []
            for j in walk:
                if not values[i, j] * sign > 0 or len(listed) == 3:
                    break
                listed.append((present[j], _display_value(present[j], raw[i, j]), float(values[i, j])))
            lists.append(listed)
        risks, protects = lists
        for col, listed in (("risk_factors", risks), ("protective_factors", protects)):
            out[col].append(
                json.dumps(
                    [{"feature": f, "value": v, "impact": round(imp, 4)} for f, v, imp in listed],
                    separators=(",", ":"),
                )
            )
        head = f"{str(tiers[i]).capitalize()} risk ({float(probabilities[i]):.0%})"
        join = lambda ps: ps[0] if len(ps) == 1 else ", ".join(ps[:-1]) + " and " + ps[-1]  # noqa: E731
        up = [_phrase(f, v) for f, v, _ in risks]
        down = [_phrase(f, v) for f, v, _ in protects]
        if up and down:
            out["explanation"].append(
                f"{head}: driven mostly by {join(up)}; {join(down)} work in the customer's favour."
            )
        elif up:
            out["explanation"].append(f"{head}: driven mostly by {join(up)}.")
        elif down:
            out["explanation"].append(f"{head}: {join(down)} keep the risk down.")
        else:
            out["explanation"].append(f"{head}: no single factor stands out.")
    want = pd.DataFrame(out, index=rows.index)
    if with_actions:
        want["recommended_action"] = playbook.recommend(want.assign(churn_risk=tiers)).tolist()
    return want


_ALL = [
    "tenure_months",
    "contract",
    "monthly_charges",
    "paperless_billing",
    "senior_citizen",
    "tech_support",
    "payment_method",
]


@pytest.mark.parametrize("with_actions", [False, True])
@pytest.mark.parametrize("features", [_ALL, ["contract", "tech_support"], ["paperless_billing"], []])
def test_factor_columns_equal_a_per_row_loop_on_hostile_inputs(features, with_actions):
    from retainwise.science import playbook

    tables = FactorTables(playbook.load()) if with_actions else None
    for seed, n in (
        (1, 3000),
        (2, 1),
        (3, 0),
        (4, 500),
    ):  # one FactorTables across "chunks", as a run keeps it
        rows, expl, p, tiers = _synthetic(n, seed, features)
        got = factor_columns(rows, expl, p, tiers, with_actions=with_actions, tables=tables)
        want = _row_reference(rows, expl, p, tiers, with_actions)
        assert got.columns.tolist() == want.columns.tolist()
        assert got.index.equals(rows.index)
        for col in want.columns:
            assert [type(v) for v in got[col]] == [str] * n, col
            assert got[col].tolist() == want[col].tolist(), (col, seed)
        if n > 1:
            # what the pipeline does for its rules-served customers: overwrite some rows from a second call
            mask = np.arange(n) % 3 == 0
            other = factor_columns(
                rows.loc[mask],
                explain.Explanations(-expl.values.loc[mask], expl.base[mask]),
                p[mask],
                tiers[mask],
                with_actions=with_actions,
                tables=tables,
            )
            got.loc[mask] = other.to_numpy()
            assert got.loc[mask].to_numpy().tolist() == other.to_numpy().tolist()
            assert got.loc[~mask].to_numpy().tolist() == want.loc[~mask].to_numpy().tolist()


def test_impacts_are_the_repr_of_pythons_round():
    x = np.concatenate(
        [
            np.array(
                [
                    0.00015,
                    0.00025,
                    -0.00035,
                    1.23455,
                    -2.00005,
                    0.00005,
                    -0.00005,
                    1e-6,
                    -1e-6,
                    0.0,
                    -0.0,
                    123456.78915,
                    -0.1,
                    2.675,
                    1.0005,
                    0.30000000000000004,
                    999.99995,
                    -999.99994,
                    1000.0,
                    np.nan,
                    np.inf,
                    -np.inf,
                    1e300,
                ]
            ),
            np.random.default_rng(5).normal(0, 2, 20000),
            np.random.default_rng(6).integers(-(10**6), 10**6, 5000) / 1e4 + 0.00005,
        ]
    )
    closing = np.arange(len(x)) % 3 == 0  # the last factor of its list closes the list too
    wholes, w, f = arrow_text.impacts(x, closing)
    got = arrow_text.concat(wholes.take(w), arrow_text.impact_tables()[1].take(f)).to_pylist()
    assert got == [
        repr(round(float(v), 4)) + ("}]" if last else "}") for v, last in zip(x, closing, strict=True)
    ]


def test_a_tenant_s_own_columns_read_as_their_headers_with_their_values():
    rows = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "own:Region Code": ["EMEA", "nan"],
            "own:Weekly Active Days": ["2", "6.5"],
        },
        index=[0, 1],
    )
    values = pd.DataFrame(
        {"own:Region Code": [0.8, -0.1], "own:Weekly Active Days": [0.3, -0.9]}, index=[0, 1]
    )
    out = factor_columns(
        rows, explain.Explanations(values=values, base=np.zeros(2)), [0.7, 0.1], ["HIGH", "LOW"]
    )
    assert (
        out["explanation"].iloc[0]
        == "High risk (70%): driven mostly by Region Code (EMEA) and Weekly Active Days (2)."
    )
    assert json.loads(out["protective_factors"].iloc[1])[0] == {
        "feature": "own:Weekly Active Days",
        "value": 6.5,
        "impact": -0.9,
    }
    assert json.loads(out["risk_factors"].iloc[1]) == [] and "Region Code (nan)" in out["explanation"].iloc[1]
