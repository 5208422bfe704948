"""Segments: risk and revenue at risk by contract, tenure band, internet service and payment method,
and for SaaS files by seats band, from the customers' canonical fields."""

from __future__ import annotations

import numpy as np
import pandas as pd

from retainwise.reports import labels

TENURE_BANDS = (
    [0, 6, 12, 24, 48, float("inf")],
    ["0–6 months", "7–12 months", "1–2 years", "2–4 years", "4+ years"],
)
SEATS_BANDS = ([0, 5, 20, 100, float("inf")], ["1–5 seats", "6–20 seats", "21–100 seats", "100+ seats"])
#: (title, canonical field, bands or None for categories)
DIMENSIONS = (
    ("Contract", "contract", None),
    ("Months as a customer", "tenure_months", TENURE_BANDS),
    ("Internet", "internet_service", None),
    ("Payment method", "payment_method", None),
    ("Seats", "seats_used", SEATS_BANDS),
)
_BANDED = {title: bands[1] for title, _, bands in DIMENSIONS if bands}
#: The dimensions as a sentence names them ("a file has none of the columns segments are made from: ...").
DIMENSION_WORDS = ["contract", "months as a customer", "internet service", "payment method", "seats"]


def segment_labels(features: pd.DataFrame | None) -> pd.DataFrame:
    """Per customer (index: customer id), the human segment of each dimension the file has."""
    out = pd.DataFrame(index=features.index if features is not None else pd.Index([], dtype="str"))
    if features is None:
        return out
    for title, field, bands in DIMENSIONS:
        if field not in features.columns or features[field].isna().all():
            continue
        if bands:
            cut = pd.cut(
                pd.to_numeric(features[field], errors="coerce"),
                bins=bands[0],
                labels=bands[1],
                include_lowest=True,
            )
            out[title] = cut.astype("str").where(cut.notna(), "unknown")
        else:  # each distinct value said once (10,000 customers have three or four contracts)
            codes, uniques = pd.factorize(features[field], use_na_sentinel=False)
            out[title] = np.array([labels.value(field, v) for v in uniques], dtype=object)[codes]
    return out


def by_segment(results: pd.DataFrame, segs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """For each dimension: ``segment, customers, high_share, probability, revenue`` (the mean chance of leaving,
    revenue at risk per month); categories by revenue at risk (without money: by customers at high risk, then
    mean chance of leaving), bands (months as a customer, seats) in their own order."""
    if segs.empty:
        return {}
    joined = results.join(segs, on="customer_id")
    revenue = (
        joined["revenue_at_risk"]
        if "revenue_at_risk" in joined.columns
        else pd.Series(0.0, index=joined.index)
    )
    tables = {}
    for title in segs.columns:
        frame = pd.DataFrame(
            {
                "segment": joined[title].fillna("unknown"),
                "high": joined["churn_risk"].eq("HIGH"),
                "p": pd.to_numeric(joined.get("churn_probability", np.nan), errors="coerce"),
                "revenue": revenue.fillna(0.0),
            }
        )
        table = frame.groupby("segment").agg(
            customers=("high", "size"),
            high_share=("high", "mean"),
            probability=("p", "mean"),
            revenue=("revenue", "sum"),
        )
        if title in _BANDED:  # a ladder reads in its own order (0-6 months, 7-12 months, ...), unknown last
            bands = list(_BANDED[title])
            rank = [bands.index(b) if b in bands else len(bands) for b in table.index]
            table = table.iloc[sorted(range(len(table)), key=rank.__getitem__)]
        else:  # categories: where the money at risk is first (without money, all 0: the most customers at high risk)
            table = (
                table.assign(_high=table["high_share"] * table["customers"])
                .sort_values(["revenue", "_high", "probability"], ascending=False, kind="stable")
                .drop(columns="_high")
            )
        tables[title] = table.reset_index()
    return tables


def options(segs: pd.DataFrame) -> list[tuple[str, tuple[str, str] | None]]:
    """Choices for the grid's segment filter: ("Contract: month to month", (dimension, segment))."""
    choices: list[tuple[str, tuple[str, str] | None]] = [("All segments", None)]
    for title in segs.columns:
        for seg in sorted(segs[title].dropna().unique()):
            choices.append((f"{title}: {seg}", (title, seg)))
    return choices
