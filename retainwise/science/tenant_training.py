"""A tenant model's training run, section by section: what ``notebooks/tenant_training.ipynb`` calls.

Pure science (no storage, queues or Papermill): files and folders are handed in.

- :func:`labelled_from_history` turns a history file (a customer file with a ``churned`` column) into
  labelled rows the way a run sees its customers: the :class:`~retainwise.science.pipeline.Pipeline` runs
  in-process for its snapshot, then :func:`~retainwise.science.outcomes.labelled_from_snapshot` keeps the
  rows whose outcome is known. ``retainwise train --tenant T --data FILE`` and the runner's training runs
  share it.
- :func:`read_labelled_dir`: a folder of labelled Parquet files (one per source run) combined, a customer
  in several keeping its latest row.
- :class:`TenantTraining`: the labelled data (history plus folder), the candidate (``tenant.train``), the
  gate against what the tenant gets today (its current model, else the committed model or the rules),
  and one table or sentence per notebook section; :meth:`TenantTraining.save` writes model.ubj and
  card.json. Headers are the tenant's text: sentences escape them, tables are HTML-escaped by pandas.
"""

from __future__ import annotations

import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from retainwise.errors import InputError
from retainwise.science import tenant
from retainwise.science.display import escape_markdown
from retainwise.science.outcomes import RUN_ID, labelled_from_snapshot, latest_labelled
from retainwise.science.snapshot import FILE as SNAPSHOT
from retainwise.science.snapshot import OWN_PREFIX
from retainwise.science.tenant.today import what_it_gets_today

#: Where :meth:`TenantTraining.save_history` writes the history's labelled rows (and their report).
HISTORY_LABELLED, HISTORY_REPORT = "history_labelled.parquet", "history_labelled.json"


def labelled_from_history(
    path: str | Path, *, tenant: str, run_id: str | None = None
) -> tuple[pd.DataFrame, dict]:
    """``(labelled rows, report)`` of the history file ``path``: its customers as a run sees them, with a known
    ``churned``. Raises InputError for a missing file, or one that does not say who left."""
    from retainwise.science.pipeline import Pipeline

    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"{path}: no such history file. Pass a customer file that has a churned column.", code="no_file"
        )
    run_id = run_id or "train-" + uuid.uuid4().hex[:12]
    with tempfile.TemporaryDirectory(prefix="retainwise-tenant-history-") as tmp:
        Pipeline(path, tmp, tenant=tenant, run_id=run_id, explain_ahead=False).run_all()
        snapshot = pd.read_parquet(Path(tmp) / SNAPSHOT)
    made = labelled_from_snapshot(
        snapshot, run_id=run_id, scored_at=datetime.now(UTC).isoformat(timespec="seconds")
    )
    if made is None or not len(made[0]):
        why = "has no churned column" if made is None else "has no customer whose churned value is known"
        raise InputError(
            f"{path.name} {why}: a history file says who left (a churned column: 1/0, yes/no, "
            "true/false, churned/stayed).",
            code="no_churned",
        )
    return made


def read_labelled_dir(folder: str | Path | None) -> tuple[pd.DataFrame, list[str]]:
    """Every ``*.parquet`` labelled file in ``folder`` combined, and their names (run ids); none: empty."""
    files = sorted(Path(folder).glob("*.parquet")) if folder and Path(folder).is_dir() else []
    return latest_labelled([pd.read_parquet(f) for f in files]), [f.stem for f in files]


def header(column: str) -> str:
    """A feature's name as the tenant wrote it (``own:Region Code`` -> ``Region Code``)."""
    return column[len(OWN_PREFIX) :] if column.startswith(OWN_PREFIX) else column


class TenantTraining:
    """One training of ``tenant``'s model from ``history_path`` and the labelled files in ``labelled_dir``."""

    def __init__(
        self,
        tenant_name: str,
        *,
        history_path: str | Path | None = None,
        labelled_dir: str | Path | None = None,
        current_model_dir: str | Path | None = None,
        seed: int = 42,
        run_id: str | None = None,
    ) -> None:
        self.tenant, self.seed = tenant_name, int(seed)
        self.current_model_dir = Path(current_model_dir) if current_model_dir else None
        kept, self.kept_sources = read_labelled_dir(labelled_dir)
        self.history = self.history_report = None
        frames, self.sources = [kept], list(self.kept_sources)
        if history_path:
            self.history, self.history_report = labelled_from_history(
                history_path, tenant=tenant_name, run_id=run_id
            )
            frames.append(self.history)  # stamped now: it wins over a kept row of the same customer
            self.sources.append(Path(history_path).name)
        self.labelled = latest_labelled(frames)
        if not len(self.labelled):
            raise InputError(
                f"Tenant {tenant_name!r} has no labelled customers: upload a history file (a customer "
                "file with a churned column).",
                code="no_labelled",
            )
        self.candidate = self.verdict = self.card = None

    # -- sections ------------------------------------------------------------------------------
    def data_table(self) -> pd.DataFrame:
        """Labelled customers per source: rows, leavers, churn rate (and the total learned from)."""
        frame = self.labelled.assign(churned=pd.to_numeric(self.labelled["churned"], errors="coerce"))
        frame = frame[frame["churned"].notna()]
        by = frame.groupby(RUN_ID, sort=False)["churned"].agg(customers="size", leavers="sum")
        by.index = [self._source_name(i) for i in by.index]
        by.loc["all (each customer's latest row)"] = [len(frame), frame["churned"].sum()]
        by["leavers"] = by["leavers"].astype(int)
        by["churn_rate"] = (by["leavers"] / by["customers"].clip(lower=1)).round(3)
        return by.rename_axis("source")

    def _source_name(self, run_id) -> str:
        if self.history_report is not None and run_id == self.history_report.get("run_id"):
            return f"this history file ({self.sources[-1]})"
        return f"kept labelled data of run {run_id}"

    def train(self):
        """Learn the candidate (tenant.train: InputError with too little data), then gate it."""
        self.candidate = tenant.train(self.labelled, tenant=self.tenant, seed=self.seed, sources=self.sources)
        current = tenant.load(self.current_model_dir) if self.current_model_dir else None
        name, incumbent, probabilities = what_it_gets_today(self.candidate.rows, current)
        self.verdict = tenant.gate(self.candidate, incumbent, probabilities=probabilities, name=name)
        self.card = tenant.build_card(self.candidate, self.verdict)
        return self.candidate

    def features_table(self) -> pd.DataFrame:
        """Every column considered: kept (and how it is used) or left out, with the reason."""
        kept = [
            {"column": header(f["name"]), "kept": "yes", "how / why not": f.get("kind", "")}
            for f in self.candidate.spec
        ]
        out = [
            {"column": header(c), "kept": "no", "how / why not": why}
            for c, why in self.candidate.excluded.items()
        ]
        return pd.DataFrame(kept + out, columns=["column", "kept", "how / why not"])

    def folds_table(self) -> pd.DataFrame:
        """Held-out ROC AUC per fold, the candidate against what the tenant gets today."""
        folds = pd.DataFrame(self.verdict.get("folds") or [])
        if folds.empty:
            cv = self.candidate.cv
            return pd.DataFrame(
                {"fold": range(1, len(cv["roc_auc_folds"]) + 1), "candidate_roc_auc": cv["roc_auc_folds"]}
            )
        return folds[["fold", "customers", "candidate_roc_auc", "incumbent_roc_auc", "roc_auc_diff"]]

    def verdict_markdown(self) -> str:
        """The gate's verdict in words (its text names only our models and figures; escaped all the same)."""
        cv = self.candidate.cv
        return (
            f"{escape_markdown(self.verdict['verdict'])}\n\nHeld-out ROC AUC {cv['roc_auc']:.3f} "
            f"(± {cv.get('roc_auc_std', 0):.3f} per fold), Brier {cv['brier']:.4f} against "
            f"{cv['base_rate_brier']:.4f} for the base rate."
        )

    def card_table(self) -> pd.DataFrame:
        """The card's headline figures, one row each (the full card is card.json)."""
        card, on = self.card, self.card["trained_on"]
        rows = {
            "tenant": card["tenant"],
            "version": card.get("version", "(given when saved)"),
            "trained at": card["trained_at"],
            "customers": on["rows"],
            "who left": on["leavers"],
            "churn rate": on["churn_rate"],
            "sources": ", ".join(on["sources"]),
            "features": len(card["features"]),
            "left out": len(card["excluded"]),
            "held-out ROC AUC": card["cv"]["roc_auc"],
            "Brier": card["cv"]["brier"],
            "promoted": card["gate"]["promoted"],
            "compared with": card["gate"].get("incumbent_name"),
        }
        return pd.DataFrame({"value": [str(v) for v in rows.values()]}, index=list(rows))

    # -- artefacts -----------------------------------------------------------------------------
    def save(self, out_dir: str | Path) -> dict:
        """model.ubj and card.json in ``out_dir`` (the card gets its version and SHA-256; returned)."""
        self.card = tenant.save(out_dir, self.candidate.booster, self.card)
        return self.card

    def save_history(self, out_dir: str | Path) -> Path | None:
        """The history's labelled rows and report in ``out_dir`` (for the platform to keep), or None."""
        if self.history is None:
            return None
        import json

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.history.to_parquet(out / HISTORY_LABELLED, index=False)
        (out / HISTORY_REPORT).write_text(json.dumps(self.history_report, default=str), encoding="utf-8")
        return out / HISTORY_LABELLED
