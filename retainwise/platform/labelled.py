"""Where a tenant's labelled data accumulates, and (on one machine) which runs it can be joined to.

Labelled data (science/outcomes.py) is kept as Parquet, one file per source run, beside the report of
how it was made: ``tenants/<tenant>/labelled/<run_id>.parquet`` and ``<run_id>.json``. On the platform
that is the bucket (:class:`BucketLabelled`, through :class:`~retainwise.platform.storage.Storage`); for
``retainwise score`` / ``outcomes`` on one machine, the folder
``$RETAINWISE_HOME/tenants/<tenant>/labelled/`` (:class:`LocalLabelled`). Saving a run's labelled data
again replaces that run's file (outcomes sent twice never count twice).

``retainwise score`` records each local run (run id, output folder, finished time, whether it has a
snapshot) in ``$RETAINWISE_HOME/tenants/<tenant>/runs.json`` (:func:`record_run`), so ``retainwise
outcomes`` can find the run to join to (:func:`find_local_run`); a scored file that itself says who left
becomes that run's labelled data at once (:func:`keep_scored_run`).

The tenant name is percent-encoded into local folder names, as for saved mappings (mapping_store.py), so
no tenant can write outside ``<home>/tenants``; bucket keys take only valid tenant names (tenants.py).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from retainwise.errors import InputError
from retainwise.files import write_atomic
from retainwise.platform.tenants import check_run_id, check_tenant
from retainwise.science import outcomes as science
from retainwise.science.snapshot import FILE as SNAPSHOT

RUNS_FILE = "runs.json"
#: What joining outcomes to a run reads from its outputs.
RUN_FILES = (SNAPSHOT, "results.parquet", "summary.json")


def tenant_dir(home: str | os.PathLike, tenant: str) -> Path:
    """``<home>/tenants/<tenant>`` (the name percent-encoded: no ``..``, no hidden folders)."""
    name = quote(str(tenant), safe="-_").replace(".", "%2E") or "%00"
    return Path(home) / "tenants" / name


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.to_parquet(out, index=False, compression="zstd")
    return out.getvalue()


class LocalLabelled:
    """A tenant's labelled files in ``<home>/tenants/<tenant>/labelled/``."""

    def __init__(self, home: str | os.PathLike, tenant: str) -> None:
        self.tenant, self.dir = tenant, tenant_dir(home, tenant) / "labelled"

    def save(self, run_id: str, frame: pd.DataFrame, report: dict) -> str:
        """Write (or replace) ``run_id``'s labelled file and report; where the file went."""
        check_run_id(run_id)
        write_atomic(self.dir / f"{run_id}.parquet", _parquet_bytes(frame))
        write_atomic(self.dir / f"{run_id}.json", json.dumps(report, indent=2, default=str).encode() + b"\n")
        return str(self.dir / f"{run_id}.parquet")

    def run_ids(self) -> list[str]:
        return sorted(p.stem for p in self.dir.glob("*.parquet")) if self.dir.is_dir() else []

    def read(self, run_id: str) -> pd.DataFrame:
        return pd.read_parquet(self.dir / f"{run_id}.parquet")

    def report(self, run_id: str) -> dict | None:
        path = self.dir / f"{run_id}.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


class BucketLabelled:
    """A tenant's labelled files under ``tenants/<tenant>/labelled/`` in the bucket (``storage``: Storage)."""

    def __init__(self, storage, tenant: str) -> None:
        self.storage, self.tenant = storage, tenant
        self.prefix = f"tenants/{check_tenant(tenant)}/labelled/"

    def save(self, run_id: str, frame: pd.DataFrame, report: dict) -> str:
        key = self.prefix + f"{check_run_id(run_id)}.parquet"
        with tempfile.TemporaryDirectory(prefix="retainwise-labelled-") as tmp:
            path = Path(tmp) / "labelled.parquet"
            path.write_bytes(_parquet_bytes(frame))
            self.storage.put_file(path, key)  # a plain put: sending outcomes again replaces the run's file
        self.storage.put_json(self.prefix + f"{run_id}.json", report)
        return key

    def run_ids(self) -> list[str]:
        return sorted(Path(k).stem for k in self.storage.list(self.prefix) if k.endswith(".parquet"))

    def read(self, run_id: str) -> pd.DataFrame:
        return pd.read_parquet(io.BytesIO(self.storage.get_bytes(self.prefix + f"{run_id}.parquet")))

    def report(self, run_id: str) -> dict | None:
        return self.storage.get_json(self.prefix + f"{run_id}.json")


def load_labelled(tenant: str, store: LocalLabelled | BucketLabelled | None = None) -> pd.DataFrame:
    """Every labelled file of ``tenant`` combined; a customer in several runs keeps its latest row.

    ``store`` defaults to the local folder under ``$RETAINWISE_HOME``. Raises StorageError from a bucket.
    """
    if store is None:
        from retainwise.settings import Settings

        store = LocalLabelled(Settings.from_env().home, tenant)
    return science.latest_labelled([store.read(r) for r in store.run_ids()])


# -- runs scored on this machine -------------------------------------------------------------
def local_runs(home: str | os.PathLike, tenant: str) -> list[dict]:
    """The runs ``retainwise score`` recorded for ``tenant``, oldest first (an unreadable file: none)."""
    try:
        runs = json.loads((tenant_dir(home, tenant) / RUNS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [r for r in runs if isinstance(r, dict) and r.get("run_id")] if isinstance(runs, list) else []


def record_run(home: str | os.PathLike, tenant: str, output_dir: str | Path, summary: dict) -> Path:
    """Record a finished local run of ``tenant`` (its summary.json) in runs.json; a rerun's record replaces it."""
    output_dir = Path(output_dir).resolve()
    entry = {
        "run_id": summary["run_id"],
        "output_dir": str(output_dir),
        "finished_at": summary.get("finished_at"),
        "rows_scored": summary.get("rows_scored"),
        "snapshot": (output_dir / SNAPSHOT).is_file(),
    }
    runs = [r for r in local_runs(home, tenant) if r["run_id"] != entry["run_id"]] + [entry]
    path = tenant_dir(home, tenant) / RUNS_FILE
    write_atomic(path, json.dumps(runs, indent=2, ensure_ascii=False).encode("utf-8") + b"\n")
    return path


def find_local_run(home: str | os.PathLike, tenant: str, run_id: str | None = None) -> dict | None:
    """The recorded run ``run_id`` of ``tenant`` (default: the latest finished one whose snapshot is still
    there), or None when there is none."""
    runs = [r for r in local_runs(home, tenant) if (Path(r["output_dir"]) / SNAPSHOT).is_file()]
    if run_id is not None:
        return next((r for r in runs if r["run_id"] == run_id), None)
    return max(runs, key=lambda r: str(r.get("finished_at") or ""), default=None)


def keep_scored_run(
    home: str | os.PathLike, tenant: str, output_dir: str | Path, summary: dict
) -> Path | None:
    """After ``retainwise score``: record the run; when the file said who left (a history upload), save its
    snapshot rows with a known ``churned`` as the run's labelled data. The labelled file, or None."""
    record_run(home, tenant, output_dir, summary)
    try:
        saved = keep_labelled(LocalLabelled(home, tenant), output_dir, summary)
    except InputError:  # a run id that cannot name a file (score --run-id "a/b"): recorded, not labelled
        return None
    return None if saved is None else Path(saved)


def keep_labelled(store: LocalLabelled | BucketLabelled, output_dir: str | Path, summary: dict) -> str | None:
    """A finished run whose file said who left (``churned`` in its snapshot): its rows with a known outcome
    become the run's labelled data in ``store``. Where they went, or None (no outcomes, no snapshot)."""
    path = Path(output_dir) / SNAPSHOT
    if not path.is_file():
        return None
    import pyarrow.parquet as pq

    if "churned" not in pq.read_schema(path).names:
        return None
    made = science.labelled_from_snapshot(
        pd.read_parquet(path), run_id=summary["run_id"], scored_at=summary.get("finished_at")
    )
    if made is None or not len(made[0]):
        return None
    return store.save(summary["run_id"], *made)


# -- outcomes joined to a run (``retainwise outcomes`` and the portal's "Tell us who left") ----------
def fetch_run_files(storage, output_keys: dict, into: Path) -> Path:
    """Download a platform run's :data:`RUN_FILES` (from its ``output_keys``) into ``into``."""
    for name in RUN_FILES:
        storage.download(output_keys[name], Path(into) / name)
    return Path(into)


def label_run(
    folder: str | Path, outcomes: pd.DataFrame, run_id: str, where: LocalLabelled | BucketLabelled
) -> tuple[str | None, dict, bool]:
    """Join ``outcomes`` to the run's snapshot in ``folder`` (:data:`RUN_FILES`), measure how its predictions
    did and save the labelled rows in ``where`` (replacing what was sent before for that run).

    ``(where it went, the join's report with "realised", whether it replaced)``; nothing is saved (None)
    when no customer of the file was scored by the run.
    """
    folder = Path(folder)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    labelled, report = science.join_outcomes(
        pd.read_parquet(folder / SNAPSHOT), outcomes, run_id=run_id, scored_at=summary.get("finished_at")
    )
    if not len(labelled):
        return None, report, False
    results = pd.read_parquet(folder / "results.parquet", columns=["customer_id", "churn_probability"])
    report["realised"] = science.realised_accuracy(results, labelled)
    replaced = run_id in where.run_ids()
    return where.save(run_id, labelled, report), report, replaced


def day_words(iso: str | None, year: bool = True) -> str:
    """``3 Dec 2024`` (``3 Dec`` without ``year``) for an ISO time; "earlier" when it is not one."""
    try:
        when = datetime.fromisoformat(str(iso))
    except ValueError:
        return "earlier"
    return f"{when.day} {when:%b %Y}" if year else f"{when.day} {when:%b}"
