"""The training notebook's building blocks (issue 17): profile, trials, progress, segments, AUC, card text."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from retainwise.resources import MODEL_DIR
from retainwise.science.model import CARD
from retainwise.science.training import card as cards
from retainwise.science.training import load_training_rows, profile
from retainwise.science.training.robustness import auc_rows
from retainwise.science.training.search import Progress, trials_table
from retainwise.science.training.segments import segments_table


@pytest.fixture(scope="module")
def data():
    return load_training_rows()


def test_profile_counts_missing_values_and_explains_blank_total_charges(data):
    rows, y = data
    styled = profile(rows, y)
    frame = styled.data
    assert frame.loc["total_charges", "missing"] == int(rows["total_charges"].isna().sum()) > 0
    assert frame.loc["tenure_months", "missing"] == 0
    html = styled.to_html()
    assert f"{len(y):,} customers" in html and "first month" in html
    assert frame.loc["partner", "summary"] == f"yes {rows['partner'].mean():.0%}"


def test_trials_table_sorts_by_auc_and_marks_the_chosen_trial():
    trials = [
        {"params": {"eta": e}, "rounds": 10, "roc_auc": a, "roc_auc_std": 0.01, "brier": 0.13, "seconds": 1.0}
        for e, a in ((0.1, 0.84), (0.2, 0.86), (0.3, 0.85))
    ]
    table = trials_table({"full": {"params": {"eta": 0.3}, "rounds": 10, "trials": trials}})
    assert list(table["CV ROC AUC"]) == [0.86, 0.85, 0.84]
    assert list(table["chosen"]) == ["", "✔", ""]


def test_progress_appends_one_line_per_trial_for_the_command(tmp_path):
    path = tmp_path / "progress.txt"
    progress = Progress(path)
    progress("full", 1, 3, 0.85)
    progress("full", 2, 3, 0.8567)
    assert path.read_text(encoding="utf-8").splitlines() == ["full 1/3 0.8500", "full 2/3 0.8567"]


def test_segments_show_a_weak_segment():
    rng = np.random.default_rng(0)
    n = 2000
    rows = pd.DataFrame(
        {"contract": rng.choice(["monthly", "annual"], n), "tenure_months": rng.integers(0, 72, n)}
    )
    y = rng.integers(0, 2, n)
    # a perfect score for monthly customers, noise for annual ones
    p = np.where(rows["contract"] == "monthly", 0.2 + 0.6 * y, rng.random(n))
    table = segments_table(rows, y, p).set_index(["segment", "value"])
    assert table.loc[("contract", "monthly"), "ROC AUC"] == 1.0
    assert (
        table.loc[("contract", "annual"), "ROC AUC"] < 0.6 and table.loc[("contract", "annual"), "vs all"] < 0
    )
    assert table.xs("tenure band")["customers"].sum() == n


def test_auc_rows_matches_scikit_learn_with_ties():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500)
    scores = np.round(rng.normal(size=(6, 500)), 1) + y * np.arange(6)[:, None] * 0.2
    assert np.allclose(auc_rows(y, scores), [roc_auc_score(y, s) for s in scores])


def test_card_markdown_shows_a_file_name_safely_and_history():
    card = json.loads((MODEL_DIR / CARD).read_text(encoding="utf-8"))
    card["data"]["file"] = "evil`<img src=x onerror=alert(1)>`.csv"
    text = cards.markdown(cards.promoted(card, card, "2030-01-01T00:00:00+00:00"))
    line = next(t for t in text.splitlines() if "customers," in t)
    # the name stays inside one code span, where Markdown shows HTML as text
    assert line.startswith("- `evil'<img src=x onerror=alert(1)>'.csv`: ")
    assert "## Champion history" in text and "2030-01-01T00:00:00+00:00" in text
