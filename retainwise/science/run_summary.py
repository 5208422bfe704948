"""summary.json of one scoring run, from a finished :class:`~retainwise.science.pipeline.Pipeline`.

The run's figures are the pipeline's (accumulated chunk by chunk); this module only lays them out
as summary.json holds them, and bins the probabilities for the risk chart, so a report never needs
to load all results.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from retainwise.science import scoring

TOP_IN_SUMMARY = 20
_SUMMARY_TOP = ["customer_id", "churn_probability", "churn_risk", "explanation", "recommended_action"]


def summary(run) -> dict:
    """summary.json as a dict (DESIGN fields plus input details, drivers, the most at risk, finish time)."""
    return {
        "run_id": run.run_id,
        "tenant": run.tenant,
        "rows_in": run.validation.rows_in,
        "rows_scored": int(len(run.scores)),
        "rows_rejected": run.validation.rows_rejected,
        "mapping": dict(run.mapping.mapping),
        "mapping_confidence": {k: round(float(v), 3) for k, v in run.mapping.confidence.items()},
        "unmapped": list(run.mapping.unmapped),
        "snapshot": run.snapshot.summary(),
        "quality": run.validation.quality.to_dict(),
        "model": run.model_summary(),
        "experiment": run.experiment,
        "drift": run.drift,
        **({"realised": run.realised} if run.realised else {}),
        "risk_counts": scoring.risk_counts(run.scores["churn_risk"]),
        "revenue_at_risk": run.revenue_at_risk(),
        "probability_histogram": histogram(run.scores),
        "top_at_risk": run.top_at_risk(TOP_IN_SUMMARY, _SUMMARY_TOP).to_dict(orient="records"),
        "timings_s": dict(run.timings),
        "input": {
            "name": run.upload.source_name,
            "format": run.upload.format,
            "encoding": run.upload.encoding,
            "delimiter": run.upload.delimiter,
        },
        "global_drivers": run.global_drivers().round(4).to_dict(orient="records"),
        "started_at": run.started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def histogram(scores: pd.DataFrame, bins: int = 20) -> dict:
    """Customers per probability bin (``edges``) and tier: the risk chart without the results."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    out = {"edges": [round(float(e), 4) for e in edges]}
    for tier in scoring.TIERS:
        p = scores.loc[scores["churn_risk"] == tier, "churn_probability"]
        out[tier] = np.histogram(p, bins=edges)[0].tolist()
    return out
