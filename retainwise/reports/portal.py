"""The tenant's portal: what ``notebooks/portal.ipynb`` shows behind a signed portal link.

Three sections, one widget each:

1. **Upload**: a file input and "Score this file". The browser streams the
   file to storage through the server's upload endpoint
   (:mod:`retainwise.reports.portal_upload`), never through the kernel; the
   kernel then reads a sample of it from storage with the CLI's reader, so a
   file that is empty, too large, of the wrong kind or unusable is refused here
   with the CLI's one-line reason, and nothing is queued.
2. **Columns**: the mapping inferred from the header and the sample (the
   tenant's saved mapping first), one row per source column with a drop-down;
   low-confidence rows highlighted. "Start scoring" checks the choice, saves it
   as the tenant's confirmed mapping and queues the run, once: a second click
   queues nothing.
3. **Runs**: the tenant's runs, updating by themselves (:mod:`portal_runs`); a finished run takes a file
   of who left ("Tell us who left", :mod:`portal_outcomes`).

"Train on your history" uploads the same way, but the file is a history (customers and who left): no
column review; once the kernel has read its sample (the CLI's reader) and found a churned column, it is
queued at once as a *training* run (``queue_staged(..., train=True)``: under ``uploads/<tenant>/train/``).

Above them, one line on the model that scores the tenant: its own (from the bucket's registry) or ours.

The grant is read from the request after ``wait_for_request()`` (preheated
kernels), before anything is loaded: in our server, the grant the server
verified before giving the request a kernel (``retainwise.reports.gate``; the
kernel holds no link secret: ``retainwise.reports.handover``); in another
Voila, the token, verified here.
"""

from __future__ import annotations

import html
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from retainwise.errors import InputError, LinkError, RetainwiseError
from retainwise.reports.portal_style import CSS

#: A sample this large (bytes) is read to infer the columns; CSV files are cut at a line end.
SAMPLE_BYTES = 4 * 1024 * 1024


@dataclass
class Staged:
    """A file in the tenant's staging area, read and mapped, waiting for "Start scoring"."""

    key: str
    name: str
    frame: object
    editor: object


def read_sample(storage, key: str, name: str):
    """The first rows of the staged file at ``key`` as a frame, read like the CLI reads a file.

    Raises InputError with the CLI's reason for an unusable file; StorageError when storage fails.
    """
    from retainwise.reports.portal_upload import check_name
    from retainwise.science.reading import read_upload
    from retainwise.science.sample import sample_frame

    head = storage.head(key)
    if head is None:
        raise InputError("The upload did not arrive; please upload the file again.", code="upload_missing")
    with tempfile.TemporaryDirectory(prefix="retainwise-portal-") as tmp:
        path = Path(tmp) / check_name(name)  # the tenant's own file name, so messages name it as they know it
        if path.suffix.lower() == ".xlsx":  # a ZIP cannot be cut: downloaded whole, only its sample read
            storage.download(key, path)
            return sample_frame(path)
        if head["ContentLength"] <= SAMPLE_BYTES:
            storage.download(key, path)
        else:
            data = storage.get_head_bytes(key, SAMPLE_BYTES)
            path.write_bytes(data[: data.rfind(b"\n") + 1] or data)
        return read_upload(path).frame


class Portal:
    """The portal page of one tenant (the grant's)."""

    def __init__(self, settings, grant) -> None:
        import ipywidgets as w

        from retainwise.platform.runs import shared_store
        from retainwise.platform.storage import Storage
        from retainwise.reports.portal_outcomes import Outcomes
        from retainwise.reports.portal_runs import RunsTable
        from retainwise.reports.portal_widgets import UploadWidget
        from retainwise.science.reading import MAX_BYTES

        self.settings, self.grant = settings, grant
        self.store = shared_store(settings.effective_database_url)
        self.storage = Storage(settings)
        self.upload = UploadWidget(max_bytes=MAX_BYTES)
        self.upload.on_msg(self._on_upload)
        self.columns = w.VBox(
            [w.HTML('<p class="rw-note">Upload a file to see how its columns will be read.</p>')]
        )
        self.start_button = w.Button(description="Start scoring", button_style="primary", disabled=True)
        self.start_button.add_class("rw-start")
        self.start_button.on_click(self._start)
        self.columns_status = w.HTML()
        self.columns_status.add_class("rw-columns-status")
        self.runs = RunsTable(settings, grant, self.store, self.storage)
        self.outcomes = Outcomes(grant, self.store, self.storage, self.runs)
        self.model_line = w.HTML()
        self.runs.on_trained = self._show_own_model  # a training run that finished may have changed the model
        self._staged: Staged | None = None
        self._lock = threading.Lock()

    @property
    def tenant(self) -> str:
        return self.grant.tenant

    # -- upload ------------------------------------------------------------------------
    def _say(self, message: str, state: str) -> None:
        self.upload.message, self.upload.state = message, state

    def _on_upload(self, widget, content, buffers) -> None:
        from retainwise.reports.portal_upload import own_staged, size_refusal

        kind = content.get("kind") if isinstance(content, dict) else None
        name = str(content.get("name") or "the file") if kind else ""
        if kind == "refused":
            try:
                refusal = size_refusal(name, int(content.get("size") or 0))
            except (InputError, ValueError):
                refusal = InputError("This file cannot be uploaded: check its name and size.")
            self._say(
                refusal.message if refusal else "Choose the file again and press Score this file.", "error"
            )
        elif kind == "failed":
            self._say(str(content.get("message") or "The upload was refused."), "error")
        elif kind == "uploaded":
            key = str(content.get("key") or "")
            # The key comes back through the browser: only ever read the tenant's own staging area.
            if not own_staged(self.tenant, key):
                self._say("This upload is not valid.", "error")
                return
            if content.get("train") is True:
                self._train(key, name)
            else:
                self._stage(key, name)

    def _stage(self, key: str, name: str) -> None:
        from retainwise.platform import mapping_store
        from retainwise.reports.portal_widgets import MappingEditor
        from retainwise.science.mapping import map_columns

        self._say(f"Reading the columns of {name} ...", "busy")
        try:
            frame = read_sample(self.storage, key, name)
            mapping = map_columns(
                frame, tenant=self.tenant, saved=mapping_store.load(self.store, self.tenant)
            )
        except RetainwiseError as exc:
            self._discard(key)
            self._say(
                exc.message
                if isinstance(exc, InputError)
                else "The file could not be read right now; please try again in a minute.",
                "error",
            )
            return
        editor = MappingEditor(frame, mapping)
        with self._lock:
            old, self._staged = self._staged, Staged(key, name, frame, editor)
        if old is not None and old.key != key:
            self._discard(old.key)
        self.columns.children = [
            self._columns_intro(name, mapping),
            editor.widget,
            self.start_button,
            self.columns_status,
        ]
        self.columns_status.value = ""
        self.start_button.disabled = False
        self._say(f"{name} is uploaded: check its columns below, then start scoring.", "done")

    @staticmethod
    def _columns_intro(name: str, mapping):
        import ipywidgets as w

        saved = any(m == "saved" for m in mapping.method.values())
        note = " Your confirmed choices from last time are filled in." if saved else ""
        return w.HTML(
            f'<p class="rw-note">How RetainWise will read <b>{html.escape(name)}</b>. Rows highlighted '
            f"are guesses worth checking; change any field, or ignore a column.{note}</p>"
        )

    def _discard(self, key: str) -> None:
        try:
            self.storage.delete(key)
        except Exception:  # noqa: BLE001 - a leftover staged file is removed by the bucket's lifecycle
            pass

    # -- start scoring -------------------------------------------------------------------
    def _start(self, button=None) -> None:
        with self._lock:  # a second click finds nothing staged and queues nothing
            staged, self._staged = self._staged, None
        if staged is None:
            return
        self.start_button.disabled = True
        try:
            run_id = self._queue(staged)
        except RetainwiseError as exc:
            with self._lock:
                self._staged = staged
            self.start_button.disabled = False
            reason = (
                exc.message
                if isinstance(exc, InputError)
                else "Scoring could not be started right now; try again."
            )
            self.columns_status.value = f'<p class="rw-error">{html.escape(reason)}</p>'
            return
        self.columns_status.value = (
            f'<p class="rw-note rw-queued" data-run="{html.escape(run_id)}">'
            f"{html.escape(staged.name)} is queued for scoring; follow it below.</p>"
        )
        self._say("Upload another file whenever you like.", "idle")
        self.runs.refresh()

    def _queue(self, staged: Staged) -> str:
        from retainwise.platform import mapping_store
        from retainwise.reports.portal_runs import queue_staged
        from retainwise.science.mapping import map_columns

        # Checked on the sample first (two columns sent to one field, no customer id): refused here, not queued.
        # Saved as the tenant's confirmed mapping in the run store: the runner passes it to this run's pipeline.
        mapping = map_columns(
            staged.frame,
            overrides=staged.editor.overrides(),
            tenant=self.tenant,
            saved=mapping_store.load(self.store, self.tenant),
        )
        mapping_store.save(self.store, self.tenant, mapping.record)
        return queue_staged(self.settings, self.store, self.storage, self.tenant, staged.key, staged.name)

    def _train(self, key: str, name: str) -> None:
        """Queue the staged history at ``key`` as a training run, once its sample reads and says who left."""
        from retainwise.platform import mapping_store
        from retainwise.reports.portal_runs import queue_staged
        from retainwise.science.mapping import map_columns

        self._say(f"Reading {name} ...", "busy")
        try:
            frame = read_sample(self.storage, key, name)
            mapping = map_columns(
                frame, tenant=self.tenant, saved=mapping_store.load(self.store, self.tenant)
            )
            if (
                "churned" not in mapping.mapping.values()
            ):  # the training would fail on it: refused here, not queued
                raise InputError(
                    f"{name} has no churned column: a history file says who left (a churned column: "
                    "1/0, yes/no, true/false, churned/stayed).",
                    code="no_churned",
                )
            queue_staged(self.settings, self.store, self.storage, self.tenant, key, name, train=True)
        except RetainwiseError as exc:
            self._discard(key)
            self._say(
                exc.message
                if isinstance(exc, InputError)
                else "Training could not be started right now; please try again in a minute.",
                "error",
            )
            return
        self._say(f"{name} is queued to train your model; follow it below.", "done")
        self.runs.refresh()

    def _show_own_model(self) -> None:
        self.model_line.value = self._own_model()

    def _own_model(self) -> str:
        """The "Your own model" line (nothing when the registry cannot be read right now)."""
        from retainwise.platform.registry import BucketRegistry
        from retainwise.reports.portal_outcomes import own_model_html

        try:
            return own_model_html(BucketRegistry(self.storage, self.tenant).versions())
        except RetainwiseError:
            return ""

    # -- the page --------------------------------------------------------------------------
    def widget(self):
        import ipywidgets as w

        self._show_own_model()
        self.runs.start()
        self.outcomes.hint()
        head = w.HTML(
            f'{CSS}<div class="rw-portal"><h2>Churn scoring for {html.escape(self.tenant)}</h2>'
            '<p class="rw-note">Upload a CSV or Excel export of your customers (up to 200 MB). '
            "We read its columns, you confirm them, and your report is ready in a minute or two. "
            "A history of your past customers that says who left (a churned column, yes/no) trains a "
            "model of your own instead: Train on your history.</p></div>"
        )
        box = w.VBox(
            [
                head,
                self.model_line,
                w.HTML("<h3>1. Upload a file</h3>"),
                self.upload,
                w.HTML("<h3>2. Check the columns</h3>"),
                self.columns,
                w.HTML("<h3>3. Your files</h3>"),
                self.runs.widget,
                self.outcomes.widget,
            ]
        )
        box.add_class("rw-portal")
        return box


class Refusal:
    """The page shown instead of the portal: a plain refusal, no data."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def widget(self):
        import ipywidgets as w

        return w.HTML(
            f'{CSS}<div class="rw-refusal" id="rw-refusal"><h2>This page cannot be shown</h2>'
            f"<p>{html.escape(self.reason)}</p><p>Ask the person who sent you the link for a new one.</p>"
            "</div>"
        )


def open_portal(tenant: str = "", *, environ: dict | None = None):
    """The portal for this request (Voila), or for ``tenant`` (JupyterLab, a local secret); else a note.

    Never raises for a bad link: a refusal page is returned instead.
    """
    import logging

    from retainwise.platform.links import Grant
    from retainwise.reports.gate import check_portal, query_params
    from retainwise.reports.handover import grant_from, granted_by_server
    from retainwise.settings import Settings

    env = os.environ if environ is None else environ
    if environ is None and os.environ.get("VOILA_PREHEAT") == "True":
        from voila.utils import wait_for_request

        wait_for_request()  # a preheated kernel learns its request (and QUERY_STRING) only now
    try:
        settings = Settings.from_env()
        if granted_by_server(env):  # our server: the grant it verified (this kernel holds no link secret)
            return Portal(settings, grant_from(env.get("QUERY_STRING", ""), "portal"))
        if str(env.get("SERVER_SOFTWARE", "")).startswith("voila"):
            # another Voila: verify the token here (signature, expiry, revoked links, a disabled tenant)
            return Portal(settings, check_portal(settings, query_params(env.get("QUERY_STRING", ""))))
        if tenant:  # a data scientist working on the page in JupyterLab
            return Portal(settings, Grant(tenant=tenant, run_id="", expires=int(time.time()) + 3600))
    except LinkError as exc:
        logging.getLogger("retainwise.reports.portal").warning("portal refused: %s", exc.code)
        return Refusal(exc.message if exc.code == "expired" else "This link is not valid.")
    except RetainwiseError as exc:
        logging.getLogger("retainwise.reports.portal").warning("portal unavailable: %s", exc)
        return Refusal("The page could not be loaded right now. Please try again in a minute.")
    return Refusal("Open the portal through its link: `retainwise link --tenant T` prints one.")
