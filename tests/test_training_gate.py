"""The promotion gate (issue 17): paired per-fold comparison with the champion, verdict, install and history."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from retainwise.errors import ModelError
from retainwise.resources import MODEL_DIR
from retainwise.science.model import CARD, load_model
from retainwise.science.training import Training, folds_for, gate, load_training_rows
from retainwise.science.training import card as cards


@pytest.fixture(scope="module")
def data():
    return load_training_rows()


@pytest.fixture(scope="module")
def champion():
    return json.loads((MODEL_DIR / CARD).read_text(encoding="utf-8"))


def _table(d_auc, d_brier, base_auc=0.85):
    d_auc, d_brier = np.asarray(d_auc, dtype=float), np.asarray(d_brier, dtype=float)
    return pd.DataFrame(
        {
            "fold": range(1, len(d_auc) + 1),
            "champion ROC AUC": base_auc,
            "candidate ROC AUC": base_auc + d_auc,
            "Δ ROC AUC": d_auc,
            "champion Brier": 0.13,
            "candidate Brier": 0.13 + d_brier,
            "Δ Brier": d_brier,
        }
    )


# -- the rule -----------------------------------------------------------------
def test_verdict_promotes_an_equal_model_and_rejects_a_worse_one():
    assert gate.verdict(_table([0] * 5, [0] * 5), "xgb-old")["decision"] == "promote"
    worse = gate.verdict(_table([-0.01] * 5, [0] * 5), "xgb-old")
    assert worse["decision"] == "reject" and worse["reason"].startswith("ROC AUC worse")
    assert "xgb-old" in worse["reason"] and "\n" not in worse["reason"]
    brier = gate.verdict(_table([0.001] * 5, [0.002] * 5), "xgb-old")
    assert brier["decision"] == "reject" and brier["reason"].startswith("Brier worse")


def test_verdict_counts_fold_noise_against_the_candidate():
    """Mean -0.001 is within the 0.002 allowance only when the folds agree (mean - std >= -0.002)."""
    steady = gate.verdict(_table([-0.001] * 5, [0] * 5), "c")
    noisy = gate.verdict(_table([0.003, -0.005, 0.002, -0.004, -0.001], [0] * 5), "c")
    assert steady["decision"] == "promote"
    assert noisy["roc_auc_diff_mean"] == -0.001 and noisy["decision"] == "reject"


def test_verdict_rejects_a_model_no_better_than_chance_even_against_an_equally_bad_champion():
    verdict = gate.verdict(_table([0.0] * 5, [0.0] * 5, base_auc=0.51), "c")
    assert verdict["decision"] == "reject" and "chance" in verdict["reason"]


# -- the comparison on real folds --------------------------------------------
@pytest.mark.slow
def test_gate_refuses_a_model_trained_on_shuffled_labels(data, champion):
    rows, y = data
    folds = folds_for(y, 43)
    spec = champion["feature_sets"]["full"]
    held = gate.recipe_oof(rows, y, spec, folds, 43)
    shuffled = np.random.default_rng(0).permutation(y)
    candidate = gate.recipe_oof(rows, y, spec, folds, 43, fit_labels=shuffled)
    table = gate.compare(y, folds, held, candidate)
    verdict = gate.verdict(table, champion["version"])
    assert verdict["decision"] == "reject", verdict["reason"]
    assert (table["Δ ROC AUC"] < -0.1).all() and (table["champion ROC AUC"] > 0.8).all()


@pytest.mark.slow
def test_gate_accepts_a_retrain_with_the_same_settings(champion):
    """The real training steps (search, CV) with the committed seed, then the gate against the committed model."""
    run = Training(seed=champion["seed"], budget=1, repeats=1)
    run.search()
    run.cross_validation()
    table = run.gate(MODEL_DIR).data
    assert run.verdict["decision"] == "promote", run.verdict["reason"]
    assert run.verdict["champion"] == champion["version"] and len(table) == 5
    assert abs(run.verdict["roc_auc_diff_mean"]) < 0.002


@pytest.mark.slow
def test_gate_refuses_a_model_trained_on_a_file_whose_labels_are_shuffled(tmp_path):
    """End to end: on a file with shuffled labels the champion's recipe is as lost as the candidate."""
    from retainwise.resources import TRAINING_DATA

    frame = pd.read_csv(TRAINING_DATA, dtype=str, keep_default_na=False)
    frame["Churn"] = np.random.default_rng(0).permutation(frame["Churn"].to_numpy())
    frame.to_csv(tmp_path / "shuffled.csv", index=False)
    run = Training(tmp_path / "shuffled.csv", seed=42, budget=1, repeats=1)
    run.search()
    run.cross_validation()
    run.gate(MODEL_DIR)
    assert run.verdict["decision"] == "reject" and "no better than chance" in run.verdict["reason"]


def test_no_champion_means_promote(tmp_path):
    assert gate.read_champion(tmp_path) is None
    (tmp_path / CARD).write_text("{not json", encoding="utf-8")
    assert gate.read_champion(tmp_path) is None
    assert gate.no_champion()["decision"] == "promote"


# -- install, --force and the champion history -------------------------------
def _trained(tmp_path, decision: str):
    """A copy of the committed model posing as a freshly trained one with the gate's ``decision``."""
    out = tmp_path / "out"
    shutil.copytree(MODEL_DIR, out)
    card = json.loads((out / CARD).read_text(encoding="utf-8"))
    card["gate"] = {
        "decision": decision,
        "reason": f"ROC AUC worse than the champion ({decision} test)",
        "rule": gate.RULE,
        "champion": card["version"],
        "folds": [],
    }
    card["trained_at"] = "2030-01-01T00:00:00+00:00"
    cards.write(card, out)
    live = tmp_path / "live"
    shutil.copytree(MODEL_DIR, live)
    return out, live


def test_install_refuses_a_rejected_model_in_one_line_and_leaves_the_champion(tmp_path):
    from retainwise.cli.train import install_model

    out, live = _trained(tmp_path, "reject")
    before = (live / CARD).read_bytes()
    with pytest.raises(ModelError, match="rejected") as info:
        install_model(out, live)
    assert "--force" in info.value.message and "\n" not in info.value.message
    assert (live / CARD).read_bytes() == before


def test_forced_install_keeps_the_champion_in_the_history(tmp_path, champion):
    from retainwise.cli.train import install_model

    out, live = _trained(tmp_path, "reject")
    installed = install_model(out, live, force=True)
    history = installed["history"]
    assert (
        history[0]["version"] == champion["version"]
        and history[0]["cv"]["roc_auc"] == champion["cv"]["roc_auc"]
    )
    assert history[0]["replaced_at"] and load_model(live).card["trained_at"] == "2030-01-01T00:00:00+00:00"
    md = (live / cards.MARKDOWN).read_text(encoding="utf-8")
    assert "## Champion history" in md and "## Promotion gate" in md
    # installed again: the previous champion moves down, nothing is lost
    again = install_model(out, live, force=True)
    assert [h["trained_at"] for h in again["history"][:2]] == [
        "2030-01-01T00:00:00+00:00",
        champion["trained_at"],
    ]
