"""Saved per-tenant column mappings: in the run store (shared by every runner), or, for
``retainwise score`` on one machine, in ``<home>/mappings/<tenant>.json``.

What a record holds and when it is reused: ``retainwise.science.mapping_record``.
The pipeline takes the loaded record as its ``saved_mapping`` parameter and
writes the one to save as ``<output_dir>/mapping.json``. :func:`load` and
:func:`save` take either a :class:`~retainwise.platform.runs.RunStore` (the
runner: a mapping saved by one runner is used by all) or a home directory.

- A missing or unreadable file is treated as no saved mapping (it is
  rewritten on the next save); files are replaced atomically.

The tenant name is percent-encoded into the file name, so no tenant can write
outside ``<home>/mappings``.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from retainwise.files import write_atomic
from retainwise.platform.runs import Base, RunStore, now
from retainwise.science.mapping_record import clean_record


class MappingRow(Base):
    """A tenant's saved column mapping (the record the pipeline returns as ``mapping.json``)."""

    __tablename__ = "mappings"

    tenant: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    record: Mapped[str] = mapped_column(sa.Text)  # JSON
    saved_at: Mapped[datetime] = mapped_column(sa.DateTime)


def path_for(home: str | os.PathLike, tenant: str) -> Path:
    """Where ``tenant``'s mapping lives under ``home``."""
    name = quote(str(tenant), safe="-_")  # "." is encoded too: no ".." or hidden files
    name = name.replace(".", "%2E") or "%00"
    return Path(home) / "mappings" / f"{name}.json"


def load(home: str | os.PathLike | RunStore, tenant: str) -> dict | None:
    """The saved mapping record for ``tenant``, or None when there is none (or it is unreadable).

    From a run store, raises StorageError when the store fails.
    """
    if isinstance(home, RunStore):
        record = _load_from_store(home, tenant)
        return clean_record(record) if record is not None else None
    try:
        return clean_record(json.loads(path_for(home, tenant).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def save(home: str | os.PathLike | RunStore, tenant: str, record: dict) -> Path | None:
    """Save ``record`` (a run's ``mapping.json``: ColumnMapping.record) for ``tenant``.

    Returns the file written (None for a run store). Raises StorageError when a run store fails.
    """
    if isinstance(home, RunStore):
        _save_to_store(home, tenant, record)
        return None
    return write_atomic(
        path_for(home, tenant), json.dumps(record, indent=2, ensure_ascii=False).encode("utf-8")
    )


def _save_to_store(store: RunStore, tenant: str, record: dict) -> None:
    """Save ``tenant``'s mapping record in the run store, replacing the previous one (every runner sees it).

    Raises StorageError, also when another runner inserted the tenant's first record at the same
    moment (callers treat a mapping that was not saved as advisory, never as a failed run).
    """
    t, body = now(), json.dumps(record, ensure_ascii=False)
    with store._session("saving a mapping") as s:
        row = s.get(MappingRow, tenant)
        if row is None:
            s.add(MappingRow(tenant=tenant, record=body, saved_at=t))
        else:
            row.record, row.saved_at = body, t


def _load_from_store(store: RunStore, tenant: str) -> dict | None:
    """``tenant``'s mapping record as saved in the run store (unchecked), or None."""
    with store._session("reading a mapping") as s:
        row = s.get(MappingRow, tenant)
        if row is None:
            return None
    try:
        record = json.loads(row.record)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None
