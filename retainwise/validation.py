"""Validating canonical rows and scoring the data's quality.

Checks rows that cannot be scored (no customer id), duplicate ids (first kept,
the rest reported), missing values, out-of-range numbers, and whether total
charges agree with tenure x monthly charges. Each finding is an issue with a
code, column, message, count and examples; the score starts at 100 and loses
points in proportion to the share of rows each issue touches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from . import schema
from .errors import InputError

LEVELS = ("basic", "standard", "strict")


@dataclass
class QualityIssue:
    code: str
    column: str | None
    message: str
    count: int
    examples: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"code": self.code, "column": self.column, "message": self.message, "count": int(self.count),
                "examples": [str(e) for e in self.examples]}


@dataclass
class QualityReport:
    score: float
    level: str
    issues: list[QualityIssue]

    def to_dict(self) -> dict:
        return {"score": round(float(self.score), 1), "level": self.level,
                "issues": [i.to_dict() for i in self.issues]}

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([i.to_dict() for i in self.issues],
                            columns=["code", "column", "message", "count", "examples"])


@dataclass
class Validation:
    quality: QualityReport
    rows: pd.DataFrame
    rows_in: int
    rows_rejected: int


def validate(canonical: pd.DataFrame, *, level: str = "standard", mapping=None) -> Validation:
    """Check ``canonical`` rows; return the quality report and the rows to score."""
    if level not in LEVELS:
        raise InputError(f"Unknown validation level {level!r}: use one of {', '.join(LEVELS)}.", code="bad_level")
    n = len(canonical)
    issues: list[QualityIssue] = []
    penalty = 0.0
    ids = canonical["customer_id"]
    no_id = ids.isna()
    if no_id.any():
        issues.append(QualityIssue("missing_id", "customer_id", "Rows without a customer id cannot be scored.",
                                   int(no_id.sum()), [int(i) + 2 for i in canonical.index[no_id][:5]]))
        penalty += 30 * no_id.mean()
    dup = ids.duplicated(keep="first") & ~no_id
    if dup.any():
        issues.append(QualityIssue("duplicate_id", "customer_id",
                                   "Customer ids appear more than once; the first row of each was scored.",
                                   int(dup.sum()), list(dict.fromkeys(ids[dup]))[:5]))
        penalty += 20 * dup.mean()
    for name in canonical.columns:
        col = schema.column(name)
        if col.kind == "id" or col.group == "outcome":
            continue
        missing = canonical[name].isna()
        if missing.any() and level != "basic":
            issues.append(QualityIssue("missing_values", name, f"{col.label} is missing or not understood.",
                                       int(missing.sum()), [int(i) + 2 for i in canonical.index[missing][:5]]))
            penalty += 5 * missing.mean()
        if col.kind == "number":
            values = canonical[name]
            bad = (values < col.minimum if col.minimum is not None else False) | (
                values > col.maximum if col.maximum is not None else False)
            bad = pd.Series(bad, index=canonical.index).fillna(False).astype(bool)
            if bad.any():
                issues.append(QualityIssue("out_of_range", name, f"{col.label} has impossible values.",
                                           int(bad.sum()), values[bad].head(5).tolist()))
                penalty += 10 * bad.mean()
    if level != "basic" and {"total_charges", "tenure_months", "monthly_charges"} <= set(canonical.columns):
        expected = canonical["tenure_months"] * canonical["monthly_charges"]
        off = (canonical["total_charges"] - expected).abs() > 0.5 * expected + 50
        off = off.fillna(False).astype(bool)
        if off.any():
            issues.append(QualityIssue("charges_inconsistent", "total_charges",
                                       "Total charges disagree with tenure x monthly charges.", int(off.sum()),
                                       ids[off].head(5).tolist()))
            penalty += (10 if level == "strict" else 5) * off.mean()
    keep = ~no_id & ~dup
    rows = canonical.loc[keep].reset_index(drop=True)
    if rows.empty:
        raise InputError("No row has a customer id, so nothing can be scored: fill in the id column.",
                         code="nothing_to_score")
    score = max(0.0, 100.0 - 100.0 * penalty / 100.0 * 1.0) if n else 0.0
    return Validation(QualityReport(round(score, 1), level, issues), rows, n, int(n - len(rows)))
