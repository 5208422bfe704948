"""A tenant's saved column mapping as a plain record (what a mapping store keeps).

Decision (issue 3): a business usually exports the same report every time, so
the mapping used for a tenant's upload is saved and reused for its next one.
Science only reads and builds the record; where it is kept (a file, the run
store, S3) is the platform's business.

- What is saved: the upload's source columns (``columns``), the mapping used
  (``mapping`` source -> canonical, with ``confidence``, ``units``) and the
  entries a person gave as overrides (``confirmed``), accumulated across runs.
- When it is reused: the whole saved mapping is reused (method ``saved``) only
  when the new upload has exactly the same set of source columns; a changed
  export is mapped afresh, except that ``confirmed`` entries whose source
  column is still present are kept, because a person said so.
- Overrides given for the run always win over the saved mapping.
- A malformed record is treated as no saved mapping (entries that name no
  canonical column are dropped), so a damaged store never stops a run.
"""

from __future__ import annotations

from datetime import UTC, datetime

from retainwise.science import schema


def clean_record(raw) -> dict | None:
    """The usable part of a stored mapping record, or None when there is none.

    Never raises: anything malformed is left out.
    """
    if not isinstance(raw, dict) or not isinstance(raw.get("mapping"), dict):
        return None
    known = {k: v for k, v in raw["mapping"].items() if isinstance(k, str) and v in schema.BY_NAME}
    confirmed = raw.get("confirmed") if isinstance(raw.get("confirmed"), dict) else {}
    columns = raw.get("columns") if isinstance(raw.get("columns"), list) else []
    confidence = raw.get("confidence") if isinstance(raw.get("confidence"), dict) else {}
    units = raw.get("units") if isinstance(raw.get("units"), dict) else {}
    return {
        "columns": [c for c in columns if isinstance(c, str)],
        "mapping": known,
        "confidence": {
            k: float(v)
            for k, v in confidence.items()
            if k in known and isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1
        },
        "units": {k: v for k, v in units.items() if k in known and isinstance(v, str)},
        "confirmed": {
            k: v for k, v in confirmed.items() if isinstance(k, str) and (v in schema.BY_NAME or v is None)
        },
    }


def build_record(columns: list[str], mapping, confirmed: dict, tenant: str | None = None) -> dict:
    """The record to save for ``mapping`` (a ColumnMapping) used on an upload with ``columns``."""
    return {
        "tenant": None if tenant is None else str(tenant),
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "columns": list(columns),
        "mapping": dict(mapping.mapping),
        "confidence": {k: round(float(v), 4) for k, v in mapping.confidence.items()},
        "units": dict(mapping.units),
        "confirmed": dict(confirmed),
    }
