"""The static HTML report: the executed notebook rendered by nbconvert, inputs hidden.

Uses the ``static`` template in ``templates/`` (no JavaScript, our header), so
the report can be mailed or archived and opens anywhere.
"""

from __future__ import annotations

import functools
from pathlib import Path

#: Cells tagged with this are left out of reports (the notebook's developer notes).
HIDE_TAG = "hide-in-report"


from retainwise.resources import templates_dir  # noqa: E402,F401 - re-exported for the report server


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


def render_static(executed_notebook: Path, out_html: Path, subtitle: str = "") -> Path:
    """Render ``executed_notebook`` to ``out_html`` with inputs and prompts hidden. Returns the path."""
    import nbformat

    nb = nbformat.read(str(executed_notebook), as_version=4)
    exporter = _exporter()
    params = nb.metadata.get("papermill", {}).get("parameters", {})
    subtitle = subtitle or " · ".join(
        p for p in (params.get("tenant", ""), f"run {params['run_id']}" if params.get("run_id") else "") if p
    )
    body, _ = exporter.from_notebook_node(nb, resources={"retainwise": {"subtitle": subtitle}})
    out_html.parent.mkdir(parents=True, exist_ok=True)
    out_html.write_text(body, encoding="utf-8")
    return out_html
