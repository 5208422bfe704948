"""The model card's claims (Done-when 1 and 2) and the training code that produces them."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from retainwise.errors import InputError
from retainwise.resources import MODEL_DIR
from retainwise.science import training
from retainwise.science.features import CORE_FEATURES, FEATURE_SETS, FULL_FEATURES, feature_frame
from retainwise.science.model import CARD, load_model, sha256_file

from .conftest import TRAINING

OPTIONAL = [f for f in FULL_FEATURES if f not in CORE_FEATURES]


@pytest.fixture(scope="module")
def card():
    return json.loads((MODEL_DIR / CARD).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def data():
    rows, y = training.load_training_rows()
    return feature_frame(rows, FULL_FEATURES), y


# -- Done when 1: what the committed card reports ---------------------------
def test_card_reports_five_fold_cv_auc_and_brier_on_target(card):
    cv = card["cv"]
    assert "5-fold" in cv["method"] and card["data"]["file"] == "telco_churn_train.csv"
    assert card["data"]["sha256"] == sha256_file(TRAINING)
    assert cv["roc_auc"] >= 0.85, cv
    assert cv["brier"] <= 0.135, cv
    assert len(cv["roc_auc_folds"]) == 5


def test_card_has_calibration_threshold_accuracy_and_importance(card):
    cv = card["cv"]
    assert 0 <= cv["ece"] < 0.05
    assert 0.3 <= cv["threshold"] <= 0.7 and cv["accuracy"] > cv["base_rate_accuracy"] + 0.05
    shares = [f["share"] for f in card["feature_importance"]]
    assert {f["feature"] for f in card["feature_importance"]} == set(FULL_FEATURES)
    assert shares == sorted(shares, reverse=True) and abs(sum(shares) - 1) < 0.01
    for spec in card["feature_sets"].values():
        check = spec["calibration_check"]
        # applied exactly when it helped Brier on held-out folds
        assert (spec["calibration"] is not None) == (check["brier_raw"] - check["brier_platt"] > 1e-4)


def test_card_markdown_and_calibration_plot_sit_next_to_the_artefact(card):
    md = (MODEL_DIR / "model_card.md").read_text(encoding="utf-8")
    assert card["version"] in md and card["sha256"] in md
    for figure in (card["cv"]["roc_auc"], card["cv"]["brier"], card["cv"]["ece"], card["cv"]["accuracy"]):
        assert str(figure) in md
    assert "Feature importance" in md
    assert (MODEL_DIR / card["calibration_plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_card_search_considered_class_balance(card):
    trials = card["feature_sets"]["full"]["search"]["trials"]
    assert len(trials) >= 10
    assert any(t["params"]["scale_pos_weight"] == "balanced" for t in trials)


# -- Done when 2: robustness to missing columns -----------------------------
def test_card_core_only_and_single_drops(card):
    mc = card["missing_columns"]
    assert mc["core_only_roc_auc"] >= 0.83
    for column in OPTIONAL:
        assert mc["drop_one_roc_auc"][column] >= mc["core_only_roc_auc"], column
    assert mc["min_drop_one_optional_roc_auc"] == min(mc["drop_one_roc_auc"][c] for c in OPTIONAL)


@pytest.mark.slow
def test_robustness_recomputed_from_scratch(data):
    """Real 5-fold CV (the default settings, fewer rounds) through the same choice scoring makes."""
    x, y = data
    cvs = {
        name: training.cross_validate(
            x[list(feats)], y, training.DEFAULT_PARAMS, seed=7, rounds=300, keep_models=True
        )
        for name, feats in FEATURE_SETS.items()
    }
    _, report = training.robustness(x, y, cvs, seed=7)
    assert report["core_only_roc_auc"] >= 0.83
    worst = min(report["drop_one_roc_auc"][c] for c in OPTIONAL)
    assert worst >= report["core_only_roc_auc"], report["drop_one_roc_auc"]
    assert report["full_roc_auc"] >= worst


def test_masked_training_keeps_probabilities_honest_when_a_column_is_missing(data):
    """Training on masked copies is what lets a missing column degrade gracefully, not skew every score."""
    from sklearn.metrics import brier_score_loss

    from retainwise.science.features import mask_columns

    x, y = data
    idx = np.random.default_rng(1).permutation(len(y))
    tr, te = idx[: len(y) // 2], idx[len(y) // 2 :]
    boosters = {
        c: training.fit(
            x.iloc[tr].reset_index(drop=True), y[tr], training.DEFAULT_PARAMS, 400, seed=1, copies=c
        )
        for c in (0, 2)
    }
    for column in ("tenure_months", "contract"):
        held_out = training.dmatrix(mask_columns(x.iloc[te], [column]))
        brier = {c: brier_score_loss(y[te], b.predict(held_out)) for c, b in boosters.items()}
        assert brier[2] < brier[0] - 0.005, (column, brier)


# -- building blocks --------------------------------------------------------
def test_augment_blanks_values_at_the_rate_and_keeps_labels(data):
    x, y = data
    xa, ya = training.augment(x, y, np.random.default_rng(0), copies=2, rate=0.3)
    assert len(xa) == 3 * len(x) and (ya == np.tile(y, 3)).all()
    assert xa.iloc[: len(x)].isna().mean().mean() < 0.01
    assert abs(xa.iloc[len(x) :].isna().mean().mean() - 0.3) < 0.02
    assert list(xa.dtypes) == list(x.dtypes)


def test_threshold_maximises_accuracy():
    y = np.array([0, 0, 0, 1, 1])
    p = np.array([0.1, 0.35, 0.45, 0.5, 0.9])
    threshold, accuracy = training.choose_threshold(y, p)
    assert accuracy == 1.0 and 0.45 < threshold <= 0.5


def test_column_sets_cover_the_reference_sets():
    sets = training.column_sets(FULL_FEATURES, np.random.default_rng(0))
    full = frozenset(FULL_FEATURES)
    assert full in sets and frozenset() in sets and frozenset(CORE_FEATURES) in sets
    assert all(full - {f} in sets for f in FULL_FEATURES)
    assert len(training.column_sets(CORE_FEATURES, np.random.default_rng(0))) == 16


def test_training_file_without_label_is_refused(tmp_path):
    path = tmp_path / "nolabel.csv"
    pd.read_csv(TRAINING).drop(columns=["Churn"]).head(50).to_csv(path, index=False)
    with pytest.raises(InputError, match="no churn label"):
        training.load_training_rows(path)
    with pytest.raises(InputError, match="no such training file"):
        training.load_training_rows(tmp_path / "missing.csv")


@pytest.mark.slow
def test_train_writes_loadable_verified_artefacts(tmp_path):
    card = training.train(out=tmp_path, budget=1, seed=3)
    models = load_model(tmp_path)
    assert models.version == card["version"]
    for name in (
        "model_card.json",
        "model_card.md",
        "calibration.png",
        "churn_model.ubj",
        "churn_model_core.ubj",
    ):
        assert (tmp_path / name).is_file(), name
    assert not list(tmp_path.glob("*.pkl")) and not list(tmp_path.glob("*.pickle"))
    assert card["cv"]["roc_auc"] > 0.84 and set(card["drift_reference"]) == set(FULL_FEATURES)


def test_retainwise_train_rejects_a_missing_file_in_one_line(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "retainwise",
            "train",
            "--data",
            str(tmp_path / "nope.csv"),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "no such training file" in proc.stderr
