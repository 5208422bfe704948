"""The portal's two input widgets: the file upload (browser-side, anywidget) and the column editor.

The upload widget's JavaScript sends the chosen file straight to the server's
upload endpoint (:mod:`retainwise.reports.portal_upload`) with ``fetch``; the
kernel only hears what happened (``{"kind": "uploaded", "key", "name",
"size", "train"}``, ``train`` true when "Train on your history" was pressed;
``"refused"`` with the size, or ``"failed"`` with the server's reason), so a
200 MB file never crosses the kernel's websocket. Every text the kernel shows
through it is set with ``textContent``: nothing a tenant typed or named is ever
parsed as HTML.
"""

from __future__ import annotations

import html

import anywidget
import ipywidgets as w
import traitlets

from retainwise.reports import labels
from retainwise.science import schema

#: Below this confidence a mapped column is highlighted for the tenant to check.
LOW_CONFIDENCE = 0.8
IGNORE = "(ignore this column)"

_UPLOAD_JS = r"""
function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "rw-upload";
  const input = document.createElement("input");
  input.type = "file";
  input.accept = ".csv,.xlsx,.tsv,.txt";
  input.className = "rw-file";
  const button = document.createElement("button");
  button.textContent = "Score this file";
  button.className = "rw-score-file jupyter-button";
  const train = document.createElement("button");  // a history (who left): trains the tenant's model
  train.textContent = "Train on your history";
  train.className = "rw-train-file jupyter-button";
  train.title = "A file of your past customers with a column saying who left (yes/no): trains a model of your own";
  const status = document.createElement("div");
  status.className = "rw-upload-status";
  const show = () => {
    status.textContent = model.get("message");
    status.dataset.state = model.get("state");
    button.disabled = train.disabled = model.get("state") === "busy";
  };
  model.on("change:message", show);
  model.on("change:state", show);
  show();
  const send = async (training) => {
    const file = input.files[0];
    if (!file) { model.set("message", "Choose a CSV or Excel file first."); model.save_changes(); return; }
    if (file.size === 0 || file.size > model.get("max_bytes")) {
      model.send({ kind: "refused", name: file.name, size: file.size, train: training });
      return;
    }
    // through the model, so the kernel's next message always differs from what is shown
    model.set("message", "Uploading " + file.name + " ...");
    model.set("state", "busy");
    model.save_changes();
    const token = new URLSearchParams(window.location.search).get("token") || "";
    const url = window.location.pathname.replace(/\/+$/, "") + "/upload?token=" + encodeURIComponent(token)
      + "&name=" + encodeURIComponent(file.name);
    try {
      const resp = await fetch(url, { method: "POST", body: file, credentials: "same-origin" });
      const data = await resp.json();
      if (resp.ok) model.send({ kind: "uploaded", key: data.key, name: data.name, size: data.size, train: training });
      else model.send({ kind: "failed", message: data.error || "The upload was refused." });
    } catch (e) {
      model.send({ kind: "failed", message: "The upload did not finish; check your connection and try again." });
    }
  };
  button.addEventListener("click", () => send(false));
  train.addEventListener("click", () => send(true));
  box.append(input, button, train, status);
  el.append(box);
}
export default { render };
"""


class UploadWidget(anywidget.AnyWidget):
    """A file input, "Score this file" and "Train on your history": both upload from the browser to storage
    (the message says which: ``train``)."""

    _esm = _UPLOAD_JS
    max_bytes = traitlets.Int(0).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    state = traitlets.Unicode("idle").tag(sync=True)  # idle | busy | error | done


def examples(values, n: int = 3) -> str:
    """Up to ``n`` distinct non-blank example values, as escaped text."""
    seen: list[str] = []
    for v in values:
        text = str(v).strip()
        if text and text.lower() not in ("nan", "none") and text not in seen:
            seen.append(text if len(text) <= 30 else text[:29] + "…")
        if len(seen) == n:
            break
    return html.escape(", ".join(seen))


class MappingEditor:
    """The inferred mapping as rows (source, field drop-down, confidence, examples) and the overrides chosen."""

    def __init__(self, frame, mapping) -> None:
        self.sources = [str(c) for c in frame.columns]
        # "" rather than None for "ignore": a Dropdown shows value None as no selection at all
        # a business owner picks "Months as a customer", not tenure_months; the value stays the field's name
        options = [(IGNORE, "")] + [(labels.label(name), name) for name in schema.NAMES]
        header = w.HTML(
            "<div class='rw-map-row rw-map-head'><span>Your column</span><span>Read as</span>"
            "<span>Confidence</span><span>Examples</span></div>"
        )
        self.dropdowns: dict[str, w.Dropdown] = {}
        rows = [header]
        for source in self.sources:
            target = mapping.mapping.get(source)
            confidence = mapping.confidence.get(source, 0.0) if target else 0.0
            pick = w.Dropdown(options=options, value=target or "", layout=w.Layout(width="210px"))
            pick.add_class("rw-map-field")
            self.dropdowns[source] = pick
            row = w.HBox(
                [
                    w.HTML(
                        f"<span class='rw-map-source'>{html.escape(source)}</span>",
                        layout=w.Layout(width="200px"),
                    ),
                    pick,
                    w.HTML(
                        f"<span class='rw-map-conf'>{confidence:.0%}</span>", layout=w.Layout(width="90px")
                    ),
                    w.HTML(f"<span class='rw-map-examples'>{examples(frame[source].head(50))}</span>"),
                ]
            )
            row.add_class("rw-map-row")
            if confidence < LOW_CONFIDENCE:
                row.add_class("rw-low")
            rows.append(row)
        self.widget = w.VBox(rows)
        self.widget.add_class("rw-mapping")

    def overrides(self) -> dict[str, str | None]:
        """What the tenant confirmed: every source column -> field (None: leave it out)."""
        return {source: pick.value or None for source, pick in self.dropdowns.items()}
