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
from pathlib import Path
from urllib.parse import quote

from retainwise.files import write_atomic
from retainwise.platform.runs import RunStore
from retainwise.science.mapping_record import clean_record


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
        record = home.load_mapping(tenant)
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
        home.save_mapping(tenant, record)
        return None
    return write_atomic(
        path_for(home, tenant), json.dumps(record, indent=2, ensure_ascii=False).encode("utf-8")
    )
