"""The static HTML report: the executed notebook rendered by nbconvert, inputs hidden.

Uses the ``static`` template in ``templates/`` (no JavaScript, our header), so
the report can be mailed or archived and opens anywhere.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

#: Cells tagged with this are left out of reports (the notebook's developer notes).
HIDE_TAG = "hide-in-report"


from retainwise.resources import templates_dir  # noqa: E402,F401 - re-exported for the report server

#: One render at a time: the exporter is shared, and nbconvert registers filters on it per render (a
#: runner with several runs at once, or its pool's :func:`prepare` while the first run renders).
_RENDERING = threading.Lock()


@functools.cache
def _exporter():
    """One exporter per process: building it (templates, Jinja environment) costs more than rendering."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(
        template_name="static",
        extra_template_basedirs=[str(templates_dir())],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={HIDE_TAG}), enabled=True)
    return exporter


def prepare() -> None:
    """Import nbconvert, build the exporter and render a blank notebook once (templates compiled).

    About 1 s the first time in a process; a runner with a kernel pool pays it while the pool warms,
    not in its first run's :func:`render_static`. Raises nothing it could not raise in a render.
    """
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "",
            outputs=[nbformat.v4.new_output("display_data", data={"text/html": "<p></p>", "text/plain": ""})],
        )
    ]
    with _RENDERING:
        _exporter().from_notebook_node(nb, resources={"retainwise": {"subtitle": "", "title": ""}})


def report_title(summary: dict) -> str:
    """``Churn report — <tenant> — <date>`` (the date the run finished, e.g. ``27 Nov 2026``)."""
    from datetime import datetime

    try:
        when = datetime.fromisoformat(str(summary.get("finished_at"))).strftime("%-d %b %Y")
    except ValueError:
        when = ""
    return " — ".join(p for p in ("Churn report", str(summary.get("tenant") or ""), when) if p)


def _summary_of(nb) -> dict:
    import json

    results_dir = nb.metadata.get("papermill", {}).get("parameters", {}).get("results_dir")
    path = Path(results_dir or "/nonexistent") / "summary.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def render_static(executed_notebook: Path, out_html: Path, subtitle: str = "") -> Path:
    """Render ``executed_notebook`` to ``out_html`` with inputs and prompts hidden. Returns the path.

    The title (page and header) is :func:`report_title` of the run's summary; the template escapes it and
    the subtitle, which carry the tenant's name. Raises OSError when a file cannot be read or written.
    """
    import nbformat

    nb = nbformat.read(str(executed_notebook), as_version=4)
    params = nb.metadata.get("papermill", {}).get("parameters", {})
    subtitle = subtitle or " · ".join(
        p for p in (params.get("tenant", ""), f"run {params['run_id']}" if params.get("run_id") else "") if p
    )
    title = report_title(_summary_of(nb))
    nb.metadata["title"] = title  # nbconvert's <title>, escaped by its template
    with _RENDERING:
        body, _ = _exporter().from_notebook_node(
            nb, resources={"retainwise": {"subtitle": subtitle, "title": title}}
        )
    out_html.parent.mkdir(parents=True, exist_ok=True)
    out_html.write_text(body, encoding="utf-8")
    return out_html
