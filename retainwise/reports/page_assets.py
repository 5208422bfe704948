"""What a report page makes the visitor's browser load: only the front-end extensions the page uses.

Voila's page loads the scripts of every JupyterLab extension installed beside it. The report's widgets
are ipywidgets only: it needs the widget manager, not ``anywidget`` (the portal's upload and outcomes
widgets) nor ``jupyterlab_pygments`` (code highlighting; the report shows no code). Leaving those two out
of the report page spares each visitor five scripts (about 0.4 MB) to fetch, parse and run: an
interactive page's time is mostly its browser running Voila's scripts (issue 27), and on a phone, or with
twenty pages opening at once, that is what a visitor waits for. The portal keeps every extension.
"""

from __future__ import annotations

#: Extensions a report page does without (by their package name in Voila's page config).
NOT_ON_REPORT = frozenset({"anywidget", "jupyterlab_pygments"})


def page_config_hook(page_config: dict, *, notebook_path: str = "", **_) -> dict:
    """Voila's ``page_config_hook``: the report page's config without :data:`NOT_ON_REPORT`."""
    from retainwise.reports.kernels import REPORT

    if notebook_path.rsplit("/", 1)[-1] != REPORT:
        return page_config
    extensions = page_config.get("federated_extensions", [])
    return {
        **page_config,
        "federated_extensions": [e for e in extensions if e.get("name") not in NOT_ON_REPORT],
    }
