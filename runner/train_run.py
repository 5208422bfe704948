"""A training run: a training upload (``uploads/<tenant>/train/<file>``, ``retainwise submit --train``) trains
the tenant's own model instead of being scored.

It is an upload like any other: :func:`runner.process.run_upload` claims it, holds its message, beats its
heartbeat, checks the completion marker, puts the outputs once (marker last), records COMPLETED or settles
the failure (retry, dead letter). Only the work in the middle differs: :func:`training_context` gives
that run a context whose ``pipeline`` is a :class:`TrainingRun`, which

1. fetches the tenant's labelled files (``tenants/<tenant>/labelled/``) into a local folder (the active
   model, the gate's incumbent, is already fetched by run_upload as ``tenant_model_dir``);
2. executes ``notebooks/tenant_training.ipynb`` on the run's kernel (retainwise.execution.tenant_training);
3. keeps the history's labelled rows for the tenant under this run's id (so a later training sees them;
   also when there was too little data to train: they count towards the next attempt);
4. registers the model in the bucket registry (active when the gate promoted it, else a candidate);
5. leaves the executed notebook, ``card.json``, ``model.ubj`` and ``summary.json`` in the run's outputs
   (put under ``results/<tenant>/<run_id>/``).

Too little data is the notebook's InputError: permanent, the run FAILED with its message (the executed
notebook kept as its record), the upload left where it is.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from retainwise.errors import RetainwiseError
from retainwise.platform.labelled import BucketLabelled
from retainwise.platform.registry import BucketRegistry

from .context import Context

ARTEFACTS = ("model.ubj", "card.json")


def training_context(ctx: Context) -> Context:
    """``ctx`` for one training run: the same clients, runs in hand and stop signals; the training instead of
    the scoring notebooks."""
    return dataclasses.replace(ctx, pipeline=TrainingRun(ctx))


class TrainingRun:
    """Stands where the scoring notebooks stand in :func:`runner.process.run_upload` (same call, same result)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def __call__(
        self,
        source: Path,
        out: Path,
        *,
        tenant: str,
        run_id: str,
        km=None,
        timeout: int | None = None,
        tenant_model_dir: Path | None = None,
        **_,
    ) -> SimpleNamespace:
        from retainwise.execution.tenant_training import OUTPUT_NOTEBOOK, run_training

        workdir = Path(out).parent
        labelled_dir = self._fetch_labelled(tenant, run_id, workdir / "labelled")
        artefacts = workdir / "artefacts"
        try:
            card = run_training(
                tenant,
                artefacts,
                Path(out) / OUTPUT_NOTEBOOK,
                history_path=source,
                labelled_dir=labelled_dir,
                current_model_dir=tenant_model_dir,
                km=km,
                timeout=timeout,
            )
        finally:  # the history's labelled rows are the tenant's, trained on or not (too little data yet)
            self._keep_history(tenant, run_id, artefacts)
        entry = BucketRegistry(self.ctx.storage, tenant).register(
            artefacts, activate=bool(card["gate"]["promoted"])
        )
        for name in ARTEFACTS:
            shutil.copy2(artefacts / name, Path(out) / name)
        summary = training_summary(card, entry, run_id)
        (Path(out) / "summary.json").write_text(
            json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        self.ctx.log(
            "model_registered",
            run_id=run_id,
            tenant=tenant,
            version=entry["version"],
            status=entry["status"],
            roc_auc=entry.get("roc_auc"),
        )
        return SimpleNamespace(summary=summary)

    def _fetch_labelled(self, tenant: str, run_id: str, into: Path) -> Path:
        """The tenant's labelled files from the bucket, one Parquet per source run (this run's own: not
        fetched, its history is read again)."""
        store = BucketLabelled(self.ctx.storage, tenant)
        into.mkdir(parents=True, exist_ok=True)
        for source in store.run_ids():
            if source != run_id:
                self.ctx.storage.download(f"{store.prefix}{source}.parquet", into / f"{source}.parquet")
        return into

    def _keep_history(self, tenant: str, run_id: str, artefacts: Path) -> None:
        """Save the labelled rows the notebook took from the history (if it got that far); never raises ours."""
        from retainwise.science.tenant_training import HISTORY_LABELLED, HISTORY_REPORT

        path = artefacts / HISTORY_LABELLED
        if not path.is_file():
            return
        report_path = artefacts / HISTORY_REPORT
        report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.is_file() else {}
        try:
            rows = pd.read_parquet(path).assign(_run_id=run_id)  # the notebook's own id for them: this run's
            BucketLabelled(self.ctx.storage, tenant).save(run_id, rows, {**report, "run_id": run_id})
        except RetainwiseError as exc:
            self.ctx.log("labelled_not_saved", level="warning", run_id=run_id, error=exc.message)


def training_summary(card: dict, entry: dict, run_id: str) -> dict:
    """What a training run records as its summary: the model, its status and figures, what it learned from."""
    on = card.get("trained_on") or {}
    return {
        "kind": "training",
        "tenant": card.get("tenant"),
        "run_id": run_id,
        "rows_in": on.get("rows"),
        "rows_scored": 0,
        "labelled_rows": on.get("rows"),
        "trained_on": on,
        "model": {
            "kind": "tenant",
            "version": entry["version"],
            "status": entry["status"],
            "promoted": bool((card.get("gate") or {}).get("promoted")),
            "roc_auc": (card.get("cv") or {}).get("roc_auc"),
            "verdict": (card.get("gate") or {}).get("verdict"),
        },
        "features": [f["name"] for f in card.get("features", [])],
        "excluded": card.get("excluded", {}),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
