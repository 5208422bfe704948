"""Shared pytest fixtures. Area-specific fixtures live in the test modules (or tests/_<area>.py)."""

from __future__ import annotations

import os
from pathlib import Path

# Imported here, at a shallow stack: hypothesis's pytest plugin otherwise imports it lazily while printing
# the terminal summary, deep inside pluggy, where CPython 3.11.7's ast.parse (assertion rewriting) can fail
# with "AST constructor recursion depth mismatch" (CPython gh-106905).
import hypothesis  # noqa: F401
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "retainwise" / "data" / "sample_customers.csv"
TRAINING = ROOT / "retainwise" / "data" / "telco_churn_train.csv"

# The kernels our tests start must not warn about unencrypted local TCP (noise, not news).
os.environ.setdefault("PYTHONWARNINGS", "ignore:::jupyter_client.session")


@pytest.fixture(scope="session", autouse=True)
def _retainwise_home(tmp_path_factory):
    """RETAINWISE_HOME defaults to the user's data directory: no test may write there, so set it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RETAINWISE_HOME", str(tmp_path_factory.mktemp("retainwise-home")))
        yield


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An isolated RETAINWISE_HOME for one test."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("RETAINWISE_HOME", str(path))
    for var in ("RETAINWISE_QUEUE_URL", "RETAINWISE_BUCKET", "RETAINWISE_DATABASE_URL", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    return path


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    """moto's server as a real process on 127.0.0.1, shared by the tests that talk to AWS over HTTP."""
    from retainwise.platform.embedded import MotoServer

    with MotoServer(log_path=tmp_path_factory.mktemp("moto") / "moto.log") as server:
        yield server


@pytest.fixture
def make_stack(moto_server, tmp_path, monkeypatch):
    """Makes a stack: a fresh bucket, queue and dead-letter queue on the moto server, a home and a run store,
    exported to the environment; settings may be overridden. Its runners are stopped after the test."""
    from ._stack import Stack

    made = []

    def make(**overrides):
        s = Stack.create(moto_server.url, tmp_path, **overrides)
        for key, value in s.settings.to_env().items():
            monkeypatch.setenv(key, value)
        made.append(s)
        return s

    try:
        yield make
    finally:
        for s in made:
            s.stop_workers()


@pytest.fixture
def stack(make_stack):
    """A stack with the default settings."""
    return make_stack()
