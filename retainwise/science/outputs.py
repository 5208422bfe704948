"""Writers of a run's outputs: ``results.csv`` and ``summary.json`` (DESIGN.md).

``results.csv`` has one row per distinct customer with the DESIGN columns in
order, then ``monthly_charges`` (for revenue at risk in the report; empty when
the upload had none) and the A/B detail: ``ml_probability``,
``rules_probability`` (empty where the rules cannot score) and
``scores_disagree``. Cells that echo customer text are neutralised against
CSV injection before writing.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from retainwise.science.neutralise import neutralise_frame

RESULT_COLUMNS = [
    "customer_id",
    "churn_probability",
    "churn_risk",
    "predicted_churn",
    "explanation",
    "risk_factors",
    "protective_factors",
    "model_version",
    "experiment_group",
]
#: After the DESIGN columns: revenue for the report, then the A/B detail (both scores, strong disagreement 0/1).
EXTRA_COLUMNS = ["monthly_charges", "ml_probability", "rules_probability", "scores_disagree"]
#: Columns that may echo text the customer wrote.
ECHOED = ["customer_id", "explanation", "risk_factors", "protective_factors"]


def write_results(results: pd.DataFrame, path: Path) -> Path:
    """Write ``results`` (must hold RESULT_COLUMNS) as CSV, echoed text neutralised."""
    missing = [c for c in RESULT_COLUMNS if c not in results.columns]
    if missing:
        raise ValueError(f"results lack columns {missing}")
    columns = RESULT_COLUMNS + [c for c in EXTRA_COLUMNS if c in results.columns]
    safe = neutralise_frame(results[columns], ECHOED)
    path.parent.mkdir(parents=True, exist_ok=True)
    safe.to_csv(path, index=False, float_format="%.6g", lineterminator="\n")
    return path


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_summary(summary: dict, path: Path) -> Path:
    """Write ``summary`` as pretty JSON (numpy scalars and NaN made JSON-safe)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_jsonable(summary), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
