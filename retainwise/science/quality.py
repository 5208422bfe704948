"""The data-quality report of an upload: issues, their weights and the score.

The score starts at 100 and each issue takes ``weight x share of rows it
touches`` (or its full weight when it concerns the whole file), never below 0.
Issues are ``{code, column, message, count, examples}``; see validation.py for
what raises each.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

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


class Report:
    """Issues as they are added, and the penalty they carry."""

    def __init__(self, n: int, factor: float) -> None:
        self.n, self.factor, self.issues, self.penalty = n, factor, [], 0.0

    def add(
        self, code: str, column: str | None, message: str, count: int, examples, share: float | None = None
    ):
        self.issues.append(QualityIssue(code, column, message, int(count), list(examples)[:5]))
        share = (count / self.n if self.n else 1.0) if share is None else share
        self.penalty += WEIGHTS[code] * self.factor * min(share, 1.0)
