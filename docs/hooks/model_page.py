"""The committed model's figures, from its card (``retainwise/model/model_card.json``), so the page
quotes the model scoring actually uses, and changes when ``retainwise train --install`` replaces it."""

from __future__ import annotations

import json
from pathlib import Path

from markdown_cells import cell, code, table


def render(root: Path) -> str:
    card = json.loads((root / "retainwise" / "model" / "model_card.json").read_text(encoding="utf-8"))
    cv, data, missing = card["cv"], card.get("data", {}), card.get("missing_columns", {})
    rows = [
        ["version", code(card["version"])],
        [
            "trained on",
            cell(
                f"{data.get('file', '?')}, {data.get('rows', 0):,} customers ({card.get('trained_at', '')[:10]})"
            ),
        ],
        ["evaluation", cell(cv.get("method", ""))],
        ["ROC AUC", f"**{cv['roc_auc']:.3f}**"],
        ["Brier score", f"**{cv['brier']:.3f}**"],
        ["expected calibration error", f"{cv['ece']:.3f}"],
        [
            "accuracy at the threshold",
            cell(
                f"{cv['accuracy']:.3f} at {card['threshold']} (always answering 'stays': {cv['base_rate_accuracy']:.3f})"
            ),
        ],
    ]
    if "core_only_roc_auc" in missing:
        rows.append(["core columns only", f"ROC AUC {missing['core_only_roc_auc']:.3f}"])
    if "min_drop_one_optional_roc_auc" in missing:
        rows.append(
            ["any one optional column missing", f"ROC AUC ≥ {missing['min_drop_one_optional_roc_auc']:.3f}"]
        )
    return table(["", "committed model"], rows)
