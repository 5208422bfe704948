"""Saved per-tenant column mappings: ``<home>/mappings/<tenant>.json``.

Decision (issue 3): a business usually exports the same report every time, so
the mapping used for a tenant's upload is saved and reused for its next one.

- What is saved: the upload's source columns (``columns``), the mapping used
  (``mapping`` source -> canonical, with ``confidence``, ``units``) and the
  entries a person gave as overrides (``confirmed``), accumulated across runs.
- When it is reused: the whole saved mapping is reused (method ``saved``) only
  when the new upload has exactly the same set of source columns; a changed
  export is mapped afresh, except that ``confirmed`` entries whose source
  column is still present are kept, because a person said so.
- Overrides given for the run always win over the saved mapping.
- A missing or unreadable file is treated as no saved mapping (it is
  rewritten on the next save); files are replaced atomically.

The tenant name is percent-encoded into the file name, so no tenant can write
outside ``<home>/mappings``.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from retainwise.science import schema


def path_for(home: str | os.PathLike, tenant: str) -> Path:
    """Where ``tenant``'s mapping lives under ``home``."""
    name = quote(str(tenant), safe="-_")  # "." is encoded too: no ".." or hidden files
    name = name.replace(".", "%2E") or "%00"
    return Path(home) / "mappings" / f"{name}.json"


def load(home: str | os.PathLike, tenant: str) -> dict | None:
    """The saved mapping record for ``tenant``, or None when there is none (or it is unreadable)."""
    path = path_for(home, tenant)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("mapping"), dict):
        return None
    known = {k: v for k, v in record["mapping"].items() if isinstance(k, str) and v in schema.BY_NAME}
    confirmed = record.get("confirmed") if isinstance(record.get("confirmed"), dict) else {}
    return {
        "columns": [c for c in record.get("columns", []) if isinstance(c, str)],
        "mapping": known,
        "confidence": {
            k: float(v)
            for k, v in (record.get("confidence") or {}).items()
            if k in known and isinstance(v, (int, float)) and 0 <= v <= 1
        },
        "units": {k: v for k, v in (record.get("units") or {}).items() if k in known and isinstance(v, str)},
        "confirmed": {
            k: v for k, v in confirmed.items() if isinstance(k, str) and (v in schema.BY_NAME or v is None)
        },
    }


def save(home: str | os.PathLike, tenant: str, columns: list[str], mapping, confirmed: dict) -> Path:
    """Save ``mapping`` (a ColumnMapping) used for an upload with ``columns``; returns the file written."""
    path = path_for(home, tenant)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "tenant": str(tenant),
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "columns": list(columns),
        "mapping": dict(mapping.mapping),
        "confidence": {k: round(float(v), 4) for k, v in mapping.confidence.items()},
        "units": dict(getattr(mapping, "units", {}) or {}),
        "confirmed": dict(confirmed),
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".mapping-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh, indent=2, ensure_ascii=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
