"""Performance by customer segment, so a segment the model serves badly is visible before it goes live."""

from __future__ import annotations

import numpy as np
import pandas as pd

TENURE_BANDS = [(0, 6), (7, 12), (13, 24), (25, 48), (49, 10_000)]
SEGMENTS = ("contract", "tenure band", "internet_service", "payment_method")


def _tenure_band(tenure: pd.Series) -> pd.Series:
    labels = [f"{lo}-{hi} months" if hi < 10_000 else f"{lo}+ months" for lo, hi in TENURE_BANDS]
    bands = pd.Series(pd.NA, index=tenure.index, dtype="object")
    for (lo, hi), label in zip(TENURE_BANDS, labels, strict=True):
        bands[(tenure >= lo) & (tenure <= hi)] = label
    return bands


def segments_table(rows: pd.DataFrame, y: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    """Per segment value: customers, churn rate, mean predicted probability, ROC AUC and its gap to the whole.

    ``p`` are out-of-fold probabilities of ``rows``. ROC AUC is empty where a
    segment holds only one class. Raises nothing.
    """
    from sklearn.metrics import roc_auc_score

    overall = float(roc_auc_score(y, p))
    records = []
    for segment in SEGMENTS:
        if segment == "tenure band":
            if "tenure_months" not in rows.columns:
                continue
            values = _tenure_band(rows["tenure_months"])
        elif segment in rows.columns:
            values = rows[segment].astype("object")
        else:
            continue
        for value in pd.unique(values.dropna()):
            sel = (values == value).to_numpy()
            both = len(np.unique(y[sel])) == 2
            auc = float(roc_auc_score(y[sel], p[sel])) if both else None
            records.append(
                {
                    "segment": segment,
                    "value": str(value),
                    "customers": int(sel.sum()),
                    "churn rate": round(float(y[sel].mean()), 3),
                    "mean probability": round(float(p[sel].mean()), 3),
                    "ROC AUC": None if auc is None else round(auc, 4),
                    "vs all": None if auc is None else round(auc - overall, 4),
                }
            )
    return pd.DataFrame(records).sort_values(
        ["segment", "customers"], ascending=[True, False], ignore_index=True
    )
