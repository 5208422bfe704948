"""The data behind a tenant's report: one run's summary and results, from a local folder or from storage.

Three sources: a run's output directory (static report, JupyterLab), a verified grant (Voila: the run
store and S3) and the bundled sample scored in-process (JupyterLab's default). Headline figures come
from ``summary.json``; the customers from ``results.csv`` (every customer, sorted here by probability),
or for a run larger than :data:`MAX_ROWS` from ``results_top.csv`` (the customers most at risk, which
the pipeline writes; the page says so) while every aggregate still comes from the summary.
"""

from __future__ import annotations

import base64
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from retainwise.reports import labels
from retainwise.science import playbook

#: Customers read into the page at most (the highest probabilities first: results.csv is sorted).
MAX_ROWS = 50_000
#: results.csv is embedded in the static report as a data: link up to this size.
EMBED_BYTES = 1_500_000


@dataclass
class ReportData:
    """Everything the page shows, for one run of one tenant."""

    tenant: str
    run_id: str
    summary: dict
    results: pd.DataFrame
    download_url: str | None = None
    earlier: list[dict] = field(default_factory=list)
    upload_name: str = ""
    #: Loads the customers' canonical fields (segments, what-if): () -> DataFrame or None.
    features_loader: object = None
    #: The tenant's previous completed run: {"summary": ..., "results": ...} or None.
    previous: dict | None = None
    #: Whether the tenant's history was looked up (a run folder alone knows nothing of earlier runs).
    history_known: bool = False
    #: The report of the outcomes sent later for this run (``retainwise outcomes``), when they measured its
    #: predictions (``realised``); None otherwise (:func:`later_outcomes`).
    later: dict | None = None
    _features: pd.DataFrame | None = None
    _pending: object = None  # a Future while prefetch() loads the features
    _segments: pd.DataFrame | None = None

    @property
    def rows_scored(self) -> int:
        return int(self.summary["rows_scored"])

    @property
    def truncated(self) -> bool:
        return len(self.results) < self.rows_scored

    @property
    def high_share(self) -> float:
        return self.summary["risk_counts"].get("HIGH", 0) / max(1, self.rows_scored)

    @property
    def has_revenue(self) -> bool:
        """Whether the run has money to show: a monthly charges column with a value for some customer (results
        without the column at all: a revenue at risk in the summary).

        Only ``customer_id`` is required of an upload: without a money column (or with an empty one) the
        page shows no revenue figure anywhere and says why once (:attr:`no_revenue_note`)."""
        if {"monthly_charges", "revenue_at_risk"} & set(self.results.columns):
            return has_revenue(self.results)
        return amount(self.summary.get("revenue_at_risk")) is not None

    @property
    def revenue_at_risk(self) -> float | None:
        """Monthly revenue at risk over every customer (computed once, by the pipeline), or None without money.

        ``summary.json`` holds null (or, from older runs, nothing) when the upload had no money column."""
        if not self.has_revenue:
            return None
        value = amount(self.summary.get("revenue_at_risk"))
        if value is not None or self.truncated:
            return value
        return float(self.results["revenue_at_risk"].sum())

    @property
    def no_revenue_note(self) -> str:
        """Why the page shows no revenue ("" when it does): said once, in the headline."""
        if self.has_revenue:
            return ""
        mapped = "monthly_charges" in self.results.columns or "monthly_charges" in self.fields
        if mapped:
            return (
                "The monthly charges column of this file is empty, so revenue at risk is not shown; "
                "fill it in to see it."
            )
        return (
            "No monthly charges in this file, so revenue at risk is not shown; add a monthly charges or MRR "
            "column to see it."
        )

    @property
    def fields(self) -> set[str]:
        """The canonical fields the upload's columns were read as (``customer_id``, ``contract``, ...)."""
        return {str(f) for f in (self.summary.get("mapping") or {}).values() if f}

    @property
    def quality_score(self) -> float:
        return float(self.summary["quality"]["score"])

    def prefetch(self, started=None) -> None:
        """Start loading the features in the background (or adopt ``started``, a Future of
        :func:`background` already loading them): the first sections render meanwhile."""
        if self._pending is None and self._features is None:
            if started is not None:
                self._pending = started
            elif callable(self.features_loader):
                self._pending = background(self.features_loader)

    def features(self) -> pd.DataFrame | None:
        """The customers' canonical fields indexed by customer id (None when the upload is not available)."""
        if self._pending is not None:
            self._features, self._pending = self._pending.result(), None
        elif self._features is None and callable(self.features_loader):
            self._features = self.features_loader()
        return self._features

    def segment_labels(self) -> pd.DataFrame:
        """Each customer's segment per dimension (the segments section and the browser's filter), made once."""
        if self._segments is None:
            from retainwise.reports.segments import segment_labels

            self._segments = segment_labels(self.features())
        return self._segments


def amount(value) -> float | None:
    """A figure of summary.json as a float; None when it is null, missing, not a number or not finite."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def has_revenue(results: pd.DataFrame) -> bool:
    """Whether ``results`` (as :func:`results_frame` reads them) hold a revenue at risk for some customer."""
    return "revenue_at_risk" in results.columns and bool(results["revenue_at_risk"].notna().any())


def background(fn):
    """``fn()`` running in a thread of its own: a Future of its result."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rw-features")
    future = pool.submit(fn)
    pool.shutdown(wait=False)
    return future


def results_name(available, rows_scored: int) -> str:
    """Which results file the page reads: ``results_top.csv`` (the most at risk, sorted, written by the
    pipeline for large runs) when the run is larger than :data:`MAX_ROWS` and has it, else ``results.csv``."""
    return "results_top.csv" if rows_scored > MAX_ROWS and "results_top.csv" in available else "results.csv"


def results_frame(text: str, nrows: int | None = MAX_ROWS) -> pd.DataFrame:
    """results.csv as the page uses it: revenue at risk and the recommended action per customer."""
    # text columns read as text: a run where no customer has an action (a file of ids alone) leaves the column
    # all blank, which pandas would read as floats (and "nan")
    frame = pd.read_csv(io.StringIO(text), dtype={"customer_id": str, "recommended_action": str}, nrows=nrows)
    if "monthly_charges" in frame.columns:
        frame["revenue_at_risk"] = (
            pd.to_numeric(frame["monthly_charges"], errors="coerce") * frame["churn_probability"]
        )
    if "recommended_action" not in frame.columns:  # runs from before the pipeline filled it
        frame["recommended_action"] = playbook.recommend(frame)
    frame["recommended_action"] = frame["recommended_action"].fillna("").astype(str)
    return frame.sort_values("churn_probability", ascending=False, kind="stable").reset_index(drop=True)


def canonical_rows(upload: Path, summary: dict, keep=None) -> pd.DataFrame | None:
    """The upload read and mapped the way the run mapped it, one row per scored customer (None on failure).

    With ``keep`` (customer ids), only those customers: the upload is streamed chunk by chunk and each chunk
    filtered, so a run of a million rows costs a chunk plus the kept rows, never the whole file. ``keep`` may
    be a callable returning the ids (or None), called once the rows are validated: the ids may still be
    loading when this starts.
    """
    import tempfile

    from retainwise.errors import RetainwiseError
    from retainwise.science.pipeline import Pipeline

    try:
        run = Pipeline(
            upload,
            tempfile.mkdtemp(prefix="retainwise-report-"),
            mapping_overrides=dict(summary.get("mapping") or {}),
            explain_ahead=False,
        )
        run.read()
        run.map_columns()
        run.validate()
    except (RetainwiseError, OSError):
        return None
    spill = (
        run._spill
    )  # the validated rows parked on disk: read back a chunk at a time, as the run scored them
    try:
        keep = keep() if callable(keep) else keep
        parts = [c if keep is None else c[c["customer_id"].astype(str).isin(keep)] for c in spill.chunks()]
    finally:
        spill.close()
    rows = pd.concat(parts) if parts else pd.DataFrame(columns=["customer_id"])
    rows = rows.drop_duplicates("customer_id")
    return rows.set_index(rows["customer_id"].astype(str))


def shown_ids(data: ReportData) -> set[str] | None:
    """The customer ids the page shows when it shows only some of the run (None: every customer is shown)."""
    return set(data.results["customer_id"].astype(str)) if data.truncated else None


def _data_link(path: Path) -> str:
    # the size first: results.csv of a million customers is 700 MB, never to be read just to be refused
    if path.stat().st_size > EMBED_BYTES:
        return ""
    return "data:text/csv;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _local_upload(results_dir: Path) -> Path | None:
    executed = results_dir / "notebooks" / "pipeline.ipynb"
    if not executed.is_file():
        return None
    # plain JSON: importing nbformat pulls in jsonschema's slow format checkers, for one metadata field
    params = (
        json.loads(executed.read_text(encoding="utf-8"))
        .get("metadata", {})
        .get("papermill", {})
        .get("parameters", {})
    )
    path = Path(str(params.get("input_path") or ""))
    return path if path.is_file() else None


def later_outcomes(store, run_id: str) -> dict | None:
    """The report of the outcomes sent later for ``run_id`` in ``store`` (platform/labelled.py: the local
    folder or the bucket), when it measured the run's predictions; None when there is none, it measured
    nothing (only leavers, or a history upload), or it cannot be read: a report never fails for it."""
    from retainwise.errors import RetainwiseError
    from retainwise.platform.tenants import check_run_id

    try:
        report = store.report(check_run_id(run_id))
    except (RetainwiseError, OSError, ValueError):
        return None
    realised = report.get("realised") if isinstance(report, dict) else None
    if (
        not isinstance(realised, dict)
        or amount(realised.get("roc_auc")) is None
        or not isinstance(realised.get("n"), int)
    ):
        return None
    return report


def _local_later(tenant, run_id) -> dict | None:
    """:func:`later_outcomes` of a run scored on this machine (``$RETAINWISE_HOME/tenants/<tenant>/labelled``)."""
    if not tenant or not isinstance(tenant, str):
        return None
    from retainwise.platform.labelled import LocalLabelled
    from retainwise.settings import Settings

    return later_outcomes(LocalLabelled(Settings.from_env().home, tenant), run_id)


def load_local(results_dir: str | Path) -> ReportData:
    """A run's output directory (static report, JupyterLab). OSError when it holds no run."""
    d = Path(results_dir)
    summary = json.loads((d / "summary.json").read_text(encoding="utf-8"))
    name = results_name({p.name for p in d.iterdir()}, int(summary["rows_scored"]))
    results = results_frame((d / name).read_text(encoding="utf-8"))
    upload = _local_upload(d)
    data = ReportData(
        summary["tenant"],
        summary["run_id"],
        summary,
        results,
        download_url=_data_link(d / "results.csv"),
        upload_name=labels.file_name((summary.get("input") or {}).get("name")),
        later=_local_later(summary.get("tenant"), summary["run_id"]),
    )
    if (d / "customers.parquet").is_file():  # the shown customers' fields, written by the run: no re-reading
        data.features_loader = lambda: customers_frame(
            (d / "customers.parquet").read_bytes(), shown_ids(data)
        )
    elif upload:  # runs from before customers.parquet: the upload mapped again
        data.features_loader = lambda: canonical_rows(upload, summary, shown_ids(data))
    return data


def customers_frame(parquet: bytes, keep: set[str] | None = None) -> pd.DataFrame:
    """``customers.parquet`` (the canonical fields of the customers a run's report shows) as
    :meth:`ReportData.features` gives them: indexed by customer id; with ``keep``, only those ids."""
    rows = pd.read_parquet(io.BytesIO(parquet))
    rows = rows.set_index(rows["customer_id"].astype(str))
    return rows if keep is None else rows.loc[rows.index.isin(keep)]


def warm() -> None:
    """Read a tiny customers.parquet of made-up rows: pyarrow's reader loads on the first (before any request)."""
    buf = io.BytesIO()
    pd.DataFrame({"customer_id": ["x"], "contract": ["monthly"], "tenure_months": [1.0]}).to_parquet(buf)
    customers_frame(buf.getvalue())


def load_demo() -> ReportData:
    """The bundled sample scored in-process (JupyterLab only)."""
    import tempfile

    from retainwise.resources import SAMPLE_UPLOAD
    from retainwise.science.pipeline import Pipeline

    out = Path(tempfile.mkdtemp(prefix="retainwise-report-demo-"))
    Pipeline(SAMPLE_UPLOAD, out, tenant="sample", run_id="demo").run_all()
    return load_local(out)  # the run wrote customers.parquet: its fields load from there
