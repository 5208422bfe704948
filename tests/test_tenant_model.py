"""Tenant models (retainwise.science.tenant): features and exclusions, the leakage guard, training, the gate,
artefacts and explanations."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from retainwise.errors import InputError, ModelError
from retainwise.science import tenant
from retainwise.science.tenant.features import select_features


def history(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    """A labelled frame: canonical columns, own text columns (half the signal) and bookkeeping columns."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 60, n).astype("float64")
    monthly = rng.random(n) < 0.5
    active = rng.integers(0, 8, n)
    onboarded = rng.random(n) < 0.6
    invoice = rng.choice(["Paid", "Overdue", "Failed"], size=n, p=[0.8, 0.12, 0.08])
    logit = (
        -0.6
        + 1.0 * monthly
        - 0.04 * tenure
        - 0.45 * active
        - 0.9 * onboarded
        + 1.2 * (invoice == "Overdue")
        + 1.6 * (invoice == "Failed")
    )
    churned = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype("float64")
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(n)],
            "churned": churned,
            "tenure_months": tenure,
            "contract": pd.Series(np.where(monthly, "monthly", "annual"), dtype="str"),
            "monthly_charges": np.round(rng.uniform(10, 200, n), 2),
            "own:Weekly Active Days": pd.Series(active.astype(str), dtype="str"),
            "own:Onboarded": pd.Series(np.where(onboarded, "Yes", "No"), dtype="str"),
            "own:Last Invoice Status": pd.Series(invoice, dtype="str"),
            "own:Region Code": pd.Series(rng.choice(["NA-E", "NA-W", "EMEA", "APAC"], size=n), dtype="str"),
            "_run_id": "run-1",
            "_scored_at": "2025-06-30T00:00:00+00:00",
        }
    )
    frame.loc[rng.random(n) < 0.05, "churned"] = np.nan  # outcome not known: dropped
    return frame


@pytest.fixture(scope="module")
def trained():
    frame = history()
    candidate = tenant.train(frame, tenant="acme", seed=7, sources=["run-1"])
    return frame, candidate


def _str(values) -> pd.Series:
    return pd.Series(values, dtype="str")


def test_feature_kinds_and_exclusions_with_reasons():
    rng = np.random.default_rng(1)
    n = 800
    y = (rng.random(n) < 0.2).astype("float64")
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(n)],
            "churned": y,
            "tenure_months": rng.integers(1, 50, n).astype("float64"),
            "nps": np.nan,
            "_run_id": "r",
            "own:Customer Ref": _str([f"CR-{i:06d}" for i in rng.permutation(n)]),
            "own:Signup Date": _str(
                (pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D")).strftime(
                    "%d/%m/%Y"
                )
            ),
            "own:Comments": _str(
                [
                    f"Customer said the {w} was slow on call {i}"
                    for i, w in zip(range(n), rng.choice(["export", "sync", "login"], n), strict=True)
                ]
            ),
            "own:Promo": _str([f"{v:08x}" for v in rng.integers(0, 2**31, n)]),
            "own:Logins last week": _str([f"{v:,}" for v in rng.integers(0, 3000, n)]),
            "own:Spend": _str([f"${v:.2f}" for v in rng.uniform(1, 90, n)]),
            "own:Usage": _str([f"{v}%" for v in rng.integers(0, 101, n)]),
            "own:Onboarded": _str(rng.choice(["yes", "no", "Y", "N"], n)),
            "own:Tier": _str(rng.choice(["Gold", "Silver", "Bronze"], n)),
            "own:Rare": _str(
                np.where(rng.random(n) < 0.985, "common", rng.choice(["x1", "x2", "x3", "x4", "x5"], n))
            ),
            "own:Empty": _str([""] * n),
            "own:Same": _str(["EU"] * n),
        }
    )
    frame.loc[:5, "own:Logins last week"] = "n/a"  # junk is missing, not "not a number"
    spec, excluded = select_features(frame, y)
    kinds = {e["name"]: e["kind"] for e in spec}
    assert kinds == {
        "tenure_months": "number",
        "own:Logins last week": "number",
        "own:Spend": "number",
        "own:Usage": "number",
        "own:Onboarded": "flag",
        "own:Tier": "category",
    }
    assert not any(k.startswith("_") or k in ("customer_id", "churned") for k in kinds)
    assert "identifier" in excluded["own:Customer Ref"]
    assert "date" in excluded["own:Signup Date"]
    assert "free text" in excluded["own:Comments"]
    assert "near-unique" in excluded["own:Promo"]
    assert "empty" in excluded["own:Empty"] and "empty" in excluded["nps"]
    assert "constant" in excluded["own:Same"]
    assert "scattered" in excluded["own:Rare"]  # rare levels (< 1%) are missing: one level left
    tier = next(e for e in spec if e["name"] == "own:Tier")
    assert tier["levels"] == ["Bronze", "Gold", "Silver"]
    x = tenant.feature_frame(frame, spec)
    assert x["own:Logins last week"].iloc[6] == float(frame["own:Logins last week"].iloc[6].replace(",", ""))
    assert np.isnan(x["own:Logins last week"].iloc[0])
    assert x["own:Spend"].between(1, 90).all() and x["own:Usage"].between(0, 100).all()
    assert set(x["own:Onboarded"].unique()) == {0.0, 1.0}
    unseen = tenant.feature_frame(pd.DataFrame({"own:Tier": _str(["Platinum", "Gold"])}), spec)
    assert unseen["own:Tier"].isna().tolist() == [True, False] and unseen["tenure_months"].isna().all()


def test_leakage_guard_names_outcome_columns():
    frame = history(1000, seed=3).dropna(subset=["churned"]).reset_index(drop=True)
    y = frame["churned"].to_numpy()
    rng = np.random.default_rng(4)
    n = len(frame)
    noisy = np.where(rng.random(n) < 0.02, 1 - y, y)
    frame["own:Cancellation Date"] = _str(np.where(y == 1, "2025-07-04", ""))
    frame["own:Effective"] = _str(np.where(y == 1, "Q3", ""))  # no telling name: filled only for leavers
    frame["own:Flag 7"] = _str(noisy.astype(int).astype(str))  # the label with 2% noise
    frame["own:Segment"] = _str(np.where(noisy == 1, "B", "A"))
    frame["own:Score"] = noisy * 10 + rng.normal(0, 1, n)  # the label as a number
    frame["own:Score"] = frame["own:Score"].round(2).astype("str")
    frame["own:Status"] = _str(np.where(rng.random(n) < 0.1, "Cancelled", "Active"))  # outcome values
    spec, excluded = select_features(frame, y)
    leaked = [
        "own:Cancellation Date",
        "own:Effective",
        "own:Flag 7",
        "own:Segment",
        "own:Score",
        "own:Status",
    ]
    for column in leaked:
        assert excluded[column].startswith("leakage"), (column, excluded.get(column))
    assert "name" in excluded["own:Cancellation Date"]
    assert "filled almost only for customers who left" in excluded["own:Effective"]
    assert "ROC AUC" in excluded["own:Flag 7"] and "ROC AUC" in excluded["own:Segment"]
    assert "outcome values" in excluded["own:Status"]
    kept = {e["name"] for e in spec}
    assert {"own:Weekly Active Days", "own:Onboarded", "own:Last Invoice Status", "tenure_months"} <= kept
    assert not kept & set(leaked)


def test_too_little_data_is_refused_with_how_much_more():
    frame = history(200, seed=5)
    frame["churned"] = 0.0
    frame.loc[:30, "churned"] = 1.0
    with pytest.raises(InputError) as caught:
        tenant.train(frame, tenant="acme")
    assert caught.value.code == "too_little_data"
    assert "Only 200 labelled customers (31 who left)" in caught.value.message
    assert "at least 500 customers and 50 who left" in caught.value.message
    assert "send about 300 more" in caught.value.message
    rare = history(2000, seed=6)
    rare["churned"] = 0.0
    rare.loc[:19, "churned"] = 1.0  # 20 leavers in 2,000: 5,000 customers at that rate
    with pytest.raises(InputError, match="send about 3,000 more|send about 3000 more"):
        tenant.train(rare, tenant="acme")


def test_training_reports_cross_validation(trained):
    frame, candidate = trained
    assert len(candidate.y) == frame["churned"].notna().sum()
    cv = candidate.cv
    assert len(cv["roc_auc_folds"]) == 5 and cv["roc_auc"] == pytest.approx(
        np.mean(cv["roc_auc_folds"]), abs=1e-4
    )
    assert cv["roc_auc"] > 0.75 and cv["brier"] < cv["base_rate_brier"]
    assert set(candidate.excluded) == set()  # nothing to leave out in this history
    assert {e["name"] for e in candidate.spec} >= {
        "own:Weekly Active Days",
        "own:Last Invoice Status",
        "contract",
    }


def test_gate_promotes_a_real_model_against_a_weak_incumbent(trained):
    _, candidate = trained
    weak = lambda rows: 1 / (1 + np.exp(rows["tenure_months"].to_numpy() / 30))  # noqa: E731 - tenure only
    verdict = tenant.gate(candidate, weak, probabilities=False, name="the SaaS rules")
    assert verdict["promoted"], verdict["verdict"]
    assert verdict["verdict"].startswith("Promoted: ranks leavers above stayers ")
    assert "for the SaaS rules on the same held-out customers" in verdict["verdict"]
    assert verdict["candidate"]["roc_auc"] > verdict["incumbent"]["roc_auc"] + 0.05
    assert verdict["candidate"]["brier"] < verdict["base_rate_brier"]
    assert len(verdict["folds"]) == 5


def test_gate_refuses_a_model_of_noise_labels():
    frame = history(1200, seed=8)
    frame["churned"] = np.random.default_rng(9).permutation(frame["churned"].to_numpy())
    candidate = tenant.train(frame, tenant="acme", seed=3)
    coin = lambda rows: np.random.default_rng(0).random(len(rows))  # noqa: E731
    verdict = tenant.gate(candidate, coin, probabilities=True, name="the committed model")
    assert not verdict["promoted"]
    assert verdict["verdict"].startswith("Not promoted: ")
    assert candidate.cv["roc_auc"] < 0.6


def test_gate_refuses_a_candidate_no_better_than_the_incumbent(trained):
    _, candidate = trained
    itself = lambda rows: candidate.oof  # noqa: E731 - the same scores: no better beyond noise
    verdict = tenant.gate(candidate, itself, probabilities=True, name="the current tenant model")
    assert not verdict["promoted"] and "not better beyond noise" in verdict["verdict"]


def test_save_load_round_trip_and_tampering(trained, tmp_path):
    frame, candidate = trained
    verdict = tenant.gate(
        candidate, lambda rows: np.full(len(rows), 0.2), probabilities=True, name="a constant"
    )
    card = tenant.save(tmp_path / "m", candidate.booster, tenant.build_card(candidate, verdict))
    written = json.loads((tmp_path / "m" / "card.json").read_text(encoding="utf-8"))
    assert written == card
    assert (
        card["kind"] == "tenant"
        and card["tenant"] == "acme"
        and card["version"] == "t-" + card["sha256"][:12]
    )
    assert card["trained_on"]["rows"] == len(candidate.y) and card["trained_on"]["sources"] == ["run-1"]
    assert card["features"] == candidate.spec and card["gate"]["promoted"] == verdict["promoted"]
    assert {"roc_auc", "roc_auc_folds", "brier"} <= set(card["cv"]) and card["threshold"] == 0.5
    assert not list((tmp_path / "m").glob("*.pkl")) and (tmp_path / "m" / "model.ubj").is_file()
    model = tenant.load(tmp_path / "m")
    assert (model.kind, model.name, model.version) == ("tenant", "tenant", card["version"])
    assert model.features == [e["name"] for e in candidate.spec]
    fresh = history(300, seed=11).drop(columns=["churned"])
    in_memory = tenant.TenantModel(
        booster=candidate.booster, card=card
    )  # the booster as trained, never saved
    np.testing.assert_array_equal(model.predict_proba(fresh), in_memory.predict_proba(fresh))
    np.testing.assert_allclose(
        model.predict_proba(fresh),
        candidate.booster.predict(
            xgb.DMatrix(tenant.feature_frame(fresh, candidate.spec), enable_categorical=True)
        ),
        rtol=1e-5,
    )
    np.testing.assert_array_equal(
        model.predict_proba(fresh), tenant.load(tmp_path / "m").predict_proba(fresh)
    )
    artefact = tmp_path / "m" / "model.ubj"
    data = bytearray(artefact.read_bytes())
    data[len(data) // 2] ^= 0x01
    artefact.write_bytes(bytes(data))
    with pytest.raises(ModelError) as caught:
        tenant.load(tmp_path / "m")
    assert caught.value.code == "model_tampered"
    with pytest.raises(ModelError):
        tenant.load(tmp_path / "nothing")


def test_contributions_sum_to_the_margin(trained, tmp_path):
    _, candidate = trained
    tenant.save(tmp_path, candidate.booster, tenant.build_card(candidate, None))
    model = tenant.load(tmp_path)
    rows = history(200, seed=12)
    rows = rows.drop(columns=["own:Region Code"])  # a column the rows lack is missing, not an error
    rows.loc[:9, "own:Last Invoice Status"] = "Disputed"  # a level never seen: missing
    contribs, base = model.contributions(rows)
    assert contribs.shape == (len(rows), len(model.features))
    np.testing.assert_allclose(contribs.sum(axis=1) + base, model.margin(rows), atol=1e-4)
    np.testing.assert_allclose(model.predict_proba(rows), 1 / (1 + np.exp(-model.margin(rows))), rtol=1e-6)
    full = history(200, seed=12)
    assert not np.allclose(model.margin(full), model.margin(rows))  # the own columns count
