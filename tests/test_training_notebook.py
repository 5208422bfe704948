"""`retainwise train` and `retainwise model` (issues 17 and 12): the notebook's sections, progress, the gate line."""

import json
import subprocess
import sys

import pytest

from retainwise.resources import MODEL_DIR
from retainwise.science.model import CARD


def _retainwise(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "retainwise", *args], capture_output=True, text=True, timeout=timeout
    )


def _outputs(nb, source: str) -> list:
    cells = [c for c in nb.cells if c.cell_type == "code" and c.source.strip() == source]
    assert len(cells) == 1, source
    return cells[0].outputs


def _html(outputs) -> str:
    return "".join(o.get("data", {}).get("text/html", "") for o in outputs)


@pytest.mark.slow
@pytest.mark.notebook
def test_retainwise_train_runs_every_section_shows_progress_and_gates(tmp_path):
    import nbformat

    committed = (MODEL_DIR / CARD).read_bytes()
    proc = _retainwise("train", "--out", str(tmp_path), "--budget", "1", "--seed", "42", timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "full: trial 1/1, best CV ROC AUC so far 0.8" in proc.stderr
    assert "core: trial 1/1" in proc.stderr
    assert "CV ROC AUC" in proc.stdout and "gate: promote" in proc.stdout
    assert (MODEL_DIR / CARD).read_bytes() == committed  # --out never touches the committed model

    nb = nbformat.read(str(tmp_path / "training.ipynb"), as_version=4)
    assert nb.metadata["papermill"]["parameters"]["budget"] == 1
    trials = _html(_outputs(nb, "run.search()"))
    assert "CV ROC AUC" in trials and "± std" in trials and "✔" in trials and "scale_pos_weight" in trials
    folds = _html(_outputs(nb, "run.cross_validation()"))
    # 2 feature sets x 3 repeats x 5 folds, with PR AUC and Brier per fold
    assert "PR AUC" in folds and "Brier" in folds and folds.count("<tr>") >= 30
    segments = _html(_outputs(nb, "run.segments()"))
    for expected in (
        "mean probability",
        "ROC AUC",
        "contract",
        "tenure band",
        "internet_service",
        "payment_method",
    ):
        assert expected in segments, expected
    figures = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})
    ]
    assert len(figures) >= 4
    assert "Verdict: promote" in _html(_outputs(nb, "run.gate(champion_dir or MODEL_DIR)"))
    card_md = "".join(
        o["data"].get("text/markdown", "")
        for o in _outputs(nb, "Markdown(model_card_markdown(run.card(out)))")
    )
    assert "## Promotion gate" in card_md and "**promote**" in card_md
    card = json.loads((tmp_path / CARD).read_text(encoding="utf-8"))
    assert card["gate"]["champion"] == json.loads(committed)["version"] and len(card["gate"]["folds"]) == 5


def test_train_needs_out_or_install_and_never_writes_into_the_committed_folder():
    proc = _retainwise("train")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--out DIR is required" in proc.stderr
    proc = _retainwise("train", "--out", str(MODEL_DIR))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--install" in proc.stderr


@pytest.mark.parametrize("budget", ["-1", "0", "many"])
def test_train_refuses_a_bad_budget_in_the_parser(budget, tmp_path):
    proc = _retainwise("train", "--out", str(tmp_path), "--budget", budget)
    assert proc.returncode == 2 and "--budget" in proc.stderr
    assert not list(tmp_path.iterdir())  # refused before anything ran


def test_model_prints_the_current_card():
    card = json.loads((MODEL_DIR / CARD).read_text(encoding="utf-8"))
    proc = _retainwise("model")
    assert proc.returncode == 0 and proc.stdout.startswith(f"# Model card: {card['version']}")
    assert f"ROC AUC **{card['cv']['roc_auc']}**" in proc.stdout
    proc = _retainwise("model", "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout) == card


def test_train_reports_lines_or_one_json_object(tmp_path, capsys):
    from retainwise.cli.train import _report

    card = json.loads((MODEL_DIR / CARD).read_text(encoding="utf-8"))
    card["gate"] = {"decision": "reject", "reason": "ROC AUC worse than the champion beyond noise"}
    _report(card, tmp_path, tmp_path / "training.ipynb", as_json=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"model {card['version']}: CV ROC AUC {card['cv']['roc_auc']}")
    assert lines[1] == "gate: reject (ROC AUC worse than the champion beyond noise)"
    _report(card, tmp_path, tmp_path / "training.ipynb", as_json=True)
    report = json.loads(capsys.readouterr().out)
    assert report["gate"]["decision"] == "reject" and report["cv"]["brier"] == card["cv"]["brier"]


def test_progress_lines_are_printed_whole_even_when_read_half_written(tmp_path, capsys):
    import threading

    from retainwise.cli.train import _follow

    path = tmp_path / "progress.txt"
    path.write_text("full 1/2 0.85", encoding="utf-8")  # no newline yet: still being written
    stop = threading.Event()
    follower = threading.Thread(target=_follow, args=(path, stop))
    follower.start()
    stop.wait(0.8)
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("56\ncore 2/2 0.8377\n")
    stop.set()
    follower.join()
    assert capsys.readouterr().err.splitlines() == [
        "training full: trial 1/2, best CV ROC AUC so far 0.8556",
        "training core: trial 2/2, best CV ROC AUC so far 0.8377",
    ]
