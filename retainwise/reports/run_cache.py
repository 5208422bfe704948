"""A run's report data, prepared once by the report server and read by every visitor's kernel.

Why: a report page used to load its run itself (run store, S3, parsing results.csv), so each visitor's
kernel held the platform's clients, the credentials they need and its own copy of the data. Now the
server process, which has the credentials, prepares a per-run cache the first time a link to the run is
admitted, and the kernel only reads files:

- ``<root>/<run_id>/``: what never changes once a run is COMPLETED, written once (into a temporary
  folder, then renamed, so a reader never sees half of it): ``summary.json``, ``results.arrow`` (the
  rows the page shows, as :func:`retainwise.reports.data.results_frame` makes them: sorted, with revenue at
  risk and the recommended action), ``customers.arrow`` (those customers' canonical fields, for segments
  and what-if), ``previous.json`` + ``previous.arrow`` (the tenant's run before this one, for "since last
  time": its summary and who was HIGH), ``meta.json``. Arrow IPC files are memory-mapped by the kernels,
  so N visitors of one run share one copy in the page cache instead of holding N.
- ``<root>/<run_id>/visits/<sha256(token)>.json``: what depends on the link or on time, written for each
  admitted request: the link's expiry, the presigned download (expiring with the link), the earlier
  reports with links minted from this one (never outliving it) and the outcomes sent since the run.

The kernel finds its visit by hashing the token of its own request: only a token the server admitted
opens a cache (the check before any data loads, without the link secret), and an expired visit is
refused like an expired link. So report kernels need neither the secret, the database URL nor storage
credentials (the server starts them without: :mod:`retainwise.reports.kernels`). Decision: caches of
runs not visited for :data:`KEEP_S` are removed by :func:`sweep`; visit files once they expire.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from pathlib import Path

#: A run's cache not opened for this long is removed (seconds).
KEEP_S = 24 * 3600
#: The environment variable through which the server tells its report kernels where the caches are.
CACHE_ENV = "RETAINWISE_REPORT_CACHE"

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def cache_root(settings) -> Path:
    """Where the caches live: ``$RETAINWISE_HOME/cache/reports``."""
    return Path(settings.home) / "cache" / "reports"


def visit_name(token: str) -> str:
    """The visit file's name for ``token``: its SHA-256 (the token itself is never written down)."""
    return hashlib.sha256(str(token).encode("utf-8")).hexdigest() + ".json"


def _lock(run_id: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(run_id, threading.Lock())


# -- the server side ---------------------------------------------------------------------------
def _write_arrow(frame, path: Path) -> None:
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _build_run(settings, run_id: str, target: Path) -> None:
    """Everything of ``run_id`` that never changes, into ``target`` (a new folder)."""
    from concurrent.futures import Future

    from retainwise.reports import granted, labels
    from retainwise.reports.data import ReportData, results_frame, results_name, shown_ids

    store, storage = granted._store(settings.effective_database_url), granted._storage(settings)
    run = store.get(run_id)
    summary = json.loads(storage.get_text(run.output_keys["summary.json"]))
    name = labels.file_name(run.upload_key)
    results = results_frame(
        storage.get_text(run.output_keys[results_name(run.output_keys, int(summary["rows_scored"]))])
    )
    data = ReportData(run.tenant, run.id, summary, results, upload_name=name)
    shown: Future = Future()
    shown.set_result(shown_ids(data))
    features = granted._features_loader(storage, run, summary, name, shown)()
    target.mkdir(parents=True)
    _write_arrow(results, target / "results.arrow")
    if features is not None:
        _write_arrow(features.reset_index(drop=True), target / "customers.arrow")
    (target / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    meta = {"tenant": run.tenant, "run_id": run.id, "upload_name": name, "features": features is not None}
    previous = granted._previous(storage, granted_history(settings, store, run, None), store, run)
    if previous is not None:
        _write_arrow(previous["results"][["customer_id", "churn_risk"]], target / "previous.arrow")
        prev = {k: previous[k] for k in ("summary", "when", "upload")}
        (target / "previous.json").write_text(json.dumps(prev), encoding="utf-8")
    (target / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def granted_history(settings, store, run, grant) -> list[dict]:
    """The tenant's runs as the earlier-reports section lists them (links minted only with a grant)."""
    from retainwise.reports import granted

    if grant is not None:
        return granted._earlier(settings, store, run, grant)
    from retainwise.reports import labels

    return [
        {
            "run_id": o.id,
            "status": o.status,
            "created_at": o.created_at,
            "when": labels.when(o.created_at),
            "upload": labels.file_name(o.upload_key),
        }
        for o in store.list_tenant(run.tenant, limit=20)
    ]


def ensure_run(settings, run_id: str) -> Path:
    """The run's cache folder, built on first use (once, however many visitors ask at the same moment).

    Raises what storage and the run store raise (StorageError) when the run's outputs cannot be read."""
    root = cache_root(settings)
    folder = root / run_id
    with _lock(run_id):
        if not (folder / "meta.json").is_file():
            tmp = root / f".tmp-{uuid.uuid4().hex}"
            try:
                _build_run(settings, run_id, tmp)
                if not folder.exists():
                    os.replace(tmp, folder)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    os.utime(folder)  # last visited: what sweep() keeps by
    return folder


def _download_url(settings, run, grant) -> str:
    from retainwise.platform.links import remaining_s
    from retainwise.reports import granted

    storage = granted._storage(settings)
    return storage.presign(
        run.output_keys["results.csv"], min(3600, remaining_s(grant)), filename=f"churn-{run.id}.csv"
    )


def prepare_visit(settings, grant, token: str) -> Path:
    """Prepare the page of an admitted report request: the run's cache and this link's visit file.

    ``grant`` is the verified grant of ``token`` (a COMPLETED run of its tenant: the gate checked it).
    Returns the run's cache folder. Raises StorageError when storage or the run store fails."""
    from retainwise.platform.labelled import BucketLabelled
    from retainwise.reports import granted
    from retainwise.reports.data import later_outcomes

    folder = ensure_run(settings, grant.run_id)
    store = granted._store(settings.effective_database_url)
    run = store.get(grant.run_id)
    earlier = [
        {k: v for k, v in e.items() if k != "created_at"}
        for e in granted_history(settings, store, run, grant)
    ]
    visit = {
        "run_id": run.id,
        "tenant": run.tenant,
        "expires": grant.expires,
        "download_url": _download_url(settings, run, grant),
        "earlier": earlier,
        "later": later_outcomes(BucketLabelled(granted._storage(settings), run.tenant), run.id),
    }
    visits = folder / "visits"
    visits.mkdir(exist_ok=True)
    tmp = visits / f".{uuid.uuid4().hex}"
    tmp.write_text(json.dumps(visit), encoding="utf-8")
    os.replace(tmp, visits / visit_name(token))
    return folder


def static_report(settings, run_id: str) -> str | None:
    """The run's static report (``report.html``, rendered by the run: ``execution/static_report.py``), kept
    under ``<root>/.static/`` after the first read (apart from the run's cache: serving it never waits for
    that to be built); None when the run has none."""
    from retainwise.reports import granted

    path = cache_root(settings) / ".static" / f"{run_id}.html"
    if not path.is_file():
        run = granted._store(settings.effective_database_url).get(run_id)
        key = (run.output_keys or {}).get("report.html") if run is not None else None
        if not key:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{uuid.uuid4().hex}.html"
        tmp.write_bytes(granted._storage(settings).get_bytes(key))
        os.replace(tmp, path)
    os.utime(path)
    return path.read_text(encoding="utf-8")


def sweep(root: Path, now: float | None = None) -> int:
    """Remove expired visit files and caches not visited for :data:`KEEP_S`; returns how many runs went."""
    now = time.time() if now is None else now
    gone = 0
    for folder in root.glob("*") if root.is_dir() else []:
        if folder.name.startswith(".tmp-") and now - folder.stat().st_mtime > 3600:
            shutil.rmtree(folder, ignore_errors=True)
            continue
        if folder.name == ".static":
            for page in folder.glob("*.html"):
                if now - page.stat().st_mtime > KEEP_S:
                    page.unlink(missing_ok=True)
            continue
        if not folder.is_dir() or folder.name.startswith("."):
            continue
        if now - folder.stat().st_mtime > KEEP_S:
            shutil.rmtree(folder, ignore_errors=True)
            gone += 1
            continue
        for visit in (folder / "visits").glob("*.json"):
            try:
                if json.loads(visit.read_text(encoding="utf-8")).get("expires", 0) < now:
                    visit.unlink()
            except (OSError, ValueError):
                continue
    return gone


# -- the kernel side ---------------------------------------------------------------------------
def _read_arrow(path: Path):
    """An Arrow IPC file as a DataFrame over the memory-mapped file (numbers and text are not copied where
    Arrow and pandas can share them: every visitor of the run reads the same pages)."""
    import pyarrow as pa

    with pa.memory_map(str(path), "r") as source:
        table = pa.ipc.open_file(source).read_all()
    return table.to_pandas(split_blocks=True, self_destruct=False)


def load_visit(root: Path, run_id: str | None, token: str | None, now: float | None = None):
    """The report of ``run_id`` for the kernel whose request carried ``token``: a ReportData from the cache.

    Raises LinkError ("not valid") when the server admitted no such request (no visit file for this token
    and run) and ("expired") when the link has expired since."""
    from retainwise.errors import LinkError
    from retainwise.reports.data import ReportData

    if not run_id or not token or "/" in run_id or run_id.startswith("."):
        raise LinkError("This report link is not valid.", code="invalid")
    folder = Path(root) / run_id
    try:
        visit = json.loads((folder / "visits" / visit_name(token)).read_text(encoding="utf-8"))
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise LinkError("This report link is not valid.", code="invalid") from None
    if visit.get("run_id") != run_id or meta.get("run_id") != run_id:
        raise LinkError("This report link is not valid.", code="invalid")
    if float(visit.get("expires", 0)) < (time.time() if now is None else now):
        raise LinkError("This report link has expired; ask for a new one.", code="expired")
    data = ReportData(
        meta["tenant"],
        run_id,
        summary,
        _read_arrow(folder / "results.arrow"),
        download_url=visit.get("download_url"),
        earlier=list(visit.get("earlier") or []),
        upload_name=meta.get("upload_name", ""),
        history_known=True,
        later=visit.get("later"),
    )
    if meta.get("features"):
        data.features_loader = lambda: _features(folder / "customers.arrow")
    if (folder / "previous.json").is_file():
        data.previous = json.loads((folder / "previous.json").read_text(encoding="utf-8"))
        data.previous["results"] = _read_arrow(folder / "previous.arrow")
    return data


def _features(path: Path):
    rows = _read_arrow(path)
    return rows.set_index(rows["customer_id"].astype(str))


def warm() -> None:
    """Write and read back a tiny Arrow file in memory: pyarrow's IPC reader and pandas' conversion load
    before any request (a preheated kernel)."""
    import pandas as pd
    import pyarrow as pa

    table = pa.Table.from_pandas(pd.DataFrame({"customer_id": ["x"], "churn_probability": [0.5]}))
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    pa.ipc.open_file(sink.getvalue()).read_all().to_pandas(split_blocks=True)


def mark_ready() -> None:
    """Tell our report server this preheated kernel has imported and now waits for its request (a file named
    after the kernel under the cache root's ``.ready``: ``retainwise.reports.kernels`` hands visitors only
    such kernels). Nothing outside our server (no cache root) or outside Voila (no kernel id)."""
    root, kernel_id = os.environ.get(CACHE_ENV), os.environ.get("VOILA_KERNEL_ID")
    if root and kernel_id and "/" not in kernel_id:
        ready = Path(root) / ".ready"
        ready.mkdir(parents=True, exist_ok=True)
        (ready / kernel_id).touch()
