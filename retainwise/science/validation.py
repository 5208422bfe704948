"""Validating canonical rows and scoring the data's quality.

Layers, each adding issues ``{code, column, message, count, examples}``:

1. **schema** - the customer id is there; mappings a person should confirm
   (``uncertain_mapping``: fuzzy or value-only matches, no penalty).
2. **identity** - rows without a customer id cannot be scored
   (``missing_id``); repeated ids (``duplicate_id``) keep their first row and
   the rest are rejected. Both are counted and shown, never silently dropped
   or doubled.
3. **types** - values present but not understood (``not_understood``: "abc"
   in a money column, "sometimes" in a yes/no column); they become missing.
4. **ranges** - impossible numbers (``out_of_range``: negative charges,
   tenure over 100 years) become missing.
5. **business rules** (standard, strict) - total charges far from tenure x
   monthly charges (``charges_inconsistent``).
6. **readiness** (standard, strict) - enough rows (``few_rows``), enough
   usable features (``few_features``, ``core_feature_missing``), share of
   missing values per column (``missing_values``) and overall (``sparse_data``).

Levels: ``basic`` runs layers 1-4; ``standard`` all; ``strict`` all, rejects
rows with values not understood or out of range instead of scoring them with
those values missing, and weighs every issue 1.5 times.

The score starts at 100 and each issue takes ``weight x share of rows it
touches`` (or its full weight when it concerns the whole file), never below 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from retainwise.errors import InputError
from retainwise.science import schema

LEVELS = ("basic", "standard", "strict")
#: Fewer scorable rows than this is worth a warning (scores are per customer, but the file may be truncated).
MIN_ROWS = 10
#: Fewer mapped model features than this and the scores are little better than the base rate.
MIN_FEATURES = 3
CORE_FEATURES = ("tenure_months", "monthly_charges", "total_charges", "contract")
WEIGHTS = {
    "missing_id": 30,
    "duplicate_id": 10,
    "not_understood": 10,
    "out_of_range": 10,
    "missing_values": 4,
    "charges_inconsistent": 5,
    "few_rows": 10,
    "few_features": 25,
    "core_feature_missing": 5,
    "sparse_data": 10,
    "uncertain_mapping": 0,  # a note for a person, not a fault of the data
}
#: Mappings less confident than this are listed so a person can confirm them (or override).
CONFIRM_BELOW = 0.75


@dataclass
class QualityIssue:
    code: str
    column: str | None
    message: str
    count: int
    examples: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "column": self.column,
            "message": self.message,
            "count": int(self.count),
            "examples": [str(e) for e in self.examples],
        }


@dataclass
class QualityReport:
    score: float
    level: str
    issues: list[QualityIssue]

    def to_dict(self) -> dict:
        return {
            "score": round(float(self.score), 1),
            "level": self.level,
            "issues": [i.to_dict() for i in self.issues],
        }

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            [i.to_dict() for i in self.issues], columns=["code", "column", "message", "count", "examples"]
        )

    def codes(self) -> set[str]:
        return {i.code for i in self.issues}


@dataclass
class Validation:
    quality: QualityReport
    rows: pd.DataFrame
    rows_in: int
    rows_rejected: int


class _Report:
    def __init__(self, n: int, factor: float) -> None:
        self.n, self.factor, self.issues, self.penalty = n, factor, [], 0.0

    def add(
        self, code: str, column: str | None, message: str, count: int, examples, share: float | None = None
    ):
        self.issues.append(QualityIssue(code, column, message, int(count), list(examples)[:5]))
        share = (count / self.n if self.n else 1.0) if share is None else share
        self.penalty += WEIGHTS[code] * self.factor * min(share, 1.0)


def _rows(index) -> list[str]:
    return [f"row {int(i) + 2}" for i in index[:5]]


def validate(canonical: pd.DataFrame, *, level: str = "standard", mapping=None) -> Validation:
    """Check ``canonical`` rows (from normalise.to_canonical); return the quality report and the rows to score.

    ``mapping`` (optional ColumnMapping) names source columns in messages.
    Raises InputError for an unknown ``level``, a frame without
    ``customer_id``, or when no row can be scored.
    """
    if level not in LEVELS:
        raise InputError(
            f"Unknown validation level {level!r}: use one of {', '.join(LEVELS)}.", code="bad_level"
        )
    if "customer_id" not in canonical.columns:
        raise InputError(
            "No customer id column was mapped: rename the id column to customer_id or pass a mapping "
            "override.",
            code="no_customer_id",
        )
    source = {t: s for s, t in (mapping.mapping.items() if mapping is not None else [])}
    n = len(canonical)
    report = _Report(n, 1.5 if level == "strict" else 1.0)
    data = canonical.copy()
    data.attrs = {}
    ids = data["customer_id"]
    no_id = ids.isna()
    if no_id.any():
        report.add(
            "missing_id",
            "customer_id",
            "Rows without a customer id cannot be scored; fill in the id.",
            no_id.sum(),
            _rows(data.index[no_id]),
        )
    dup = ids.duplicated(keep="first") & ~no_id
    if dup.any():
        conflicting = int(
            (data.loc[dup | ids.isin(ids[dup])].drop_duplicates().duplicated("customer_id")).sum()
        )
        extra = f" ({conflicting} of them with different values)" if conflicting else ""
        report.add(
            "duplicate_id",
            "customer_id",
            f"Customer ids appear more than once{extra}; the first row of "
            "each was scored, the repeats were not.",
            dup.sum(),
            list(dict.fromkeys(ids[dup])),
        )
    for name, src in source.items():
        confidence = mapping.confidence.get(src, 1.0)
        if confidence < CONFIRM_BELOW:
            report.add(
                "uncertain_mapping",
                name,
                f"{src!r} was taken for {schema.column(name).label} from "
                f"{mapping.method.get(src, 'weak')} evidence (confidence {confidence:.2f}); pass a mapping "
                "override if that is wrong.",
                n,
                [src],
            )
    bad_rows = pd.Series(False, index=data.index)
    for name, info in (canonical.attrs.get("not_understood") or {}).items():
        where = f" ({source[name]})" if name in source else ""
        report.add(
            "not_understood",
            name,
            f"{schema.column(name).label.capitalize()}{where} has values that were "
            "not understood; they were treated as missing.",
            info["count"],
            info["examples"],
        )
        if "rows" in info:
            bad_rows |= data.index.isin(info["rows"])
    for name in data.columns:
        col = schema.column(name)
        if col.kind != "number" or (col.minimum is None and col.maximum is None):
            continue
        values = data[name]
        low = values < col.minimum if col.minimum is not None else False
        high = values > col.maximum if col.maximum is not None else False
        bad = pd.Series(np.asarray(low | high, dtype=bool), index=data.index)
        if bad.any():
            bounds = f"at least {col.minimum:g}" + (
                f" and at most {col.maximum:g}" if col.maximum is not None else ""
            )
            report.add(
                "out_of_range",
                name,
                f"{col.label.capitalize()} must be {bounds}; impossible values were treated as missing.",
                bad.sum(),
                values[bad].head(5).tolist(),
            )
            data.loc[bad, name] = np.nan
            bad_rows |= bad
    if level != "basic":
        _business_rules(data, report)
        _readiness(data, report, ~no_id & ~dup)
    keep = ~no_id & ~dup
    if level == "strict":
        keep &= ~bad_rows
    rows = data.loc[keep].reset_index(drop=True)
    if rows.empty:
        raise InputError(
            "No row can be scored (every row lacks a customer id or was rejected): fill in the id "
            "column" + (" or use a less strict quality level." if level == "strict" else "."),
            code="nothing_to_score",
        )
    score = max(0.0, 100.0 - report.penalty)
    return Validation(QualityReport(round(score, 1), level, report.issues), rows, n, int(n - len(rows)))


def _business_rules(data: pd.DataFrame, report: _Report) -> None:
    if {"total_charges", "tenure_months", "monthly_charges"} <= set(data.columns):
        expected = data["tenure_months"] * data["monthly_charges"]
        # generous: prices change, discounts and setup fees happen; only gross disagreement is flagged
        off = ((data["total_charges"] - expected).abs() > 0.5 * expected + 50).fillna(False).astype(bool)
        if off.any():
            report.add(
                "charges_inconsistent",
                "total_charges",
                "Total charges disagree with tenure x monthly "
                "charges; check that the columns are mapped right and in the same currency.",
                off.sum(),
                data.loc[off, "customer_id"].head(5).tolist(),
            )


def _readiness(data: pd.DataFrame, report: _Report, scorable: pd.Series) -> None:
    n_rows = int(scorable.sum())
    if 0 < n_rows < MIN_ROWS:
        report.add(
            "few_rows",
            None,
            f"Only {n_rows} customers can be scored; check the file is complete.",
            n_rows,
            [],
            share=1.0,
        )
    features = [c for c in data.columns if c in schema.FEATURES]
    if len(features) < MIN_FEATURES:
        report.add(
            "few_features",
            None,
            f"Only {len(features)} model features were mapped "
            f"({', '.join(features) or 'none'}); predictions are close to the base rate. Add columns such as "
            "tenure, contract and monthly charges.",
            len(features),
            features,
            share=1.0,
        )
    for name in CORE_FEATURES:
        if name not in data.columns:
            report.add(
                "core_feature_missing",
                name,
                f"No column gives {schema.column(name).label}; predictions are less confident without it.",
                0,
                [],
                share=1.0,
            )
    data = data.loc[scorable]
    if not features or data.empty:
        return
    missing = data[features].isna()
    for name in features:
        count = int(missing[name].sum())
        if count:
            report.add(
                "missing_values",
                name,
                f"{schema.column(name).label.capitalize()} is missing for {count / len(data):.0%} of rows.",
                count,
                _rows(data.index[missing[name].to_numpy()]),
            )
    share = float(missing.to_numpy().mean())
    if share > 0.5:
        report.add(
            "sparse_data",
            None,
            f"{share:.0%} of the mapped values are missing; predictions rest on little data.",
            int(missing.to_numpy().sum()),
            [],
            share=1.0,
        )
