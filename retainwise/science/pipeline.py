"""One scoring run, stage by stage.

The pipeline notebook calls these stages in order and displays what each one
found; tests and benchmarks call them in-process. Every stage records its
wall time in ``timings`` (reported as ``timings_s`` in summary.json).
"""

from __future__ import annotations

import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from retainwise.science import explain, outputs, scoring
from retainwise.science.mapping import map_columns
from retainwise.science.model import load_model
from retainwise.science.normalise import to_canonical
from retainwise.science.reading import read_upload
from retainwise.science.validation import validate


class Pipeline:
    """Map, validate, score and explain one uploaded file.

    Parameters: ``input_path`` the upload; ``output_dir`` where results.csv and
    summary.json go; ``tenant`` the business; ``run_id`` (generated when empty);
    ``quality_level`` basic/standard/strict; ``mapping_overrides`` source column
    -> canonical name, winning over inference; ``saved_mapping`` the tenant's
    saved mapping record (see mapping_record.py; the one to save next is
    written as ``<output_dir>/mapping.json``); ``model_dir`` another model artefact directory;
    ``rules_share`` the share of customers (by a hash of tenant and customer)
    scored by the rules baseline instead of the model, for A/B tests.

    Stages raise :class:`~retainwise.errors.InputError` for unusable input and
    :class:`~retainwise.errors.ModelError` for a missing or tampered model.
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
    ) -> None:
        self.input_path = Path(input_path)
        self.output_dir = Path(output_dir)
        self.tenant = tenant
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.quality_level = quality_level
        self.mapping_overrides = dict(mapping_overrides or {})
        self.saved_mapping = dict(saved_mapping) if saved_mapping else None
        self.model_dir = model_dir
        if not 0.0 <= float(rules_share) <= 1.0:
            from retainwise.errors import ConfigError

            raise ConfigError(f"rules_share must be between 0 and 1, not {rules_share!r}.")
        self.rules_share = float(rules_share)
        self.timings: dict[str, float] = {}
        self.started_at = datetime.now(UTC)

    @contextmanager
    def _stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - start, 4)

    # -- stages ---------------------------------------------------------
    def read(self):
        """Read the upload (encoding, delimiter and format detected)."""
        with self._stage("read"):
            self.upload = read_upload(self.input_path)
        return self.upload

    def map_columns(self):
        """Map the upload's columns onto the canonical schema."""
        with self._stage("mapping"):
            self.mapping = map_columns(
                self.upload.frame, overrides=self.mapping_overrides, saved=self.saved_mapping, tenant=self.tenant
            )
            # written now, not with the results: a confirmed mapping is worth keeping even if a later stage fails
            outputs.write_summary(self.mapping.record, self.output_dir / "mapping.json")
        return self.mapping

    def validate(self):
        """Normalise values and score the data's quality; keep the scorable rows."""
        with self._stage("validation"):
            canonical = to_canonical(self.upload.frame, self.mapping)
            self.validation = validate(canonical, level=self.quality_level, mapping=self.mapping)
            self.rows = self.validation.rows
        return self.validation

    def predict(self, rules_share: float | None = None) -> pd.DataFrame:
        """Churn probability, risk tier and prediction for every scorable customer.

        The feature set that suits the file's columns scores it (``self.choice``
        says which, and how confident); ``rules_share`` (default: the
        ``rules_share`` attribute, else 0) of the customers are served by the
        rules baseline instead (A/B, by a hash of tenant and customer); all of
        them when the model has no column to go on (expected AUC below
        ``experiment.ML_FLOOR``) and the rules can score them. Also
        measures drift against the training data and, when the upload carries
        ``churned``, the realised accuracy. Raises :class:`ModelError` for a
        missing or tampered model, :class:`ConfigError` for a bad share.
        """
        from retainwise.science import drift, experiment, rules

        with self._stage("prediction"):
            share = getattr(self, "rules_share", 0.0) if rules_share is None else rules_share
            self.models = load_model(self.model_dir)
            self.choice = self.models.choose(self.rows)
            self.model = self.choice.model
            ml = scoring.score_rows(self.rows, self.model)
            # A file the model knows nothing about (e.g. SaaS usage columns only) is better served by the rules.
            fallback = self.choice.expected_roc_auc < experiment.ML_FLOOR
            groups = experiment.assign(self.tenant, self.rows["customer_id"], 1.0 if fallback else share)
            self.scores = experiment.route(ml, rules.score(self.rows), groups, self.model.threshold)
            self.experiment = {**experiment.summary(self.scores, share), "fallback_to_rules": bool(fallback)}
            self.drift = drift.psi_report(self.rows, self.models.card.get("drift_reference", {}))
            self.realised = None
            if "churned" in self.rows.columns:
                self.realised = drift.realised(self.rows["churned"], self.scores["churn_probability"],
                                               self.model.threshold)
                if self.realised and self.experiment["groups"]["rules"]:  # the A/B read-out: each arm alone
                    arm = self.scores["experiment_group"]
                    self.realised["by_group"] = {
                        g: drift.realised(self.rows["churned"][arm == g], self.scores["churn_probability"][arm == g],
                                          self.model.threshold if g == "ml" else 0.5)
                        for g in experiment.GROUPS}
        return self.scores

    def explain(self) -> pd.DataFrame:
        """SHAP explanations per customer; assembles the results table."""
        with self._stage("explanation"):
            self.explanations = explain.explain_rows(self.rows, self.model)
            p, tiers = self.scores["churn_probability"].to_numpy(), self.scores["churn_risk"].to_numpy()
            factors = explain.factor_columns(self.rows, self.explanations, p, tiers)
            by_rules = (self.scores["experiment_group"] == "rules").to_numpy()
            if by_rules.any():  # customers the rules served are explained by the rules
                some = self.rows.loc[by_rules]
                factors.loc[by_rules] = explain.factor_columns(
                    some, explain.rules_explanations(some), p[by_rules], tiers[by_rules]).to_numpy()
            results = pd.concat([self.scores, factors], axis=1)
            results["model_version"] = self.model.version
            if "monthly_charges" in self.rows.columns:
                results["monthly_charges"] = self.rows["monthly_charges"]
            self.results = results.sort_values("churn_probability", ascending=False, kind="stable")
        return self.results

    def write_outputs(self) -> dict[str, Path]:
        """Write results.csv and summary.json to the output directory."""
        with self._stage("outputs"):
            paths = {
                "results.csv": outputs.write_results(self.results, self.output_dir / "results.csv"),
            }
        # summary last, so its timings include writing the results
        paths["summary.json"] = outputs.write_summary(self.summary(), self.output_dir / "summary.json")
        return paths

    def run_all(self) -> dict[str, Path]:
        """Every stage in order (what the notebook does, without the displays)."""
        self.read()
        self.map_columns()
        self.validate()
        self.predict()
        self.explain()
        return self.write_outputs()

    # -- views ----------------------------------------------------------
    def summary(self) -> dict:
        """summary.json as a dict (DESIGN fields plus input details, drivers and finish time)."""
        return {
            "run_id": self.run_id,
            "tenant": self.tenant,
            "rows_in": self.validation.rows_in,
            "rows_scored": int(len(self.results)),
            "rows_rejected": self.validation.rows_rejected,
            "mapping": dict(self.mapping.mapping),
            "mapping_confidence": {k: round(float(v), 3) for k, v in self.mapping.confidence.items()},
            "unmapped": list(self.mapping.unmapped),
            "quality": self.validation.quality.to_dict(),
            "model": {"version": self.model.version, "kind": self.model.kind, **self.choice.to_dict()},
            "experiment": self.experiment,
            "drift": self.drift,
            **({"realised": self.realised} if self.realised else {}),
            "risk_counts": scoring.risk_counts(self.results["churn_risk"]),
            "revenue_at_risk": self.revenue_at_risk(),
            "timings_s": dict(self.timings),
            "input": {
                "name": self.upload.source_name,
                "format": self.upload.format,
                "encoding": self.upload.encoding,
                "delimiter": self.upload.delimiter,
            },
            "global_drivers": self.explanations.global_drivers().round(4).to_dict(orient="records"),
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }

    def revenue_at_risk(self) -> float | None:
        """Monthly revenue at risk: the sum of monthly charges x churn probability (None without charges)."""
        if "monthly_charges" not in self.results.columns:
            return None
        value = (self.results["monthly_charges"].astype(float) * self.results["churn_probability"]).sum()
        return round(float(value), 2)

    def top_at_risk(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` customers most likely to leave, with their explanation."""
        cols = ["customer_id", "churn_probability", "churn_risk", "explanation"]
        return self.results[cols].head(n).reset_index(drop=True)
