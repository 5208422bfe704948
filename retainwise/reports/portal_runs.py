"""The portal's runs: the table a tenant watches, and queueing an upload once its columns are confirmed.

A training run (a history queued with "Train on your history", its upload under
``uploads/<tenant>/train/``) is listed as such: "Training your model" while in flight, then the model's
version and the gate's verdict from its summary; no report, no download, no "Tell us who left".

Everything here is scoped to the tenant of the verified portal grant: the runs
listed, the report links (``/open?run=R``: the server mints the report's token on the click, expiring
no later than the portal's, :mod:`retainwise.reports.opener`) and the presigned downloads. The table refreshes itself from a background thread,
every :data:`POLL_S` seconds while a run is in flight (slower otherwise), and
only touches the page when something changed.
"""

from __future__ import annotations

import html
import threading
import time
from urllib.parse import unquote

from retainwise.errors import RetainwiseError
from retainwise.platform.links import remaining_s
from retainwise.platform.runs import COMPLETED, FAILED, PROCESSING, QUEUED
from retainwise.platform.tenants import is_training_key, results_prefix

POLL_S = 1.5
IDLE_POLL_S = 10.0
LINK_REFRESH_S = 1800  # presigned downloads live an hour at most: mint fresh ones well before


def original_name(storage, key: str) -> str:
    """The file name as the tenant uploaded it (kept in the object's metadata), else the key's name part."""
    from retainwise.platform.tenants import upload_name

    try:
        head = storage.head(key) or {}
    except Exception:  # noqa: BLE001 - a name is not worth failing the table for
        head = {}
    name = (head.get("Metadata") or {}).get("original-name")
    return unquote(name) if name else upload_name(key)


def queue_staged(
    settings, store, storage, tenant: str, staged_key: str, name: str, *, train: bool = False
) -> str:
    """Queue a staged upload for scoring: copy it to ``uploads/<tenant>/``, record the run, send its job.

    ``train``: a history, queued as a training run (copied under ``uploads/<tenant>/train/``, as
    ``submit(..., train=True)`` puts it): the runner trains the tenant's model from it instead of scoring it.

    Returns the run id. StorageError when storage, the run store or the queue fails (nothing is queued
    then, or the runner finds the run through the upload's S3 event).
    """
    from retainwise.platform.jobs import enqueue
    from retainwise.platform.quotas import copy_unstaged

    # without the staged tag: the queued copy must outlive the staged file's one day
    run_id = enqueue(
        settings,
        store,
        storage,
        tenant,
        name,
        lambda key: copy_unstaged(storage, staged_key, key),
        train=train,
    )
    storage.delete(staged_key)
    return run_id


def training_words(summary: dict) -> str:
    """What a finished training run made, in plain words (text, not HTML), from its ``summary.json``."""
    model = summary.get("model") or {}
    version = str(model.get("version") or "")
    if model.get("status") == "active":
        words = f"Your model {version} now scores your uploads."
    else:
        words = f"Your model {version} was kept aside: your uploads are scored as before."
    verdict = str(model.get("verdict") or "").strip()
    if verdict:
        words += f" {verdict.rstrip('.')}."
    on = summary.get("trained_on") or {}
    if on.get("rows"):
        leavers = f" ({on['leavers']:,} who left)" if on.get("leavers") is not None else ""
        words += f" Learned from {on['rows']:,} of your customers{leavers}."
    return words


# -- the table ---------------------------------------------------------------------------------
class RunsTable:
    """The tenant's runs, newest first, as an HTML widget that keeps itself up to date."""

    def __init__(self, settings, grant, store, storage) -> None:
        import ipywidgets as w

        self.settings, self.grant, self.store, self.storage = settings, grant, store, storage
        self.widget = w.HTML()
        self.widget.add_class("rw-runs")
        self._done: dict[str, tuple[float, dict]] = {}  # finished run id -> (minted at, its cells)
        self._names: dict[str, str] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.in_flight = False
        self.on_trained = None  # called once a training run is seen COMPLETED (the page's model line changes)

    def _finished_cells(self, run) -> dict:
        import json

        from retainwise.reports.opener import open_url

        minted, cells = self._done.get(run.id, (0.0, None))
        if cells is not None and time.time() - minted < LINK_REFRESH_S:
            return cells
        cells = {"high": "", "report": "", "download": "", "outcomes": None}
        if run.status == COMPLETED and is_training_key(run.upload_key):  # no report, no results: a model
            key = (run.output_keys or {}).get("summary.json") or results_prefix(
                run.tenant, run.id
            ) + "summary.json"
            cells = {"training": training_words(json.loads(self.storage.get_text(key)))}
            if self.on_trained is not None and run.id not in self._done:
                self.on_trained()
        elif run.status == COMPLETED:
            cells["outcomes"] = self._outcomes(run)
            summary = json.loads(self.storage.get_text(run.output_keys["summary.json"]))
            high = (summary.get("risk_counts") or {}).get("HIGH", 0) / max(1, summary.get("rows_scored") or 0)
            lifetime = remaining_s(self.grant)
            cells["high"] = f"{high:.1%}"
            cells["report"] = open_url(self.settings, run.id)  # the server mints its token on the click
            cells["download"] = self.storage.presign(
                run.output_keys["results.csv"], min(3600, lifetime), filename="results.csv"
            )
        self._done[run.id] = (time.time(), cells)
        return cells

    def _outcomes(self, run) -> dict | None:
        """What the tenant sent about who left for ``run``: the join's report, or None (none sent, or no snapshot:
        a run without one cannot take outcomes, ``{}``)."""
        from retainwise.platform.labelled import RUN_FILES, BucketLabelled

        if not all(n in (run.output_keys or {}) for n in RUN_FILES):
            return {}
        try:
            return BucketLabelled(self.storage, self.grant.tenant).report(run.id)
        except RetainwiseError:
            return None

    def forget(self, run_id: str) -> None:
        """Redraw ``run_id``'s row from storage (after its outcomes were sent)."""
        self._done.pop(run_id, None)
        self.refresh()

    @staticmethod
    def _tell(run_id: str, report: dict | None) -> str:
        from retainwise.reports.portal_outcomes import outcomes_words

        if report == {}:
            return ""
        note = (
            ""
            if not report
            else (f'<div class="rw-outcomes-note">Who left: {html.escape(outcomes_words(report))}</div>')
        )
        return (
            f'<label class="rw-tell">{"Send who left again" if report else "Tell us who left"}'
            f'<input type="file" class="rw-outcomes-file" data-run="{html.escape(run_id)}" '
            f'accept=".csv,.xlsx,.tsv,.txt" hidden></label>{note}'
        )

    def _training_row(self, run) -> str:
        """A training run's row: what it is doing, then what it made (the model and the gate's verdict)."""
        if run.status == COMPLETED:
            said = f'<span class="rw-training-verdict">{html.escape(self._finished_cells(run)["training"])}</span>'
        elif run.status == FAILED:
            said = f'<span class="rw-failed-reason">{html.escape(run.error or "The training failed.")}</span>'
        else:
            said = '<span class="rw-training-busy">Training your model from this history ...</span>'
        return (
            f'<tr data-run="{html.escape(run.id)}" data-status="{run.status}" data-kind="training" '
            f'class="rw-training-run"><td class="rw-run-file">{html.escape(self._names[run.id])}'
            '<div class="rw-run-kind">History: trains your model</div></td>'
            f'<td data-label="Submitted">{run.created_at:%Y-%m-%d %H:%M} UTC</td>'
            f'<td class="rw-run-status rw-status-{run.status}" data-label="Status">{html.escape(run.status)}</td>'
            f'<td></td><td></td><td class="rw-training">{said}</td></tr>'
        )

    def _row(self, run) -> str:
        if run.id not in self._names:
            self._names[run.id] = original_name(self.storage, run.upload_key)
        if is_training_key(run.upload_key):
            return self._training_row(run)
        status = run.status
        if status == PROCESSING and run.rows_in:
            status += f" · {run.rows_in:,} rows"
        cells = self._finished_cells(run) if run.status in (COMPLETED, FAILED) else {}
        actions = ""
        if run.status == COMPLETED:  # new tabs: leaving this page would make Voila shut its kernel down
            actions = (
                f'<a class="rw-open-report" href="{html.escape(cells["report"])}" target="_blank" '
                f'rel="noopener">Open report</a> · <a class="rw-download" href="{html.escape(cells["download"])}"'
                f' target="_blank" rel="noopener">Download results</a>'
                + (" · " if cells.get("outcomes") != {} else "")
                + self._tell(run.id, cells.get("outcomes"))
            )
        elif run.status == FAILED:
            actions = f'<span class="rw-failed-reason">{html.escape(run.error or "The run failed.")}</span>'
        scored = "" if run.rows_scored is None else f"{run.rows_scored:,}"
        return (
            f'<tr data-run="{html.escape(run.id)}" data-status="{run.status}">'
            f'<td class="rw-run-file">{html.escape(self._names[run.id])}</td>'
            f'<td data-label="Submitted">{run.created_at:%Y-%m-%d %H:%M} UTC</td>'
            f'<td class="rw-run-status rw-status-{run.status}" data-label="Status">{html.escape(status)}</td>'
            f'<td data-label="Customers scored">{scored}</td>'
            f'<td data-label="At high risk">{cells.get("high", "")}</td><td>{actions}</td></tr>'
        )

    def render(self, runs) -> str:
        """The table's HTML for ``runs`` (all the grant's tenant's)."""
        if not runs:
            return '<p class="rw-note rw-no-runs">No files scored yet: upload one above.</p>'
        return (
            '<table class="rw-table rw-runs-table"><thead><tr><th>File</th><th>Submitted</th><th>Status</th>'
            "<th>Customers scored</th><th>At high risk</th><th></th></tr></thead><tbody>"
            + "".join(self._row(r) for r in runs)
            + "</tbody></table>"
        )

    def refresh(self) -> bool:
        """Redraw when anything changed. True while a run is queued or processing."""
        with self._lock:
            runs = self.store.list_tenant(self.grant.tenant)
            value = self.render(runs)
            if value != self.widget.value:
                self.widget.value = value
            self.in_flight = any(r.status in (QUEUED, PROCESSING) for r in runs)
            return self.in_flight

    def start(self) -> RunsTable:
        """Refresh now, then keep refreshing from a daemon thread until :meth:`stop`."""
        self.refresh()

        def loop():
            idle_ticks = 0
            while not self._stop.wait(POLL_S):
                idle_ticks += 1
                # ``in_flight`` is also set by a refresh the page makes right after queueing a run
                if self.in_flight or idle_ticks * POLL_S >= IDLE_POLL_S:
                    idle_ticks = 0
                    try:
                        self.refresh()
                    except Exception:  # noqa: BLE001 - a storage hiccup: try again on the next tick
                        self.in_flight = True

        threading.Thread(target=loop, name="portal-runs", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
