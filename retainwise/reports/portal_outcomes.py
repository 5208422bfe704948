"""The portal's "Your own model" line and "Tell us who left" for a finished run.

- :func:`own_model_html`: one sentence from the tenant's bucket registry (``BucketRegistry.versions()``):
  its active model, how many of its customers it learned from and how well it ranked leavers on
  customers it had not seen; or that the general model and the SaaS rules score it, and how to change that.
- :class:`Outcomes`: each completed run in the runs table has a "Tell us who left" file input. The
  browser streams the chosen file through the server's upload endpoint into the tenant's staging area
  (as "Score this file" does, :mod:`retainwise.reports.portal_upload`); the kernel then reads it from
  storage with the CLI's reader, joins it to that run's ``snapshot.parquet`` and saves the labelled rows
  exactly as ``retainwise outcomes`` does (:func:`retainwise.platform.labelled.label_run`): sending it
  again replaces them. What matched and how the run's predictions did are said in plain words.

Everything a tenant named or typed is escaped (``html.escape``) or shown with ``textContent``.
"""

from __future__ import annotations

import html
import tempfile
from pathlib import Path

import anywidget
import traitlets

from retainwise.errors import InputError, RetainwiseError

#: Outcomes are a customer id and who left: a file larger than this is refused before it is sent.
MAX_BYTES = 20 * 1024 * 1024

GENERAL = (
    "Your customers are scored by our general model and the SaaS rules. "
    "Tell us who left to train a model of your own."
)

HINT = (
    "Tell us who left: a CSV or Excel file with a customer id and whether each customer left (yes/no), "
    f"up to {MAX_BYTES // 1024 // 1024} MB. Sending it again for a file replaces what you sent before."
)


def own_model_html(versions: list[dict]) -> str:
    """The "Your own model" paragraph for the registry's ``versions`` (newest first)."""
    from retainwise.platform.labelled import day_words

    active = next((v for v in versions if v.get("status") == "active"), None)
    if active is None:
        return f'<p class="rw-own-model rw-note" data-model="general">{html.escape(GENERAL)}</p>'
    on = active.get("trained_on") or {}
    words = f"Your own model {active.get('version', '')}"
    if on.get("rows"):
        words += f", trained on {on['rows']:,} of your customers"
        words += f" ({on['leavers']:,} who left)" if on.get("leavers") is not None else ""
    if active.get("roc_auc") is not None:
        words += (
            ": on customers it had not seen it ranked a leaver above a stayer "
            f"{float(active['roc_auc']):.0%} of the time"
        )
    if active.get("activated_at"):
        words += f". Active since {day_words(active['activated_at'], year=False)}"
    return (
        f'<p class="rw-own-model" data-model="{html.escape(str(active.get("version", "")))}">'
        f"{html.escape(words)}.</p>"
    )


def outcomes_words(report: dict, replaced: bool = False) -> str:
    """What a run's outcomes showed, in plain words (text, not HTML)."""
    from retainwise.platform.labelled import day_words

    words = [f"{report['matched']:,} customers matched, {report['leavers']:,} of them left."]
    missing = report.get("not_in_run") or {}
    if missing.get("count"):
        verb = (
            "id in the file was not a customer"
            if missing["count"] == 1
            else "ids in the file were not customers"
        )
        words.append(
            f"{missing['count']:,} {verb} of that run (e.g. {', '.join(missing.get('examples', [])[:3])})."
        )
    realised = report.get("realised") or {}
    if realised.get("roc_auc") is not None:
        words.append(
            f"Our {day_words(report.get('scored_at'), year=False)} predictions ranked a leaver above a "
            f"stayer {realised['roc_auc']:.0%} of the time."
        )
    else:
        words.append("How our predictions did shows once the file holds both leavers and stayers.")
    if replaced:
        words.append("This replaces what you sent before for that run.")
    return " ".join(words)


def size_refusal(name: str, size: int) -> str | None:
    """Why an outcomes file of ``size`` bytes is refused, or None."""
    if size <= 0:
        return f"{name} is empty: send a file with a customer id and who left."
    if size > MAX_BYTES:
        return (
            f"{name} is {size / 1024 / 1024:.0f} MB: a file of who left can be at most "
            f"{MAX_BYTES // 1024 // 1024} MB (a customer id and a churned column are enough)."
        )
    return None


_OUTCOMES_JS = r"""
function render({ model, el }) {
  const status = document.createElement("div");
  status.className = "rw-outcomes-status";
  const show = () => {
    status.textContent = model.get("message");
    status.dataset.state = model.get("state");
    status.dataset.run = model.get("run");
    status.hidden = !model.get("message");
  };
  model.on("change:message", show);
  model.on("change:state", show);
  show();
  const onChange = async (event) => {
    const input = event.target;
    if (!input.matches || !input.matches("input.rw-outcomes-file")) return;
    const file = input.files[0], run = input.dataset.run || "";
    input.value = "";  // choosing the same file again is a new change
    if (!file) return;
    if (file.size === 0 || file.size > model.get("max_bytes")) {
      model.send({ kind: "refused", run, name: file.name, size: file.size });
      return;
    }
    model.set("message", "Sending " + file.name + " ...");
    model.set("state", "busy");
    model.save_changes();
    const token = new URLSearchParams(window.location.search).get("token") || "";
    const url = window.location.pathname.replace(/\/+$/, "") + "/upload?token=" + encodeURIComponent(token)
      + "&name=" + encodeURIComponent(file.name);
    try {
      const resp = await fetch(url, { method: "POST", body: file, credentials: "same-origin" });
      const data = await resp.json();
      if (resp.ok) model.send({ kind: "uploaded", run, key: data.key, name: data.name, size: data.size });
      else model.send({ kind: "failed", run, message: data.error || "The upload was refused." });
    } catch (e) {
      model.send({ kind: "failed", run, message: "The upload did not finish; check your connection and try again." });
    }
  };
  document.addEventListener("change", onChange);
  el.append(status);
  return () => document.removeEventListener("change", onChange);
}
export default { render };
"""


class OutcomesWidget(anywidget.AnyWidget):
    """The status line of "Tell us who left"; it uploads the file chosen in any run's row."""

    _esm = _OUTCOMES_JS
    max_bytes = traitlets.Int(MAX_BYTES).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    state = traitlets.Unicode("idle").tag(sync=True)  # idle | busy | error | done
    run = traitlets.Unicode("").tag(sync=True)


class Outcomes:
    """ "Tell us who left" for the grant's tenant's completed runs (``runs``: the page's RunsTable)."""

    def __init__(self, grant, store, storage, runs) -> None:
        self.grant, self.store, self.storage, self.runs = grant, store, storage, runs
        self.widget = OutcomesWidget()
        self.widget.on_msg(self._on_msg)

    def hint(self) -> None:
        """Say what "Tell us who left" takes, when the runs table offers it."""
        if "rw-outcomes-file" in self.runs.widget.value and not self.widget.message:
            self._say("", HINT, "idle")

    def _say(self, run_id: str, message: str, state: str) -> None:
        self.widget.run, self.widget.message, self.widget.state = run_id, message, state

    def _on_msg(self, widget, content, buffers) -> None:
        from retainwise.reports.portal_upload import own_staged

        content = content if isinstance(content, dict) else {}
        kind, run_id = content.get("kind"), str(content.get("run") or "")
        name = str(content.get("name") or "the file")
        if kind == "refused":
            self._say(
                run_id, size_refusal(name, int(content.get("size") or 0)) or "Choose the file again.", "error"
            )
        elif kind == "failed":
            self._say(run_id, str(content.get("message") or "The upload was refused."), "error")
        elif kind == "uploaded":
            key = str(content.get("key") or "")
            if not own_staged(self.grant.tenant, key):  # came back through the browser: only the tenant's own
                self._say(run_id, "This upload is not valid.", "error")
                return
            try:
                self._say(run_id, f"Matching {name} with the customers of that run ...", "busy")
                self._say(run_id, f"{name}: {self.send(run_id, key, name)}", "done")
            except InputError as exc:
                self._say(run_id, exc.message, "error")
            except RetainwiseError:
                self._say(
                    run_id, "Your file could not be matched right now; please try again in a minute.", "error"
                )
            finally:
                self._discard(key)
            self.runs.forget(run_id)

    def _run(self, run_id: str):
        from retainwise.platform.labelled import RUN_FILES
        from retainwise.platform.runs import COMPLETED

        run = self.store.get(run_id) if run_id else None
        if (
            run is None
            or run.tenant != self.grant.tenant
            or run.status != COMPLETED
            or not all(n in (run.output_keys or {}) for n in RUN_FILES)
        ):
            raise InputError("Outcomes can only be sent for one of your finished runs.", code="unknown_run")
        return run

    def send(self, run_id: str, key: str, name: str) -> str:
        """Join the staged file at ``key`` to run ``run_id`` and save it; what it showed, in words.

        InputError for a file that cannot be read or matches no customer of the run; StorageError.
        """
        from retainwise.platform.labelled import BucketLabelled, fetch_run_files, label_run
        from retainwise.reports.portal_upload import check_name
        from retainwise.science.reading import read_upload

        run = self._run(run_id)
        head = self.storage.head(key)
        if head is None:
            raise InputError("The upload did not arrive; please send the file again.", code="upload_missing")
        refusal = size_refusal(name, int(head["ContentLength"]))
        if refusal:
            raise InputError(refusal, code="too_large")
        with tempfile.TemporaryDirectory(prefix="retainwise-portal-outcomes-") as tmp:
            path = Path(tmp) / check_name(name)
            self.storage.download(key, path)
            outcomes = read_upload(path).frame
            folder = fetch_run_files(self.storage, run.output_keys, Path(tmp) / "run")
            saved, report, replaced = label_run(
                folder, outcomes, run.id, BucketLabelled(self.storage, run.tenant)
            )
        if saved is None:
            missing = report["not_in_run"]
            examples = ", ".join(missing["examples"][:3])
            raise InputError(
                f"None of the {missing['count']:,} customers in {name} was scored in this run"
                f"{' (e.g. ' + examples + ')' if examples else ''}: is it the right file and run?",
                code="no_match",
            )
        return outcomes_words(report, replaced)

    def _discard(self, key: str) -> None:
        try:
            self.storage.delete(key)
        except Exception:  # noqa: BLE001 - a leftover staged file is removed by the bucket's lifecycle
            pass
