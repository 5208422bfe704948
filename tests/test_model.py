import shutil

import numpy as np
import pytest

from retainwise.errors import ModelError
from retainwise.model import ARTEFACT, CARD, MODEL_DIR, load_model, sha256_file
from retainwise.training import load_training_rows


@pytest.fixture(scope="module")
def rows():
    canonical, _ = load_training_rows()
    return canonical.head(500)


def test_bundled_model_matches_its_card():
    model = load_model()
    assert model.card["sha256"] == sha256_file(MODEL_DIR / ARTEFACT)
    assert model.version.startswith("xgb-") and model.features


def test_probabilities_are_probabilities(rows):
    p = load_model().predict_proba(rows)
    assert p.shape == (len(rows),)
    assert np.all((p >= 0) & (p <= 1)) and p.std() > 0.05


def test_shap_contributions_add_up_to_the_margin(rows):
    model = load_model()
    contribs, base = model.contributions(rows)
    np.testing.assert_allclose(contribs.sum(axis=1) + base, model.margin(rows), atol=1e-4)


def test_tampered_artefact_is_refused(tmp_path):
    target = tmp_path / "model"
    shutil.copytree(MODEL_DIR, target)
    data = bytearray((target / ARTEFACT).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (target / ARTEFACT).write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match its model card") as info:
        load_model(target)
    assert info.value.code == "model_tampered"


def test_missing_model_says_how_to_fix(tmp_path):
    (tmp_path / CARD).write_text("{}")
    with pytest.raises(ModelError, match="retainwise train"):
        load_model(tmp_path)
