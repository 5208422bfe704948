"""The customer report: what ``notebooks/report.ipynb`` shows, in Voila and as static HTML.

Three ways in, decided by :func:`open_page`:

- **Voila** (the kernel's ``SERVER_SOFTWARE`` says ``voila/...``): the run and
  token come from the request's query string (read after
  ``voila.utils.wait_for_request()``, so preheated kernels work too). The
  token is verified *before* anything is loaded; any failure shows the
  refusal page and nothing else. The page is interactive (ipywidgets).
- **Static** (``results_dir`` given): a run's local output directory, rendered
  by nbconvert into ``report.html`` for mailing and archiving: same headline,
  charts and panels, the table as plain HTML.
- **JupyterLab** (neither): a data scientist opening the notebook gets the
  bundled sample scored in-process, to work on the report itself.

Numbers shown: customers scored, share at HIGH risk, monthly revenue at risk
(sum of monthly charges x churn probability) and the data quality score, all
equal to the run's ``summary.json``.
"""

from __future__ import annotations

import html
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

TABLE_ROWS = 25
DRILL_CHOICES = 200

CSS = """
<style>
.rw-page { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #1d2733; }
.rw-title { font-size: 22px; font-weight: 600; margin: 4px 0 2px; }
.rw-sub { color: #5b6775; font-size: 13px; margin-bottom: 14px; }
.rw-kpis { display: flex; gap: 14px; flex-wrap: wrap; margin: 10px 0 18px; }
.rw-kpi { background: #f3f6fa; border-radius: 8px; padding: 12px 18px; min-width: 170px; }
.rw-kpi .rw-value { font-size: 26px; font-weight: 600; }
.rw-kpi .rw-label { font-size: 12px; color: #5b6775; text-transform: uppercase; letter-spacing: .04em; }
.rw-kpi.rw-high .rw-value { color: #b42318; }
table.rw-table { border-collapse: collapse; font-size: 13px; width: 100%; }
table.rw-table th { text-align: left; background: #f3f6fa; padding: 6px 8px; }
table.rw-table td { padding: 5px 8px; border-bottom: 1px solid #e6e9ee; vertical-align: top; }
.rw-tier { font-weight: 600; padding: 1px 6px; border-radius: 4px; font-size: 11px; }
.rw-tier-HIGH { background: #fde8e7; color: #b42318; }
.rw-tier-MEDIUM { background: #fff4e0; color: #9a5b00; }
.rw-tier-LOW { background: #e7f6ec; color: #1b7a3d; }
.rw-refusal { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; max-width: 520px;
  margin: 60px auto; padding: 28px; border-radius: 8px; background: #fff7f6; border: 1px solid #f3c3bf; }
.rw-refusal h2 { margin-top: 0; color: #b42318; }
.rw-note { color: #5b6775; font-size: 12px; }
</style>
"""


@dataclass
class ReportData:
    """Everything the page shows, for one run of one tenant."""

    tenant: str
    run_id: str
    summary: dict
    results: pd.DataFrame
    download_url: str | None = None
    earlier: list[dict] = field(default_factory=list)

    # -- headline numbers -----------------------------------------------------
    @property
    def rows_scored(self) -> int:
        return int(self.summary["rows_scored"])

    @property
    def high_share(self) -> float:
        return self.summary["risk_counts"].get("HIGH", 0) / max(1, self.rows_scored)

    @property
    def revenue_at_risk(self) -> float | None:
        return self.summary.get("revenue_at_risk")  # computed once, by the pipeline

    @property
    def quality_score(self) -> float:
        return float(self.summary["quality"]["score"])


def _results_frame(text: str) -> pd.DataFrame:
    frame = pd.read_csv(io.StringIO(text), dtype={"customer_id": str})
    if "monthly_charges" in frame.columns:
        frame["revenue_at_risk"] = frame["monthly_charges"].astype(float) * frame["churn_probability"]
    return frame.sort_values("churn_probability", ascending=False, kind="stable").reset_index(drop=True)


def load_local(results_dir: str | Path) -> ReportData:
    """A run's output directory (static report, JupyterLab)."""
    d = Path(results_dir)
    summary = json.loads((d / "summary.json").read_text(encoding="utf-8"))
    results = _results_frame((d / "results.csv").read_text(encoding="utf-8"))
    return ReportData(summary["tenant"], summary["run_id"], summary, results, download_url="results.csv")


def load_granted(settings, grant, run_id: str) -> ReportData:
    """The run a verified grant names, from the run store and S3. LinkError when it is not the tenant's.

    Every link and download minted here expires no later than ``grant`` (a page cannot stretch its link).
    """
    from retainwise.platform.links import LinkError, remaining_s, report_url
    from retainwise.platform.runs import COMPLETED, RunStore
    from retainwise.platform.storage import Storage

    store = RunStore.from_settings(settings)
    run = store.get(run_id)
    if run is None or run.tenant != grant.tenant or run.id != grant.run_id:
        raise LinkError("This report link is not valid.", code="wrong_tenant")
    if run.status != COMPLETED:
        raise LinkError(f"This report is not ready yet (status {run.status}).", code="not_ready")
    storage = Storage(settings)
    summary = json.loads(storage.get_text(run.output_keys["summary.json"]))
    results = _results_frame(storage.get_text(run.output_keys["results.csv"]))
    url = storage.s3.generate_presigned_url("get_object", ExpiresIn=min(3600, remaining_s(grant)), Params={
        "Bucket": storage.bucket, "Key": run.output_keys["results.csv"],
        "ResponseContentDisposition": f'attachment; filename="churn-{run.id}.csv"'})
    earlier = []
    for other in store.list_tenant(run.tenant, limit=20):
        entry = {"run_id": other.id, "status": other.status, "created_at": other.created_at,
                 "rows": other.rows_scored, "quality": other.quality_score, "current": other.id == run.id,
                 "upload": other.upload_key.rsplit("/", 1)[-1]}
        if other.status == COMPLETED and other.id != run.id:
            entry["url"] = report_url(settings, run.tenant, other.id, remaining_s(grant))
        earlier.append(entry)
    return ReportData(run.tenant, run.id, summary, results, download_url=url, earlier=earlier)


def load_demo() -> ReportData:
    """The bundled sample scored in-process (JupyterLab only)."""
    import tempfile

    from retainwise.resources import SAMPLE_UPLOAD
    from retainwise.science.pipeline import Pipeline

    out = Path(tempfile.mkdtemp(prefix="retainwise-report-demo-"))
    Pipeline(SAMPLE_UPLOAD, out, tenant="sample",
             run_id="demo").run_all()
    return load_local(out)


# -- pieces of the page ------------------------------------------------------------
def _money(x: float | None) -> str:
    return "n/a" if x is None else f"${x:,.0f}"


def headline_html(data: ReportData) -> str:
    s = data.summary
    kpis = [
        ("rw-rows", f"{data.rows_scored:,}", "customers scored", ""),
        ("rw-high", f"{data.high_share:.1%}", "at high risk", " rw-high"),
        ("rw-revenue", _money(data.revenue_at_risk), "monthly revenue at risk", ""),
        ("rw-quality", f"{data.quality_score:.0f}", "data quality score", ""),
    ]
    cards = "".join(f'<div class="rw-kpi{extra}"><div class="rw-value" id="{i}" data-value="{v}">{v}</div>'
                    f'<div class="rw-label">{label}</div></div>' for i, v, label, extra in kpis)
    name = html.escape(str((s.get("input") or {}).get("name") or ""))
    return (f'{CSS}<div class="rw-page"><div class="rw-title">Churn report for {html.escape(data.tenant)}</div>'
            f'<div class="rw-sub">Run {html.escape(data.run_id)} · {name} · model '
            f'{html.escape(str(s["model"]["version"]))} · finished {html.escape(str(s.get("finished_at", "")))}</div>'
            f'<div class="rw-kpis">{cards}</div></div>')


def risk_chart(data: ReportData):
    from retainwise.science.plots import risk_distribution

    return risk_distribution(data.results)


def drivers_chart(data: ReportData):
    from retainwise.science.plots import top_drivers

    return top_drivers(pd.DataFrame(data.summary.get("global_drivers") or []))


def table_html(frame: pd.DataFrame, total: int | None = None) -> str:
    rows = []
    for r in frame.itertuples(index=False):
        rev = getattr(r, "revenue_at_risk", None)
        rows.append(
            f'<tr data-customer="{html.escape(str(r.customer_id))}"><td>{html.escape(str(r.customer_id))}</td>'
            f"<td>{r.churn_probability:.1%}</td>"
            f'<td><span class="rw-tier rw-tier-{r.churn_risk}">{r.churn_risk}</span></td>'
            f"<td>{_money(rev) if rev is not None and rev == rev else 'n/a'}</td>"
            f"<td>{html.escape(str(r.explanation))}</td></tr>")
    shown = f'<div class="rw-note">Showing {len(frame)} of {total if total is not None else len(frame)}.</div>'
    return (f'{CSS}<table class="rw-table"><thead><tr><th>Customer</th><th>Churn probability</th><th>Risk</th>'
            f'<th>Revenue at risk / month</th><th>Why</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
            + shown)


def filtered(results: pd.DataFrame, sort: str = "probability", tier: str = "All", search: str = "") -> pd.DataFrame:
    frame = results
    if tier and tier != "All":
        frame = frame[frame["churn_risk"] == tier]
    if search:
        frame = frame[frame["customer_id"].astype(str).str.contains(search.strip(), case=False, regex=False)]
    key = "revenue_at_risk" if sort == "revenue" and "revenue_at_risk" in frame.columns else "churn_probability"
    return frame.sort_values(key, ascending=False, kind="stable")


def customer_html(row) -> str:
    return (f'{CSS}<div class="rw-page rw-drill" data-customer="{html.escape(str(row.customer_id))}">'
            f"<b>{html.escape(str(row.customer_id))}</b>: churn probability <b>{row.churn_probability:.1%}</b> "
            f'<span class="rw-tier rw-tier-{row.churn_risk}">{row.churn_risk}</span>'
            f"<p>{html.escape(str(row.explanation))}</p></div>")


def contributions_chart(row):
    """The customer's strongest SHAP contributions (risk up, protective down) as a bar chart."""
    import matplotlib.pyplot as plt

    factors = json.loads(row.risk_factors) + json.loads(row.protective_factors)
    factors.sort(key=lambda f: f["impact"])
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * max(3, len(factors)) + 0.8))
    labels = [f"{f['feature']} = {f['value']}" for f in factors]
    ax.barh(labels, [f["impact"] for f in factors],
            color=["#b42318" if f["impact"] > 0 else "#1b7a3d" for f in factors])
    ax.axvline(0, color="#333", lw=0.8)
    ax.set_xlabel("contribution to churn risk (log-odds, SHAP)")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    plt.close(fig)
    return fig


def quality_html(summary: dict) -> str:
    q = summary["quality"]
    issues = q.get("issues") or []
    if not issues:
        body = "<p>No data quality issues found.</p>"
    else:
        rows = "".join(
            f"<tr><td>{html.escape(str(i.get('code')))}</td><td>{html.escape(str(i.get('column') or ''))}</td>"
            f"<td>{i.get('count')}</td><td>{html.escape(str(i.get('message')))}</td>"
            f"<td>{html.escape(', '.join(map(str, i.get('examples') or [])))}</td></tr>" for i in issues)
        body = (f'<table class="rw-table"><thead><tr><th>Issue</th><th>Column</th><th>Count</th><th>What</th>'
                f"<th>Examples</th></tr></thead><tbody>{rows}</tbody></table>")
    return f'{CSS}<div class="rw-page"><p>Quality score <b>{q["score"]}</b> ({html.escape(str(q["level"]))}).</p>{body}</div>'


def mapping_html(summary: dict) -> str:
    conf = summary.get("mapping_confidence") or {}
    rows = "".join(f"<tr><td>{html.escape(src)}</td><td>{html.escape(dst)}</td><td>{conf.get(src, 1.0):.2f}</td></tr>"
                   for src, dst in (summary.get("mapping") or {}).items())
    unmapped = ", ".join(html.escape(c) for c in summary.get("unmapped") or []) or "none"
    return (f'{CSS}<table class="rw-table"><thead><tr><th>Your column</th><th>Read as</th><th>Confidence</th></tr>'
            f'</thead><tbody>{rows}</tbody></table><p class="rw-note">Not used: {unmapped}</p>')


def earlier_html(data: ReportData) -> str:
    if not data.earlier:
        return ""
    rows = []
    for e in data.earlier:
        name = html.escape(e["upload"])
        link = f'<a href="{html.escape(e["url"])}" target="_blank">{name}</a>' if e.get("url") else name
        rows.append(f"<tr><td>{html.escape(str(e['created_at'])[:16])}</td><td>{link}"
                    f"{' (this report)' if e['current'] else ''}</td><td>{e['status']}</td>"
                    f"<td>{e['rows'] if e['rows'] is not None else ''}</td></tr>")
    return (f'{CSS}<table class="rw-table rw-earlier"><thead><tr><th>Uploaded</th><th>File</th><th>Status</th>'
            f'<th>Customers</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')


def refusal_html(reason: str) -> str:
    return (f'{CSS}<div class="rw-refusal" id="rw-refusal"><h2>This report cannot be shown</h2>'
            f"<p>{html.escape(reason)}</p><p>Ask the person who sent you the link for a new one.</p></div>")


# -- the page ------------------------------------------------------------------
class Page:
    """A report page: :meth:`show` displays it (widgets in Voila and JupyterLab, plain HTML when static)."""

    def __init__(self, data: ReportData | None, *, static: bool = False, refusal: str | None = None) -> None:
        self.data, self.static, self.refusal = data, static, refusal

    def show(self) -> None:
        from IPython.display import HTML, display

        if self.refusal is not None:
            display(HTML(refusal_html(self.refusal)))
            return
        if self.static:
            self._show_static(display, HTML)
        else:
            display(self.widget())

    def _show_static(self, display, HTML) -> None:
        d = self.data
        display(HTML(headline_html(d)))
        display(risk_chart(d))
        display(drivers_chart(d))
        display(HTML("<h3>Customers most at risk</h3>" + table_html(d.results.head(50), len(d.results))))
        if len(d.results):
            top = next(d.results.itertuples(index=False))
            display(HTML("<h3>Why the top customer is at risk</h3>" + customer_html(top)))
            display(contributions_chart(top))
        display(HTML("<h3>Data quality</h3>" + quality_html(d.summary)))
        display(HTML("<h3>Column mapping</h3>" + mapping_html(d.summary)))
        display(HTML(f'<p><a href="{html.escape(d.download_url or "results.csv")}">Download results.csv</a></p>'))

    def widget(self):
        import ipywidgets as w
        from IPython.display import display

        d = self.data
        charts = w.Output()
        with charts:
            display(risk_chart(d))
            display(drivers_chart(d))

        sort = w.Dropdown(options=[("Churn probability", "probability"), ("Revenue at risk", "revenue")],
                          value="probability", description="Sort by")
        tier = w.ToggleButtons(options=["All", "HIGH", "MEDIUM", "LOW"], value="All", description="Risk")
        search = w.Text(placeholder="customer id", description="Search")
        table = w.HTML()
        pick = w.Dropdown(description="Customer", layout=w.Layout(width="420px"))
        drill = w.Output(layout=w.Layout(min_height="200px"))
        drill.add_class("rw-drill-out")

        def show_customer(change=None):
            drill.clear_output(wait=True)
            if pick.value is None:
                return
            row = next(d.results[d.results["customer_id"] == pick.value].itertuples(index=False))
            with drill:
                from IPython.display import HTML

                display(HTML(customer_html(row)))
                display(contributions_chart(row))

        def refresh(change=None):
            frame = filtered(d.results, sort.value, tier.value, search.value)
            table.value = table_html(frame.head(TABLE_ROWS), len(frame))
            ids = frame["customer_id"].astype(str).head(DRILL_CHOICES).tolist()
            pick.options = ids
            pick.value = ids[0] if ids else None

        for control in (sort, tier, search):
            control.observe(refresh, names="value")
        pick.observe(show_customer, names="value")
        refresh()
        show_customer()

        download = w.HTML(f'<a href="{html.escape(d.download_url or "")}" class="rw-download" '
                          'target="_blank">Download results.csv</a>')
        panels = w.Accordion(children=[w.HTML(quality_html(d.summary)), w.HTML(mapping_html(d.summary)),
                                       w.HTML(earlier_html(d))])
        for i, title in enumerate(["Data quality issues", "Column mapping used", "Earlier reports"]):
            panels.set_title(i, title)
        panels.selected_index = 0
        return w.VBox([
            w.HTML(headline_html(d)), charts,
            w.HTML("<h3>Customers</h3>"), w.HBox([sort, search]), tier, table,
            w.HTML("<h3>Customer detail</h3>"), pick, drill,
            download, panels,
        ])


def open_page(results_dir: str = "", *, environ: dict | None = None) -> Page:
    """The page for this request (Voila), this output directory (static) or the demo (JupyterLab)."""
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
    import logging

    from retainwise.errors import RetainwiseError
    from retainwise.platform.links import LinkError, from_query_string, verify
    from retainwise.settings import Settings

    run_id, token = from_query_string(env.get("QUERY_STRING", ""))
    try:
        settings = Settings.from_env()
        grant = verify(settings.secret, token, run_id)  # before any data is touched
        return Page(load_granted(settings, grant, grant.run_id))
    except LinkError as exc:
        logging.getLogger("retainwise.execution.static_report").warning("report refused: %s", exc.code)
        return Page(None, refusal=exc.message if exc.code in ("expired", "not_ready") else
                    "This report link is not valid.")
    except RetainwiseError as exc:
        logging.getLogger("retainwise.execution.static_report").warning("report unavailable: %s", exc)
        return Page(None, refusal="The report could not be loaded right now. Please try again in a minute.")
