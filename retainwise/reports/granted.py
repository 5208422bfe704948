"""The run a verified grant names, from the run store and S3 (Voila).

Every link and download minted here expires no later than the grant: a page cannot stretch its link.
"""

from __future__ import annotations

import functools
import json
import tempfile
from concurrent.futures import Future
from pathlib import Path

from retainwise.reports import labels
from retainwise.reports.data import (
    ReportData,
    background,
    canonical_rows,
    customers_frame,
    later_outcomes,
    results_frame,
    results_name,
    shown_ids,
)


def _earlier(settings, store, run, grant) -> list[dict]:
    from retainwise.platform.links import remaining_s, report_url
    from retainwise.platform.runs import COMPLETED

    earlier = []
    for other in store.list_tenant(run.tenant, limit=20):
        entry = {
            "run_id": other.id,
            "status": other.status,
            "when": labels.when(other.created_at),
            "rows": other.rows_scored,
            "current": other.id == run.id,
            "upload": labels.file_name(other.upload_key),
            "created_at": other.created_at,
        }
        if other.status == COMPLETED and other.id != run.id:
            entry["url"] = report_url(settings, run.tenant, other.id, remaining_s(grant), parent=grant)
        earlier.append(entry)
    return earlier


def _previous(storage, earlier: list[dict], store, run) -> dict | None:
    """The tenant's newest COMPLETED run created before this one (for "since last time")."""
    from retainwise.platform.runs import COMPLETED

    for entry in earlier:
        if entry["status"] == COMPLETED and entry["created_at"] < run.created_at:
            other = store.get(entry["run_id"])
            summary = json.loads(storage.get_text(other.output_keys["summary.json"]))
            # a large run's most at risk (results_top.csv): its whole results.csv is in upload order, and huge
            name = results_name(other.output_keys, int(summary["rows_scored"]))
            return {
                "summary": summary,
                "results": results_frame(storage.get_text(other.output_keys[name])),
                "when": entry["when"],
                "upload": entry["upload"],
            }
    return None


def _store(database_url: str):
    """The run store, opened (and migrated) once per kernel: :func:`warm` does it before the request."""
    from retainwise.platform.runs import shared_store

    return shared_store(database_url, migrate=True)


@functools.cache
def _storage(settings):
    """The S3 storage client, made once per kernel (botocore loads its service model on the first)."""
    from retainwise.platform.storage import Storage

    return Storage(settings)


def warm() -> None:
    """Import the platform and connect the run store and S3 client from the kernel's settings, before any
    request (a preheated Voila kernel): no tenant, run or object is read. Best effort: on any failure the
    request connects again and reports its own error."""
    import retainwise.platform.links  # noqa: F401
    from retainwise.settings import Settings

    try:
        settings = Settings.from_env()
        _store(settings.effective_database_url)
        _storage(settings)
    except Exception:  # noqa: BLE001 - warming must never break the page; the request retries and reports
        _store.cache_clear()
        _storage.cache_clear()


def _features_loader(storage, run, summary: dict, name: str, shown: Future):
    """() -> the shown customers' canonical fields: the run's ``customers.parquet`` when it wrote one, else its
    upload read and mapped again (runs from before). ``shown`` is a Future of the ids the page shows."""

    def features():
        if "customers.parquet" in run.output_keys:  # read in memory: no temporary file left per visit
            return customers_frame(storage.get_bytes(run.output_keys["customers.parquet"]), shown.result())
        local = Path(tempfile.mkdtemp(prefix="retainwise-upload-"))
        storage.download(run.upload_key, local / (name or "upload.csv"))
        return canonical_rows(local / (name or "upload.csv"), summary, shown.result)

    return features


def load_granted(settings, grant, run_id: str) -> ReportData:
    """The run ``grant`` names. LinkError when it is not the tenant's, not COMPLETED, or the tenant's links
    were revoked or it is disabled; StorageError when storage or the run store fails."""
    from retainwise.errors import LinkError
    from retainwise.platform.labelled import BucketLabelled
    from retainwise.platform.links import check_access, remaining_s
    from retainwise.platform.runs import COMPLETED

    store = _store(settings.effective_database_url)
    check_access(store, grant)  # revoked or disabled since the server admitted the page: no data
    run = store.get(run_id)
    if run is None or run.tenant != grant.tenant or run.id != grant.run_id:
        raise LinkError("This report link is not valid.", code="wrong_tenant")
    if run.status != COMPLETED:
        raise LinkError(f"This report is not ready yet (status {run.status}).", code="not_ready")
    storage = _storage(settings)
    summary = json.loads(storage.get_text(run.output_keys["summary.json"]))
    name = labels.file_name(run.upload_key)
    shown = Future()  # the customer ids the page shows, known once the results are read

    features = _features_loader(storage, run, summary, name, shown)
    # the customers' fields load from now on, while the results, the links and the history load
    pending = background(features)
    try:
        results = results_frame(
            storage.get_text(run.output_keys[results_name(run.output_keys, int(summary["rows_scored"]))])
        )
    except BaseException as exc:
        shown.set_exception(exc)
        raise
    data = ReportData(
        run.tenant, run.id, summary, results, upload_name=name, features_loader=features, history_known=True
    )
    shown.set_result(shown_ids(data))
    data.prefetch(pending)
    data.download_url = storage.presign(
        run.output_keys["results.csv"], min(3600, remaining_s(grant)), filename=f"churn-{run.id}.csv"
    )
    data.earlier = _earlier(settings, store, run, grant)
    data.previous = _previous(storage, data.earlier, store, run)
    data.later = later_outcomes(BucketLabelled(storage, run.tenant), run.id)  # outcomes sent since the run
    return data
