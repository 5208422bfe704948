"""science.display: the pipeline notebook's paragraphs, made by the package, user text escaped."""

from __future__ import annotations

from types import SimpleNamespace

from retainwise.science import display, scoring

XSS = "<img src=x onerror=alert(1)>"


def test_the_tier_legend_follows_the_one_definition_in_scoring(monkeypatch):
    assert "0.60" in display.tier_legend() and "0.30" in display.tier_legend()
    monkeypatch.setattr(scoring, "HIGH", 0.7)
    monkeypatch.setattr(scoring, "MEDIUM", 0.25)
    legend = display.tier_legend()
    assert "0.70" in legend and "0.25" in legend and "0.60" not in legend


def test_the_prediction_paragraph_names_every_tier_and_says_what_they_mean():
    model = {"kind": "ml", "version": "v1", "feature_set": "full", "confidence": "high", "reason": XSS}
    text = display.prediction_summary(model, {"HIGH": 3, "LOW": 1})
    assert "3 HIGH, 0 MEDIUM, 1 LOW" in text and display.tier_legend() in text
    assert "<img" not in text


def test_the_validation_line_is_made_from_the_report():
    quality = SimpleNamespace(score=87.4, level="standard")
    validation = SimpleNamespace(quality=quality, rows_in=1200, rows_rejected=34)
    text = display.validation_summary(validation)
    assert text == "**Quality score 87/100** (standard checks): 1,166 customers to score, 34 rows rejected."


def test_output_paths_are_shown_escaped():
    text = display.outputs_list({"results.csv": f"/tmp/{XSS}/results.csv", "summary.json": "/tmp/s.json"})
    lines = text.splitlines()
    assert len(lines) == 2 and all(line.startswith("- ") for line in lines)
    assert "<img" not in text and "&lt;img" in text
