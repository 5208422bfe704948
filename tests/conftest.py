"""Shared pytest fixtures. Area-specific fixtures live in the test modules (or tests/_<area>.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "retainwise" / "data" / "sample_customers.csv"
TRAINING = ROOT / "retainwise" / "data" / "telco_churn_train.csv"

# The kernels our tests start must not warn about unencrypted local TCP (noise, not news).
os.environ.setdefault("PYTHONWARNINGS", "ignore:::jupyter_client.session")


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An isolated RETAINWISE_HOME for one test."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("RETAINWISE_HOME", str(path))
    for var in ("RETAINWISE_QUEUE_URL", "RETAINWISE_BUCKET", "RETAINWISE_DATABASE_URL", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    return path
