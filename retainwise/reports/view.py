"""The customer report page: what ``notebooks/report.ipynb`` shows, one method per section.

Three ways in, decided by :func:`open_report` (the notebook's first cell after its parameters):

- **Voila** (the kernel's ``SERVER_SOFTWARE`` says ``voila/...``): the run and token come from the
  request's query string (read after ``voila.utils.wait_for_request()``, so preheated kernels work).
  The token is checked again (the server already did, before the kernel) *before* anything loads: in a
  kernel of our report server by finding the visit the server prepared for exactly this token (the run's
  cache, :mod:`retainwise.reports.run_cache`: the kernel holds no secret, database URL or AWS
  credentials), in any other Voila by verifying it and loading the run from the run store and S3. Any
  failure shows the refusal and every later section shows nothing. The page is interactive.
- **Static** (``results_dir`` given): a run's output directory, rendered by nbconvert into
  ``report.html`` for mailing and archiving: the same sections as plain HTML.
- **JupyterLab** (neither): the bundled sample scored in-process, to work on the report itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from retainwise.reports import detail, sections
from retainwise.reports.data import ReportData


class Page:
    """One report page; each public method displays one section (nothing once the request was refused)."""

    def __init__(self, data: ReportData | None, *, static: bool = False, refusal: str | None = None) -> None:
        self.data, self.static, self.refusal = data, static, refusal
        self._detail = None  # the detail widget, once its section is shown
        self._browser = None
        self.selected: str | None = (
            None if data is None or data.results.empty else str(data.results["customer_id"].iloc[0])
        )
        if data is not None:
            data.prefetch()

    # -- plumbing ------------------------------------------------------------------
    def _html(self, html: str) -> None:
        from IPython.display import HTML, display

        if html:
            display(HTML(html))

    def _show(self, build) -> None:
        if self.data is not None:
            self._html(build(self.data))

    # -- sections --------------------------------------------------------------------
    def check(self) -> None:
        """The refusal when the link grants nothing (shown by the first section cell)."""
        if self.refusal is not None:
            from retainwise.reports.gate import refusal_html

            self._html(refusal_html(self.refusal))

    def headline(self) -> None:
        self._show(sections.headline)

    def risk(self) -> None:
        self._show(sections.risk)

    def drivers(self) -> None:
        self._show(sections.drivers)

    def segments(self) -> None:
        self._show(sections.segments_section)

    def actions(self) -> None:
        self._show(sections.actions)

    def quality(self) -> None:
        self._show(sections.quality)

    def mapping(self) -> None:
        self._show(sections.mapping)

    def health(self) -> None:
        self._show(sections.health)

    def since(self) -> None:
        self._show(sections.since)

    def earlier(self) -> None:
        self._show(sections.earlier)

    def customers(self) -> None:
        """Every customer: a browser in Voila and JupyterLab, the top of the list when static."""
        if self.data is None:
            return
        if self.static:
            self._html(sections.customers_static(self.data))
            return
        from IPython.display import display

        from retainwise.reports import grid

        self._html(
            sections.section("customers", "Customers", "", "Click a customer to see why and what to do.")
        )
        self._browser = grid.Browser(self.data.results, self.data.segment_labels(), self.select)
        display(self._browser.widget)

    def customer(self) -> None:
        """One customer's detail (the top customer when static; the clicked one in Voila), with what-if."""
        if self.data is None or self.selected is None:
            return
        if self.static:
            row = next(self.data.results.head(1).itertuples(index=False))
            self._html(sections.section("detail", "The customer most at risk", detail.detail_html(row)))
            return
        from IPython.display import display

        from retainwise.reports.detail_widget import DetailWidget

        self._html(sections.section("detail", "Customer detail", ""))
        self._detail = DetailWidget(self.data)
        self._detail.show(self.selected)
        display(self._detail.widget)

    def select(self, customer_id: str | None, search: str = "") -> None:
        """Show ``customer_id`` in the detail (None: the search found nobody, say so)."""
        self.selected = customer_id
        if self._detail is not None:
            self._detail.show(customer_id, search)


def prepare() -> None:
    """Import what the first paint uses, compile the templates and draw a blank chart, before any request: a
    preheated Voila kernel runs this while it waits, so a visitor does not pay for it. Touches no tenant data.

    Decision (issue 27): only what the page's first paint needs. A report kernel of our server reads its run
    from the cache the server prepared (:mod:`retainwise.reports.run_cache`: Arrow files, memory-mapped), so
    it imports no run store, S3 client or pipeline, and the scoring model (XGBoost) loads only when what-if is
    first used. Another Voila (no cache) still connects the run store and S3 here (:func:`granted.warm`)."""
    import ipywidgets  # noqa: F401

    import retainwise.reports.detail_widget  # noqa: F401
    import retainwise.reports.grid  # noqa: F401
    from retainwise.reports import charts, render, run_cache

    charts.warm()
    render.warm()
    run_cache.warm()
    run_cache.mark_ready()
    if os.environ.get("VOILA_PREHEAT") == "True" and not os.environ.get(run_cache.CACHE_ENV):
        from retainwise.reports import data, granted

        data.warm()
        granted.warm()


def open_report(results_dir: str = "", *, environ: dict | None = None) -> Page:
    """The page for this request (Voila), this output directory (static) or the demo (JupyterLab)."""
    from retainwise.reports.data import load_demo, load_local

    env = os.environ if environ is None else environ
    if results_dir:
        return Page(load_local(results_dir), static=True)
    if environ is None and os.environ.get("VOILA_PREHEAT") == "True":
        from voila.utils import wait_for_request

        wait_for_request()  # a preheated Voila kernel learns its request (and QUERY_STRING) only now
    if str(env.get("SERVER_SOFTWARE", "")).startswith("voila"):
        return _granted_page(env)
    return Page(load_demo(), static=False)


def _granted_page(env) -> Page:
    from urllib.parse import parse_qs

    from retainwise.reports.run_cache import CACHE_ENV

    params = {k: v[0] for k, v in parse_qs(env.get("QUERY_STRING", "") or "").items()}
    if env.get(CACHE_ENV):  # our server admitted the request and prepared the run: no credentials needed
        return _cached_page(Path(env[CACHE_ENV]), params)
    return _platform_page(params)


def _refused(exc) -> Page:
    import logging

    from retainwise.reports.gate import refusal_reason

    logging.getLogger("retainwise.reports").warning("report refused: %s", getattr(exc, "code", "error"))
    return Page(None, refusal=refusal_reason(exc))


def _cached_page(root: Path, params: dict) -> Page:
    """The run from the server's cache, found by this request's token (no visit file: refused)."""
    from retainwise.errors import RetainwiseError
    from retainwise.reports.run_cache import load_visit

    try:
        return Page(load_visit(root, params.get("run"), params.get("token")))
    except RetainwiseError as exc:
        return _refused(exc)


def _platform_page(params: dict) -> Page:
    """The run from the run store and S3 (a Voila other than our server: the kernel has the credentials)."""
    from retainwise.errors import RetainwiseError
    from retainwise.platform.links import keys, verify
    from retainwise.reports.granted import load_granted
    from retainwise.settings import Settings

    try:
        settings = Settings.from_env()
        grant = verify(keys(settings), params.get("token"), params.get("run"))  # before any data is touched
        return Page(load_granted(settings, grant, grant.run_id))
    except RetainwiseError as exc:
        return _refused(exc)
