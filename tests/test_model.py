import copy
import json
import shutil

import numpy as np
import pytest

from retainwise.errors import ModelError
from retainwise.resources import MODEL_DIR
from retainwise.science.features import CORE_FEATURES, FULL_FEATURES
from retainwise.science.model import CARD, ChurnModel, expected_auc, load_model, sha256_file
from retainwise.science.training import load_training_rows


@pytest.fixture(scope="module")
def rows():
    canonical, _ = load_training_rows()
    return canonical.head(500).drop(columns=["churned"])


def test_bundled_models_match_their_card():
    models = load_model()
    for name, spec in models.card["feature_sets"].items():
        assert spec["sha256"] == sha256_file(MODEL_DIR / spec["artefact"]), name
    assert models.version.startswith("xgb-") and set(models.models) == {"full", "core"}
    assert models.models["full"].features == list(FULL_FEATURES)
    assert models.models["core"].features == list(CORE_FEATURES)


def test_artefacts_are_ubjson_never_pickle():
    for spec in load_model().card["feature_sets"].values():
        head = (MODEL_DIR / spec["artefact"]).read_bytes()[:2]
        assert spec["artefact"].endswith(".ubj") and head[:1] == b"{" and head != b"\x80\x04"


def test_probabilities_are_probabilities(rows):
    p = load_model().predict_proba(rows)
    assert p.shape == (len(rows),)
    assert np.all((p >= 0) & (p <= 1)) and p.std() > 0.05


@pytest.mark.parametrize("name", ["full", "core"])
def test_shap_contributions_add_up_to_the_margin_for_every_row(rows, name):
    model = load_model().models[name]
    contribs, base = model.contributions(rows)
    np.testing.assert_allclose(contribs.sum(axis=1) + base, model.margin(rows), atol=1e-4, rtol=0)


def test_platt_calibration_keeps_shap_exact(rows):
    """A calibrated model scales contributions with the margin: still additive, still probabilities."""
    models = load_model()
    card = copy.deepcopy(models.card)
    card["feature_sets"]["full"]["calibration"] = {"a": 0.8, "b": -0.15}
    raw, calibrated = models.models["full"], ChurnModel(booster=models.models["full"].booster, card=card)
    contribs, base = calibrated.contributions(rows)
    np.testing.assert_allclose(contribs.sum(axis=1) + base, calibrated.margin(rows), atol=1e-4, rtol=0)
    booster_margin = raw.booster.predict(raw._dmatrix(rows), output_margin=True)
    np.testing.assert_allclose(calibrated.margin(rows), 0.8 * booster_margin - 0.15, atol=1e-5)


def _copy_models(tmp_path):
    target = tmp_path / "model"
    shutil.copytree(MODEL_DIR, target)
    return target


@pytest.mark.parametrize("name", ["full", "core"])
def test_tampered_artefact_is_refused(tmp_path, name):
    target = _copy_models(tmp_path)
    artefact = target / load_model().card["feature_sets"][name]["artefact"]
    data = bytearray(artefact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artefact.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match its model card") as info:
        load_model(target)
    assert info.value.code == "model_tampered" and "retainwise train" in info.value.message


def test_artefact_changed_after_loading_is_refused_on_next_load(tmp_path):
    target = _copy_models(tmp_path)
    load_model(target)  # verified and cached
    artefact = target / load_model(target).card["artefact"]
    artefact.write_bytes(artefact.read_bytes() + b" ")
    with pytest.raises(ModelError, match="does not match"):
        load_model(target)


def test_missing_model_says_how_to_fix(tmp_path):
    with pytest.raises(ModelError, match="retainwise train"):
        load_model(tmp_path)
    (tmp_path / CARD).write_text("{}")
    with pytest.raises(ModelError, match="retainwise train"):
        load_model(tmp_path)


def test_expected_auc_is_the_best_measured_set_the_file_covers():
    estimate = {
        "measured": [
            {"absent": [], "roc_auc": 0.85},
            {"absent": ["b"], "roc_auc": 0.84},
            {"absent": ["a", "b"], "roc_auc": 0.80},
            {"absent": ["a", "b", "c"], "roc_auc": 0.5},
        ]
    }
    feats = ["a", "b", "c"]
    assert expected_auc(estimate, feats, {"a", "b", "c"}) == 0.85
    assert expected_auc(estimate, feats, {"a", "c"}) == 0.84
    assert expected_auc(estimate, feats, {"c"}) == 0.80
    assert expected_auc(estimate, feats, {"b", "c"}) == 0.80  # only the set without a and b is covered
    assert expected_auc(estimate, feats, set()) == 0.5


def test_choice_follows_the_columns_a_file_has(rows):
    models = load_model()
    full = models.choose(rows)
    assert full.model.name == "full" and full.confidence == "high" and full.missing == []
    core = models.choose(rows[["customer_id", *CORE_FEATURES]])
    assert core.model.name == "core" and core.confidence in ("medium", "high")
    assert core.expected_roc_auc < full.expected_roc_auc
    one_missing = models.choose(rows.drop(columns=["payment_method"]))
    assert one_missing.model.name == "full" and one_missing.missing == ["payment_method"]
    assert core.expected_roc_auc <= one_missing.expected_roc_auc <= full.expected_roc_auc
    nothing = models.choose(rows[["customer_id"]])
    assert nothing.confidence == "low" and nothing.expected_roc_auc == 0.5


def test_an_empty_column_counts_as_absent(rows):
    models = load_model()
    blank = rows.copy()
    blank["internet_service"] = None
    assert models.choose(blank).missing == ["internet_service"]


def test_card_lists_the_measured_sets_used_for_choosing():
    card = json.loads((MODEL_DIR / CARD).read_text())
    for name, spec in card["feature_sets"].items():
        measured = spec["expected_auc"]["measured"]
        everything = [m["roc_auc"] for m in measured if m["absent"] == []]
        assert len(everything) == 1 and abs(everything[0] - spec["cv"]["roc_auc"]) < 0.01, name
        assert all(0.4 <= m["roc_auc"] <= 1 for m in measured)
        assert all(set(m["absent"]) <= set(spec["features"]) for m in measured)


def test_run_kernels_import_xgboost_without_sklearn_and_score_the_same():
    """science.model.import_xgboost in a run kernel's environment: no scikit-learn loaded, the same
    probabilities, and scikit-learn still importable afterwards (training in the same kernel)."""
    import json
    import subprocess
    import sys

    from retainwise.science.model import LEAN_ENV

    code = (
        "import json, sys\n"
        "from retainwise.science.model import load_model\n"
        "from retainwise.science.training.data import load_training_rows\n"
        "rows, _ = load_training_rows()\n"
        "p = load_model().predict_proba(rows.head(50)).tolist()\n"
        "lean = 'sklearn' not in sys.modules\n"
        "import sklearn.metrics\n"
        "print(json.dumps({'lean': lean, 'p': p}))\n"
    )
    runs = {}
    for flag in ("1", "0"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**__import__("os").environ, LEAN_ENV: flag},
        )
        runs[flag] = json.loads(out.stdout.strip().splitlines()[-1])
    assert runs["1"]["lean"] and not runs["0"]["lean"]
    assert runs["1"]["p"] == runs["0"]["p"]


def test_feature_frame_categories_are_what_pandas_categorical_gives():
    """Category codes are each value's level (looked up once per distinct value): known levels, unknown and missing values,
    a column absent from the rows, and a column with no value at all."""
    import pandas as pd

    from retainwise.science import schema
    from retainwise.science.features import FULL_FEATURES, feature_frame

    contract = list(schema.column("contract").categories)
    rows = pd.DataFrame(
        {
            "contract": [contract[0], contract[1], None, "weekly", contract[-1], contract[0]],
            "internet_service": [None] * 6,
            "payment_method": ["Electronic check", "bank_transfer", "", "credit_card", None, "x"],
            "tenure_months": [1.0, 2.0, None, 4.0, 5.0, 6.0],
        },
        index=[10, 11, 12, 13, 14, 15],
    ).astype({"contract": "str", "internet_service": "str", "payment_method": "str"})
    frame = feature_frame(rows, FULL_FEATURES)
    for name in FULL_FEATURES:
        col = schema.column(name)
        if col.kind != "category":
            continue
        source = rows[name].tolist() if name in rows.columns else [None] * 6
        levels = list(col.categories)
        expected = [levels.index(v) if v in levels else -1 for v in source]
        assert frame[name].cat.categories.tolist() == levels, name
        assert frame[name].cat.codes.tolist() == expected, name
    assert frame["contract"].cat.codes.tolist() == [0, 1, -1, -1, len(contract) - 1, 0]
    assert list(frame.index) == list(rows.index)
