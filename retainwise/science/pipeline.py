"""One scoring run, stage by stage, streamed in chunks.

The pipeline notebook calls these stages in order and displays what each one
found; tests and benchmarks call them in-process. The file is never held
whole: :meth:`Pipeline.read` reads the header and a sample (the mapping is
decided on it), :meth:`~Pipeline.validate` reads the rest chunk by chunk,
normalising and validating each and parking the scorable rows on disk;
prediction and explanation go through those chunks again, and results are
appended to results.csv and results.parquet as each chunk is explained.
Everything summary.json reports is accumulated so that it equals the
whole-file figures whatever the chunk size (validation.py, streaming.py).
``results.csv`` keeps the upload's order; ``results_top.csv`` holds the
:data:`TOP_N` customers most at risk, highest probability first (same
columns), ``customers.parquet`` their canonical fields (what the report's
segments and what-if need, so it never reads the upload again), and
summary.json the first 20 of them (``top_at_risk``) and a probability
histogram, so a report never needs to load all results. ``snapshot.parquet`` keeps every scored
customer's fields and own columns as scored (snapshot.py), written while validating: what outcomes join to.

Every stage records its wall time in ``timings`` (``timings_s`` in
summary.json) and its progress in ``<output_dir>/progress.json``. A stage
called before the one it needs (cells run out of order) raises
:class:`~retainwise.errors.InternalError` ``step_out_of_order`` naming the
stage to run first.
"""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from retainwise.errors import InternalError
from retainwise.science import (
    domain,
    drift,
    explain,
    factors,
    outputs,
    playbook,
    rules,
    run_summary,
    scoring,
    serving,
    snapshot,
    trust,
)
from retainwise.science import tenant as tenant_models  # not ``tenant``: the business's name is called that
from retainwise.science.ahead import Ahead
from retainwise.science.canonical import Normaliser
from retainwise.science.chunk_results import chunk_results
from retainwise.science.features import present_features
from retainwise.science.mapping import ColumnMapping, map_columns
from retainwise.science.model import load_model
from retainwise.science.progress import write_progress
from retainwise.science.quality import Report
from retainwise.science.reading import CHUNK_ROWS, open_upload
from retainwise.science.streaming import ExactSum, Spill, Top
from retainwise.science.upload_stream import UploadStream
from retainwise.science.validation import Validator

#: Customers most at risk kept (results_top.csv: what a report's table shows of a big run).
TOP_N = 50_000


class Pipeline:
    """Map, validate, score and explain one uploaded file.

    Parameters: ``input_path`` the upload; ``output_dir`` where results.csv,
    results.parquet, summary.json, mapping.json and progress.json go; ``tenant``
    the business; ``run_id`` (generated when empty); ``quality_level``
    basic/standard/strict; ``mapping_overrides`` source column -> canonical
    name, winning over inference; ``saved_mapping`` the tenant's saved mapping
    record (see mapping_record.py; the one to save next is written as
    ``mapping.json``); ``model_dir`` another model artefact directory;
    ``rules_share`` the share of customers (by a hash of tenant and customer)
    scored by the rules baseline instead of the model, for A/B tests;
    ``chunk_rows`` rows per chunk; ``progress_bar`` a tqdm bar per stage;
    ``explain_ahead`` compute SHAP values in the background from validation on
    (ahead.py; off when only the validated rows are wanted); ``tenant_model_dir`` the tenant's
    own active model (retainwise.science.tenant), which then scores every customer.

    Stages raise :class:`~retainwise.errors.InputError` for unusable input,
    :class:`~retainwise.errors.ModelError` for a missing or tampered model and
    :class:`~retainwise.errors.ConfigError` for a bad ``rules_share``.
    """

    def __init__(
        self,
        input_path: str | Path,
        output_dir: str | Path,
        *,
        tenant: str = "local",
        run_id: str | None = None,
        quality_level: str = "standard",
        mapping_overrides: dict[str, str] | None = None,
        saved_mapping: dict | None = None,
        model_dir: str | Path | None = None,
        rules_share: float = 0.0,
        chunk_rows: int = CHUNK_ROWS,
        progress_bar: bool = False,
        explain_ahead: bool = True,
        tenant_model_dir: str | Path | None = None,
    ) -> None:
        if not 0.0 <= float(rules_share) <= 1.0:
            from retainwise.errors import ConfigError

            raise ConfigError(f"rules_share must be between 0 and 1, not {rules_share!r}.")
        self.input_path, self.output_dir = Path(input_path), Path(output_dir)
        self.tenant, self.run_id = tenant, run_id or uuid.uuid4().hex[:12]
        self.quality_level, self.model_dir = quality_level, model_dir
        self.mapping_overrides = dict(mapping_overrides or {})
        self.saved_mapping = dict(saved_mapping) if saved_mapping else None
        self.rules_share, self.chunk_rows, self.progress_bar = (
            float(rules_share),
            int(chunk_rows),
            progress_bar,
        )
        self.timings: dict[str, float] = {}
        self.started_at = datetime.now(UTC)
        self._spill: Spill | None = None
        self._ahead: Ahead | None = None
        self.explain_ahead = explain_ahead
        # What each stage finds, None until it has run: a stage called before the one it needs (a
        # notebook's cells run out of order) says which to run first (_after), not AttributeError.
        self.upload: UploadStream | None = None  # read
        self.mapping: ColumnMapping | None = None  # map_columns
        self.validation: Report | None = None  # validate, with the next three
        self.snapshot: snapshot.SnapshotWriter | None = None
        self.present: frozenset[str] = frozenset()
        self.scales: dict = {}
        self.scores: pd.DataFrame | None = None  # predict, with the next eight
        self.model = self.models = self.choice = None
        self.drift: dict = {}
        self.domain: domain.Domain | None = None
        self.experiment: dict = {}
        self.realised: dict | None = None
        self.confidence: dict = {}
        self.top: pd.DataFrame | None = None  # explain, with the next five
        self.driver_names: list[str] = []
        self._tables: factors.FactorTables | None = None
        self._top_rows: pd.DataFrame | None = None
        self._mean_abs: np.ndarray | None = None
        self._revenue = None
        # the tenant's own active model (registry.py), verified now: a tampered artefact fails before any work
        self.tenant_model = tenant_models.load(tenant_model_dir) if tenant_model_dir else None

    @contextmanager
    def _stage(self, name: str, total: int | None = None):
        from tqdm.auto import tqdm

        start = time.perf_counter()
        bar = tqdm(total=total, desc=name, unit=" rows", disable=not self.progress_bar, mininterval=1.0)

        def advance(rows_done: int) -> None:
            bar.update(rows_done - bar.n)
            write_progress(self.output_dir, name, rows_done, total)

        try:
            yield advance
        except BaseException:
            if self._ahead is not None:  # a failed stage stops the SHAP values computing ahead (a later
                self._ahead.close()  # explain() computes them itself); the parked rows stay for a retry
                self._ahead = None
            raise
        finally:
            bar.close()
            self.timings[name] = round(time.perf_counter() - start, 4)

    def _after(self, value, step: str):
        """``value`` (what ``step`` found), or an :class:`InternalError` naming the step to run first.

        Internal, not input: the stages are ours to call in order (the notebook, run_all), so a stage
        called early is a bug in the caller, permanent (code ``step_out_of_order``), never the file's fault.
        """
        if value is None:
            raise InternalError(
                f"Pipeline.{step}() has not run yet: run it (and the stages before it) first.",
                code="step_out_of_order",
            )
        return value

    # -- stages ---------------------------------------------------------
    def read(self):
        """Open the upload (encoding, delimiter and format detected): its columns and a sample."""
        with self._stage("read"):
            self.upload = open_upload(self.input_path, chunk_rows=self.chunk_rows)
        return self.upload

    def map_columns(self):
        """Map the upload's columns onto the canonical schema (decided on the header and the sample)."""
        with self._stage("mapping"):
            self.mapping = map_columns(
                self._after(self.upload, "read").frame,
                overrides=self.mapping_overrides,
                saved=self.saved_mapping,
                tenant=self.tenant,
            )
            # written now, not with the results: a confirmed mapping is worth keeping even if a later stage fails
            outputs.write_summary(self.mapping.record, self.output_dir / "mapping.json")
        return self.mapping

    def validate(self):
        """Read the file chunk by chunk: normalise, validate, park the scorable rows. The quality report."""
        self._after(self.mapping, "map_columns")
        with (
            self._stage("validation") as advance,
            snapshot.SnapshotWriter(self.output_dir / snapshot.FILE, self.mapping.unmapped) as snap,
        ):
            validator = Validator(level=self.quality_level, mapping=self.mapping)
            self._spill, present, scales = Spill(), frozenset(), rules.ScaleFinder()
            normaliser = Normaliser(self.mapping)  # each distinct text converted once per run, not per chunk
            for chunk in self.upload.chunks():
                rows = validator.add(canonical := normaliser.canonical(chunk))
                present |= present_features(rows)
                scales.add(rows)
                if len(rows):  # a chunk of nothing but repeats or rows without an id leaves nothing to score
                    snap.add(chunk, canonical, rows)  # every scored customer as scored, own columns included
                    if self.tenant_model is not None:  # its own columns score too: carried with the rows
                        rows = tenant_models.with_own_columns(rows, chunk, canonical, self.tenant_model.spec)
                    self._spill.put(rows)
                    if self.explain_ahead:
                        self._explain_ahead(present)
                advance(validator.rows_in)
            self.validation, self.snapshot = validator.finish(), snap
            self.present, self.scales = present, scales.scales()
        return self.validation

    def _explain_ahead(self, present: frozenset[str]) -> None:
        """Start the SHAP values of the chunk just parked (ahead.py says why), guessing the model from the
        first chunk's columns."""
        if self._ahead is None:
            self._ahead = Ahead(self.tenant_model or load_model(self.model_dir).choose_for(present).model)
        self._ahead.submit(self._spill.paths[-1])

    @property
    def rows(self) -> pd.DataFrame:
        """Every scorable canonical row at once (small files only: tests, JupyterLab)."""
        self._after(self.validation, "validate")
        return self._spill.all()

    def predict(self, rules_share: float | None = None) -> pd.DataFrame:
        """Churn probability, risk tier and prediction for every scorable customer.

        The feature set that suits the file's columns scores it (``self.choice``); ``rules_share``
        (default: the attribute) of the customers are served by the rules baseline instead (A/B, by a
        hash of tenant and customer); all of them the rules can score when the model has no column to go
        on (expected AUC below ``experiment.ML_FLOOR``) or the file is outside the model's domain
        (domain.py: a SaaS-like file, or the model's main columns far from its training data). Also
        measures drift against the training data, decides the confidence (``self.confidence``, with its
        reason in words) and, when the upload carries ``churned``, the realised accuracy of both scores.
        Raises :class:`ModelError` for a missing or tampered model.
        """
        share = self.rules_share if rules_share is None else rules_share
        self._after(self.validation, "validate")
        with self._stage("prediction", self._spill.rows) as advance:
            if self.tenant_model is not None:  # the tenant's own model: its own customers are its domain
                self.model, self.choice, reference = self.tenant_model, None, {}
            else:
                self.models = load_model(self.model_dir)
                self.choice = self.models.choose_for(self.present)
                self.model, reference = self.choice.model, self.models.card.get("drift_reference", {})
            ml, by_rules, counts, outcomes = [], [], {}, []
            for rows in self._spill.chunks():
                ml.append(scoring.score_rows(rows, self.model))
                by_rules.append(rules.score(rows, self.scales))
                for name, c in drift.counts_for(rows, reference).items():
                    counts[name] = counts.get(name, 0) + c
                if "churned" in rows.columns:
                    outcomes.append(rows["churned"])
                advance(rows.index[-1] + 1)
            self.drift = drift.psi_from_counts(reference, counts)
            self.domain, self.scores, self.experiment = serving.serve(
                pd.concat(ml), pd.concat(by_rules), self, reference, share
            )
            churned = pd.concat(outcomes) if outcomes else None
            self.realised = trust.realised(
                self.scores, self.experiment["groups"], churned, self.model.threshold
            )
            self.confidence = (
                trust.tenant_confidence(self.model)
                if self.choice is None
                else trust.confidence(self.domain, self.experiment, self.realised, self.choice)
            )
        return self.scores

    def explain(self) -> pd.DataFrame:
        """SHAP explanations per customer, appended chunk by chunk to results.csv and results.parquet.

        Returns the customers most at risk (:data:`TOP_N`).
        """
        self._after(self.scores, "predict")
        drivers, revenue, top = ExactSum(2.0**30), ExactSum(1e4), Top(TOP_N)
        self._tables = factors.FactorTables(playbook.load())  # each distinct value described once per run
        with (
            self._stage("explanation", len(self.scores)) as advance,
            outputs.ResultsWriter(self.output_dir / "results.csv") as writer,
        ):
            for i, rows in enumerate(self._spill.chunks()):
                expl = (
                    self._ahead.result(i, self.model, rows)
                    if self._ahead is not None
                    else explain.explain_rows(rows, self.model)
                )
                results, values = chunk_results(
                    rows, self.scores.loc[rows.index], expl, self._tables, self.scales, self.model.version
                )
                drivers.add(np.abs(values.to_numpy()))
                if "monthly_charges" in results.columns:
                    revenue.add(results["monthly_charges"].astype(float) * results["churn_probability"])
                writer.append(results)
                top.add(results, rows)
                advance(rows.index[-1] + 1)
            self.driver_names, n = list(values.columns), max(1, len(self.scores))
        self.top = top.frame()
        self._top_rows = top.companion(self.top) if self.top is not None else None
        self._mean_abs = drivers.value() / n
        self._revenue = revenue.value() if "monthly_charges" in self.top.columns else None
        return self.top

    def write_outputs(self) -> dict[str, Path]:
        """Write results_top.csv and summary.json (results were written while explaining); paths by name."""
        self._after(self.top, "explain")
        with self._stage("outputs"):
            paths = {
                name: self.output_dir / name for name in ("results.csv", "results.parquet", snapshot.FILE)
            }
            paths["results_top.csv"] = outputs.write_results(self.top, self.output_dir / "results_top.csv")
            if self._top_rows is not None:
                paths["customers.parquet"] = outputs.write_customers(
                    self._top_rows, self.output_dir / "customers.parquet"
                )
        # summary last, so its timings include everything before it
        paths["summary.json"] = outputs.write_summary(self.summary(), self.output_dir / "summary.json")
        self.close()
        return paths

    def close(self) -> None:
        """Stop the background work and remove the parked rows (after the outputs, or when a stage failed)."""
        if self._ahead is not None:
            self._ahead.close()
        if self._spill is not None:
            self._spill.close()

    def run_all(self) -> dict[str, Path]:
        """Every stage in order (what the notebook does, without the displays)."""
        self.read()
        self.map_columns()
        self.validate()
        self.predict()
        self.explain()
        return self.write_outputs()

    # -- views ----------------------------------------------------------
    @property
    def results(self) -> pd.DataFrame:
        """Every result row as written (results.parquet: upload order, text neutralised). Small files only."""
        return pd.read_parquet(self.output_dir / "results.parquet")

    def global_drivers(self) -> pd.DataFrame:
        """Mean |impact| per business feature over every customer, strongest first."""
        frame = pd.DataFrame(
            {"feature": self.driver_names, "mean_abs_impact": self._after(self._mean_abs, "explain")}
        )
        # the rules' columns no customer's score used are left out; the model's always shown
        frame = frame[(frame["mean_abs_impact"] > 0) | frame["feature"].isin(self.model.features)]
        return frame.sort_values("mean_abs_impact", ascending=False, kind="stable").reset_index(drop=True)

    def summary(self) -> dict:
        """summary.json as a dict (run_summary.py: DESIGN fields plus input details, drivers, the most at
        risk, finish time)."""
        self._after(self.top, "explain")
        return run_summary.summary(self)

    def model_summary(self) -> dict:
        """summary.json's ``model`` (trust.model_summary): who scored, how confident and why."""
        self._after(self.scores, "predict")
        return trust.model_summary(self.model, self.choice, self.experiment, self.confidence, self.domain)

    def revenue_at_risk(self) -> float | None:
        """Monthly revenue at risk: the sum of monthly charges x churn probability (None without charges)."""
        self._after(self.top, "explain")
        return None if self._revenue is None else round(float(self._revenue), 2)

    def histogram(self, bins: int = 20) -> dict:
        """Customers per probability bin (``edges``) and tier: the risk chart without the results."""
        return run_summary.histogram(self._after(self.scores, "predict"), bins)

    def top_at_risk(self, n: int = 10, columns: list[str] | None = None) -> pd.DataFrame:
        """The ``n`` customers most likely to leave, with their explanation (ties: file order)."""
        cols = columns or ["customer_id", "churn_probability", "churn_risk", "explanation"]
        return self._after(self.top, "explain")[cols].head(n).reset_index(drop=True)
