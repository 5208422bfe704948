"""Mapping an upload's columns onto the canonical schema.

Stages, strongest first; every mapping carries a confidence in [0, 1]:

========== ========== =====================================================
method     confidence what matches
========== ========== =====================================================
override   1.0        the run's ``mapping_overrides`` (source -> canonical,
                      or -> None to leave a column out); wins over all
saved      stored     the tenant's saved mapping (see mapping_record.py)
exact      1.0        the canonical name itself (``monthly_charges``)
normalised 0.95       the canonical name once case, spaces, punctuation,
                      camelCase and units in brackets ("(months)", "($)")
                      are ignored: ``Monthly Charges ($)``, ``customerID``
alias      0.9        a known CRM, billing or SaaS name (schema aliases):
                      ``MRR``, ``Months Active``, ``billing_cycle``
partial    0.8        an alias plus filler words (``Current MRR Amount``)
fuzzy      0.6-0.78   a misspelt alias (rapidfuzz ratio >= 84)
values     0.6        no header match the values bear out, but the values
                      are unmistakably contract terms, payment methods,
                      internet services, phone lines, genders or plan tiers
========== ========== =====================================================

Value-based evidence: for every inferred stage the share of the column's
values that fit the target (numbers for money, yes/no for flags, known
spellings for categories, distinct values for the id) scales the confidence
(``base x (0.6 + 0.4 x fit)``); alias, partial and fuzzy matches whose values
mostly do not fit (< 0.5) are dropped. So an ``MRR`` column holding "Pro" and
"Basic" is not taken for monthly charges, and a ``billing_cycle`` of "annual"
is the contract.

No cross-domain guesses. A header that says what its column is is never
overruled by a guess: a fuzzy or values match to a field is refused when the
header *names another field* (it holds every word of one of that field's
names or aliases, plural or not, not inside a longer name of a third field:
``Failed Payments`` names failed_payments, ``Payment Retries`` payment_method,
so neither is ever multiple lines, however its 0/1 values look) or
carries a word for a thing the schema has no field for (``Owner``, ``Date``,
``Invoice``, ``Name``: vocabulary.NOT_IN_SCHEMA) other than in a name of the
target itself (:func:`~retainwise.science.headers.says_otherwise`). Only headers that name nothing
(``Line``, ``Package``, ``Pay by``, ``Col7``, a blank) get a field from their
values alone, and only from values that tell: plain yes/no, true/false or 1/0
fit multiple lines as well as any flag, so they are no evidence for it. One
pair of fields is kin rather than foreign (headers.py ``_KIN``): a ``Plan`` column of
Monthly/Annual is the contract, a ``Subscription Type`` of Pro/Basic the plan.
A refused guess leaves the column unmapped: the portal's column review lists
every column, unmapped ones with no field chosen, for a person to decide.

No two source columns map to one canonical name: the more confident one wins
(ties: the earlier column) and the other is listed as unmapped. Tenure headers
that say days, weeks or years ("Tenure (days)", "Years as customer") record
that unit in ``units`` so normalisation converts to months.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from retainwise.errors import InputError
from retainwise.science import schema
from retainwise.science.headers import BASE, header_candidates, header_parts, says_otherwise
from retainwise.science.mapping_record import build_record, clean_record
from retainwise.science.normalise import value_fit
from retainwise.science.upload_stream import SAMPLE_ROWS
from retainwise.science.vocabulary import _YES_NO

VALUE_SAMPLE = SAMPLE_ROWS  # the sample an upload stream reads first
#: Categories whose values alone identify the column.
_DISTINCTIVE = ("contract", "payment_method", "internet_service", "multiple_lines", "gender", "plan")


@dataclass
class ColumnMapping:
    """The mapping of one upload: source column -> canonical name, with confidence and method per source."""

    mapping: dict[str, str] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    method: dict[str, str] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    #: source column -> unit its header names (``days``, ``weeks``, ``years``) where it matters (tenure).
    units: dict[str, str] = field(default_factory=dict)
    #: things a person should know (ignored overrides, a reused saved mapping).
    notes: list[str] = field(default_factory=list)
    #: the record to save for the tenant's next upload (mapping_record.build_record).
    record: dict | None = None

    def table(self) -> pd.DataFrame:
        rows = [(s, c, round(self.confidence[s], 3), self.method[s]) for s, c in self.mapping.items()]
        rows += [(s, None, 0.0, "unmapped") for s in self.unmapped]
        return pd.DataFrame(rows, columns=["source", "canonical", "confidence", "method"])

    def to_dict(self) -> dict:
        return {
            "mapping": dict(self.mapping),
            "confidence": dict(self.confidence),
            "method": dict(self.method),
            "unmapped": list(self.unmapped),
            "units": dict(self.units),
            "notes": list(self.notes),
        }


def _value_candidates(source: str, sample: pd.Series, taken: set[str]) -> list[tuple[float, str, str]]:
    """Fields the values alone identify, for a header that did not name a field they fit (see the module
    docstring: never one the header contradicts, never from plain yes/no values)."""
    keys = sample.astype("str").str.strip().str.lower()
    if keys.nunique() < 2:
        return []
    telling = sample[~keys.isin(_YES_NO)]  # "yes"/"no"/"1"/"0" say no more of multiple lines than of anything
    out = []
    for target in _DISTINCTIVE:
        if target in taken or says_otherwise(target, source):
            continue
        fit = value_fit(target, sample)
        if fit is not None and fit >= 0.9 and value_fit(target, telling):
            out.append((BASE["values"] * fit, target, "values"))
    return out


def _inferred(source: str, values: pd.Series) -> list[tuple[float, str, str]]:
    """Candidate (confidence, target, method) for one source column from its header and values."""
    tokens, _ = header_parts(source)
    sample = values.head(VALUE_SAMPLE)
    out, fitting = [], False
    for target, (conf, method) in header_candidates(source, tokens).items():
        fit = None if method == "exact" else value_fit(target, sample)
        if fit is not None:
            if fit < 0.5 and method in ("alias", "partial", "fuzzy"):
                continue
            conf *= 0.6 + 0.4 * fit
        fitting |= fit is None or fit >= 0.5
        out.append((conf, target, method))
    if not fitting:  # no header match the values bear out: the values may say what the column is
        out += _value_candidates(source, sample, {t for _, t, _ in out})
    return out


def _check_overrides(frame: pd.DataFrame, overrides: dict) -> tuple[dict[str, str | None], list[str]]:
    notes, clean, seen = [], {}, {}
    for source, target in overrides.items():
        if target in ("", None):
            target = None
        elif target not in schema.BY_NAME:
            raise InputError(
                f"Mapping override {source!r} -> {target!r}: {target!r} is not a canonical column; "
                f"use one of {', '.join(schema.NAMES)} (or null to ignore the column).",
                code="bad_override",
                column=str(source),
            )
        if source not in frame.columns:
            notes.append(f"override for {source!r} ignored: the file has no such column")
            continue
        if target is not None and target in seen:
            raise InputError(
                f"Mapping overrides send both {seen[target]!r} and {source!r} to {target!r}: "
                "keep one of them.",
                code="bad_override",
                column=target,
            )
        if target is not None:
            seen[target] = source
        clean[source] = target
    return clean, notes


def _saved_candidates(record: dict, position: dict[str, int], forced: dict) -> tuple[list, dict, list[str]]:
    """Candidates from the tenant's saved ``record``: (candidates, units of saved sources, notes)."""
    same = set(record["columns"]) == set(position)
    reuse = dict(record["mapping"]) if same else {}
    for source, target in record["confirmed"].items():
        if source in position:
            reuse[source] = target
    candidates, units = [], {}
    for source, target in reuse.items():
        if source in forced or source not in position:
            continue
        if target is None:
            forced[source] = None
            continue
        conf = 1.0 if source in record["confirmed"] else record["confidence"].get(source, 0.9)
        candidates.append((conf, position[source], source, target, "saved"))
        if source in record["units"]:
            units[source] = record["units"][source]
    notes = ["reused the tenant's saved mapping" + ("" if same else " (confirmed columns)")] if reuse else []
    return candidates, units, notes


def map_columns(
    frame: pd.DataFrame,
    *,
    overrides: dict[str, str | None] | None = None,
    saved: dict | None = None,
    tenant: str | None = None,
) -> ColumnMapping:
    """Map ``frame``'s columns onto the canonical schema.

    ``overrides`` (source -> canonical, or -> None to leave a column out) win
    over everything. ``saved`` is the tenant's saved mapping record (see
    mapping_record.py), reused when the upload has the same columns; the
    result's ``record`` is the one to save for the tenant's next upload
    (``tenant`` is only written into it).

    Raises InputError for an override naming an unknown canonical column or
    two overrides with one target, and when no column can be the customer id.
    """
    columns = [str(c) for c in frame.columns]
    forced, notes = _check_overrides(frame, dict(overrides or {}))
    record = clean_record(saved) if saved else None
    position = {c: i for i, c in enumerate(columns)}
    # (confidence, position, source, target, method)
    candidates, saved_units, reuse_notes = (
        _saved_candidates(record, position, forced) if record else ([], {}, [])
    )
    notes += reuse_notes
    for source in columns:
        if source in forced:
            continue
        for conf, target, method in _inferred(source, frame[source]):
            candidates.append((conf, position[source], source, target, method))
    result = _resolve(forced, candidates, columns, position)
    result.notes = notes
    for source, target in result.mapping.items():
        unit = saved_units.get(source) if result.method[source] == "saved" else header_parts(source)[1]
        if target == "tenure_months" and unit and unit != "months":
            result.units[source] = unit
    if "customer_id" not in result.mapping.values():
        tried = ", ".join(columns[:8]) + (", ..." if len(columns) > 8 else "")
        raise InputError(
            f"No column can be the customer id (columns: {tried}): rename the id column to customer_id "
            "or pass a mapping override.",
            code="no_customer_id",
        )
    confirmed = dict(record["confirmed"]) if record else {}
    confirmed.update(forced)
    result.record = build_record(columns, result, confirmed, tenant)
    return result


def _resolve(forced: dict, candidates: list, columns: list[str], position: dict[str, int]) -> ColumnMapping:
    """Overrides first, then the saved mapping, then the rest by confidence; one source per target."""
    result = ColumnMapping()
    taken: set[str] = set()
    for source, target in forced.items():
        if target is not None:
            result.mapping[source], result.confidence[source], result.method[source] = target, 1.0, "override"
            taken.add(target)
    for conf, _, source, target, method in sorted(candidates, key=lambda c: (c[4] != "saved", -c[0], c[1])):
        if source in result.mapping or source in forced or target in taken:
            continue
        result.mapping[source], result.confidence[source], result.method[source] = (
            target,
            min(conf, 1.0),
            method,
        )
        taken.add(target)
    result.mapping = dict(sorted(result.mapping.items(), key=lambda kv: position[kv[0]]))
    result.unmapped = [c for c in columns if c not in result.mapping]
    return result
