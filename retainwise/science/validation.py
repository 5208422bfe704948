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

A file is validated chunk by chunk (:class:`Validator`): counts, examples
and the ids already seen (as 64-bit hashes, not rows) are accumulated, so the
report equals the one for the whole file at once, duplicates across chunks
included. Scoring: quality.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from retainwise.errors import InputError
from retainwise.science import schema
from retainwise.science.quality import (
    CONFIRM_BELOW,
    CORE_FEATURES,
    LEVELS,
    MIN_FEATURES,
    MIN_ROWS,
    QualityReport,
    Report,
)


@dataclass
class Validation:
    quality: QualityReport
    rows: pd.DataFrame | None
    rows_in: int
    rows_rejected: int


@dataclass
class _Tally:
    """One issue's running count and first examples."""

    count: int = 0
    examples: list = field(default_factory=list)

    def add(self, count: int, examples, distinct: bool = False) -> None:
        self.count += int(count)
        for e in examples:
            if len(self.examples) >= 5:
                break
            if not (distinct and e in self.examples):
                self.examples.append(e)


def _sentence(name: str) -> str:
    """A column's label to open a sentence: first letter up, the rest as written ("NPS", not "Nps")."""
    label = schema.column(name).label
    return label[:1].upper() + label[1:]


def _rows(index) -> list[str]:
    return [f"row {int(i) + 2}" for i in index[:5]]


class _HashSet:
    """64-bit hashes seen so far: one sorted array per chunk (8 bytes a row; no re-sorting of the past)."""

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []

    def contains(self, h: np.ndarray) -> np.ndarray:
        found = np.zeros(len(h), dtype=bool)
        for part in self.parts:
            at = np.minimum(np.searchsorted(part, h), len(part) - 1)
            found |= part[at] == h
        return found

    def add(self, h: np.ndarray) -> None:
        if len(h):
            self.parts.append(np.sort(h))


def _hashes(values) -> np.ndarray:
    return pd.util.hash_pandas_object(values, index=False).to_numpy()


class Validator:
    """Validates a file chunk by chunk; :meth:`finish` gives the report the whole file at once would give.

    Raises InputError for an unknown ``level``; :meth:`add` for a chunk
    without ``customer_id``; :meth:`finish` when no row can be scored.
    """

    def __init__(self, *, level: str = "standard", mapping=None) -> None:
        if level not in LEVELS:
            raise InputError(
                f"Unknown validation level {level!r}: use one of {', '.join(LEVELS)}.", code="bad_level"
            )
        self.level, self.mapping = level, mapping
        self.source = {t: s for s, t in (mapping.mapping.items() if mapping is not None else [])}
        self.rows_in = self.scored = self.scorable = self.conflicting = 0
        self.seen_ids, self.seen_versions = _HashSet(), _HashSet()
        self.tallies: dict[tuple[str, str | None], _Tally] = {}
        self.columns: list[str] = []
        self.missing_cells = 0

    def _tally(self, code: str, column: str | None = None) -> _Tally:
        return self.tallies.setdefault((code, column), _Tally())

    def add(self, canonical: pd.DataFrame) -> pd.DataFrame:
        """Check one chunk of canonical rows (index: row positions); returns its rows to score."""
        if "customer_id" not in canonical.columns:
            raise InputError(
                "No customer id column was mapped: rename the id column to customer_id or pass a "
                "mapping override.",
                code="no_customer_id",
            )
        self.columns = list(canonical.columns)
        data = canonical.copy()
        data.attrs = {}
        self.rows_in += len(data)
        no_id, dup = self._identity(data)
        bad_rows = self._types(canonical, data)
        if self.level != "basic":
            self._business_rules(data)
            self._missing(data.loc[~no_id & ~dup])
        keep = ~no_id & ~dup
        if self.level == "strict":
            keep &= ~bad_rows
        rows = data.loc[keep]
        rows.index = pd.RangeIndex(self.scored, self.scored + len(rows))
        self.scored += len(rows)
        return rows

    def _identity(self, data: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        ids = data["customer_id"]
        no_id = ids.isna()
        self._tally("missing_id", "customer_id").add(no_id.sum(), _rows(data.index[no_id]))
        with_id = data.loc[~no_id]
        h, versions = _hashes(with_id["customer_id"]), _hashes(with_id)
        repeat = self.seen_ids.contains(h) | pd.Series(h).duplicated().to_numpy()
        new_version = ~self.seen_versions.contains(versions) & ~pd.Series(versions).duplicated().to_numpy()
        self.conflicting += int((repeat & new_version).sum())
        self.seen_ids.add(h)
        self.seen_versions.add(versions)
        dup = pd.Series(False, index=data.index)
        dup[with_id.index[repeat]] = True
        self._tally("duplicate_id", "customer_id").add(dup.sum(), ids[dup].tolist(), distinct=True)
        self.scorable += int((~no_id & ~dup).sum())
        return no_id, dup

    def _types(self, canonical: pd.DataFrame, data: pd.DataFrame) -> pd.Series:
        """Values not understood and out of range (made missing); the rows that had any."""
        bad_rows = pd.Series(False, index=data.index)
        for name, info in (canonical.attrs.get("not_understood") or {}).items():
            self._tally("not_understood", name).add(info["count"], info["examples"], distinct=True)
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
                self._tally("out_of_range", name).add(bad.sum(), values[bad].head(5).tolist())
                data.loc[bad, name] = np.nan
                bad_rows |= bad
        return bad_rows

    def _business_rules(self, data: pd.DataFrame) -> None:
        if {"total_charges", "tenure_months", "monthly_charges"} <= set(data.columns):
            expected = data["tenure_months"] * data["monthly_charges"]
            # generous: prices change, discounts and setup fees happen; only gross disagreement is flagged
            off = ((data["total_charges"] - expected).abs() > 0.5 * expected + 50).fillna(False).astype(bool)
            self._tally("charges_inconsistent", "total_charges").add(
                off.sum(), data.loc[off, "customer_id"].head(5).tolist()
            )

    def _missing(self, scorable: pd.DataFrame) -> None:
        features = [c for c in scorable.columns if c in schema.FEATURES]
        if not features:
            return
        missing = scorable[features].isna()
        self.missing_cells += int(missing.to_numpy().sum())
        for name in features:
            self._tally("missing_values", name).add(
                missing[name].sum(), _rows(scorable.index[missing[name].to_numpy()])
            )

    def finish(self) -> Validation:
        """The quality report over every chunk added. Raises InputError when no row can be scored."""
        report = Report(self.rows_in, 1.5 if self.level == "strict" else 1.0)
        self._report_rows(report)
        if self.level != "basic":
            self._report_readiness(report)
        if self.scored == 0:
            raise InputError(
                "No row can be scored (every row lacks a customer id or was rejected): fill in the id "
                "column" + (" or use a less strict quality level." if self.level == "strict" else "."),
                code="nothing_to_score",
            )
        score = max(0.0, 100.0 - report.penalty)
        quality = QualityReport(round(score, 1), self.level, report.issues)
        return Validation(quality, None, self.rows_in, int(self.rows_in - self.scored))

    def _report_rows(self, report: Report) -> None:
        t = self.tallies
        if (m := t.get(("missing_id", "customer_id"))) and m.count:
            report.add(
                "missing_id",
                "customer_id",
                "Rows without a customer id cannot be scored; fill in the id.",
                m.count,
                m.examples,
            )
        if (d := t.get(("duplicate_id", "customer_id"))) and d.count:
            extra = f" ({self.conflicting} of them with different values)" if self.conflicting else ""
            report.add(
                "duplicate_id",
                "customer_id",
                f"Customer ids appear more than once{extra}; the first row of "
                "each was scored, the repeats were not.",
                d.count,
                d.examples,
            )
        for name, src in self.source.items():
            confidence = self.mapping.confidence.get(src, 1.0)
            if confidence < CONFIRM_BELOW:
                report.add(
                    "uncertain_mapping",
                    name,
                    f"{src!r} was taken for {schema.column(name).label} from "
                    f"{self.mapping.method.get(src, 'weak')} evidence (confidence {confidence:.2f}); pass a "
                    "mapping override if that is wrong.",
                    self.rows_in,
                    [src],
                )
        for name in schema.NAMES:
            if (u := t.get(("not_understood", name))) and u.count:
                where = f" ({self.source[name]})" if name in self.source else ""
                report.add(
                    "not_understood",
                    name,
                    f"{_sentence(name)}{where} has values "
                    "that were not understood; they were treated as missing.",
                    u.count,
                    u.examples,
                )
        for name in schema.NAMES:
            if (r := t.get(("out_of_range", name))) and r.count:
                col = schema.column(name)
                bounds = f"at least {col.minimum:g}" + (
                    f" and at most {col.maximum:g}" if col.maximum is not None else ""
                )
                report.add(
                    "out_of_range",
                    name,
                    f"{_sentence(name)} must be {bounds}; impossible values were treated as missing.",
                    r.count,
                    r.examples,
                )

    def _report_readiness(self, report: Report) -> None:
        """What limits the predictions: inconsistent charges, few rows, few or missing features."""
        if (c := self.tallies.get(("charges_inconsistent", "total_charges"))) and c.count:
            report.add(
                "charges_inconsistent",
                "total_charges",
                "Total charges disagree with tenure x monthly "
                "charges; check that the columns are mapped right and in the same currency.",
                c.count,
                c.examples,
            )
        n_rows = self.scorable
        if 0 < n_rows < MIN_ROWS:
            report.add(
                "few_rows",
                None,
                f"Only {n_rows} customers can be scored; check the file is complete.",
                n_rows,
                [],
                share=1.0,
            )
        features = [c for c in self.columns if c in schema.FEATURES]
        if len(features) < MIN_FEATURES:
            report.add(
                "few_features",
                None,
                f"Only {len(features)} model features were mapped "
                f"({', '.join(features) or 'none'}); predictions are close to the base rate. Add columns "
                "such as tenure, contract and monthly charges.",
                len(features),
                features,
                share=1.0,
            )
        for name in CORE_FEATURES:
            if name not in self.columns:
                report.add(
                    "core_feature_missing",
                    name,
                    f"No column gives {schema.column(name).label}; "
                    "predictions are less confident without it.",
                    0,
                    [],
                    share=1.0,
                )
        self._report_missing(report, features, n_rows)

    def _report_missing(self, report: Report, features: list[str], n_rows: int) -> None:
        """Missing values per mapped feature, and the file as a whole when most of them are missing."""
        if not features or not n_rows:
            return
        for name in features:
            if (m := self.tallies.get(("missing_values", name))) and m.count:
                report.add(
                    "missing_values",
                    name,
                    f"{_sentence(name)} is missing for {m.count / n_rows:.0%} of rows.",
                    m.count,
                    m.examples,
                )
        share = self.missing_cells / (n_rows * len(features))
        if share > 0.5:
            report.add(
                "sparse_data",
                None,
                f"{share:.0%} of the mapped values are missing; predictions rest on little data.",
                self.missing_cells,
                [],
                share=1.0,
            )


def validate(canonical: pd.DataFrame, *, level: str = "standard", mapping=None) -> Validation:
    """Check ``canonical`` rows (from canonical.to_canonical) at once; the quality report and the rows to score.

    ``mapping`` (optional ColumnMapping) names source columns in messages.
    Raises InputError for an unknown ``level``, a frame without
    ``customer_id``, or when no row can be scored.
    """
    validator = Validator(level=level, mapping=mapping)
    rows = validator.add(canonical)
    result = validator.finish()
    result.rows = rows
    return result
