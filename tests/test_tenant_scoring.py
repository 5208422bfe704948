"""A tenant's active model scores its uploads; another tenant's do not; activating a version changes what
the next run uses (`retainwise score --tenant`, science/trust.py, platform/registry.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from retainwise.cli import main
from retainwise.platform.registry import LocalRegistry
from retainwise.science import tenant
from retainwise.science.outcomes import labelled_from_snapshot
from retainwise.science.pipeline import Pipeline

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from tenant_simulator import simulate  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.notebook]


def _trained(tmp_path: Path, n: int, seed: int, name: str) -> Path:
    """A tenant model trained through the real path: a history file scored, its snapshot labelled."""
    export, _, churned = simulate(n, seed)
    export.assign(Churned=np.where(churned == 1, "Yes", "No")).to_csv(tmp_path / f"{name}.csv", index=False)
    Pipeline(tmp_path / f"{name}.csv", tmp_path / f"{name}-run", explain_ahead=False).run_all()
    labelled, _ = labelled_from_snapshot(
        pd.read_parquet(tmp_path / f"{name}-run" / "snapshot.parquet"), run_id=name
    )
    candidate = tenant.train(labelled, tenant="acme", seed=seed)
    tenant.save(tmp_path / name, candidate.booster, tenant.build_card(candidate, None))
    return tmp_path / name


def _score(path: Path, out: Path, who: str) -> tuple[dict, pd.DataFrame]:
    assert main(["score", str(path), "--out", str(out), "--tenant", who, "--quiet"]) == 0
    return json.loads((out / "summary.json").read_text()), pd.read_parquet(out / "results.parquet")


def test_the_active_tenant_model_scores_that_tenant_only_and_activation_switches_it(tmp_path, home):
    first, second = _trained(tmp_path, 1200, 1, "first"), _trained(tmp_path, 1200, 2, "second")
    registry = LocalRegistry(home, "acme")
    v1 = registry.register(first, activate=True)["version"]
    v2 = registry.register(second, activate=True)["version"]
    fresh, _, churned = simulate(800, 9)
    fresh.to_csv(tmp_path / "fresh.csv", index=False)

    summary, results = _score(tmp_path / "fresh.csv", tmp_path / "acme-1", "acme")
    model = summary["model"]
    assert model["kind"] == "tenant" and model["version"] == v2 and model["expected_roc_auc"] > 0.7
    assert "Your own model" in model["reason"] and (results["model_version"] == v2).all()
    truth = dict(zip(fresh["Account ID"], churned, strict=True))
    assert roc_auc_score(results["customer_id"].map(truth), results["churn_probability"]) > 0.75
    # its own columns explain its customers, by their headers
    assert results["explanation"].str.contains("Weekly Active Days").any()
    assert any(d["feature"].startswith("own:") for d in summary["global_drivers"])

    other, _ = _score(tmp_path / "fresh.csv", tmp_path / "globex", "globex")
    assert other["model"]["kind"] in ("rules", "xgboost") and other["model"]["version"] != v2

    assert main(["models", "activate", "acme", v1]) == 0
    again, _ = _score(tmp_path / "fresh.csv", tmp_path / "acme-2", "acme")
    assert again["model"]["version"] == v1
