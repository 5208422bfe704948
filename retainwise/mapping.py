"""Mapping an upload's columns onto the canonical schema.

Stages, each with a confidence: an override given for the run (1.0), an exact
canonical name (1.0), the same name once case, spaces and punctuation are
ignored (0.95), a known alias (0.9). No two source columns map to one
canonical name: the more confident one wins and the other is left unmapped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import schema
from .errors import InputError


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


_LOOKUP: dict[str, tuple[str, str, float]] = {}
for _col in schema.COLUMNS:
    for _alias in _col.aliases:
        _LOOKUP.setdefault(_key(_alias), (_col.name, "alias", 0.9))
for _col in schema.COLUMNS:
    _LOOKUP[_key(_col.name)] = (_col.name, "normalised", 0.95)


@dataclass
class ColumnMapping:
    mapping: dict[str, str] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)
    method: dict[str, str] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        rows = [(s, c, self.confidence[s], self.method[s]) for s, c in self.mapping.items()]
        rows += [(s, None, 0.0, "unmapped") for s in self.unmapped]
        return pd.DataFrame(rows, columns=["source", "canonical", "confidence", "method"])

    def to_dict(self) -> dict:
        return {"mapping": dict(self.mapping), "confidence": dict(self.confidence), "method": dict(self.method),
                "unmapped": list(self.unmapped)}


def map_columns(frame: pd.DataFrame, *, overrides: dict[str, str] | None = None, tenant: str | None = None,
                home: Path | None = None) -> ColumnMapping:
    """Map ``frame``'s columns. Raises InputError when no column can be the customer id."""
    candidates: list[tuple[float, str, str, str]] = []
    for source, target in (overrides or {}).items():
        if source in frame.columns and target in schema.BY_NAME:
            candidates.append((1.01, source, target, "override"))
    for source in frame.columns:
        if source in schema.BY_NAME:
            candidates.append((1.0, source, source, "exact"))
        elif _key(source) in _LOOKUP:
            target, method, conf = _LOOKUP[_key(source)]
            candidates.append((conf, source, target, method))
    result = ColumnMapping()
    taken: set[str] = set()
    for conf, source, target, method in sorted(candidates, key=lambda c: -c[0]):
        if source in result.mapping or target in taken:
            continue
        result.mapping[source] = target
        result.confidence[source] = min(conf, 1.0)
        result.method[source] = method
        taken.add(target)
    order = {name: i for i, name in enumerate(frame.columns)}
    result.mapping = dict(sorted(result.mapping.items(), key=lambda kv: order[kv[0]]))
    result.unmapped = [c for c in frame.columns if c not in result.mapping]
    if "customer_id" not in taken:
        tried = ", ".join(list(frame.columns)[:8])
        raise InputError(
            f"No column can be the customer id (columns: {tried}): rename the id column to customer_id "
            "or pass a mapping override.", code="no_customer_id")
    return result
