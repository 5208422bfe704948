"""The per-run report cache (retainwise.reports.run_cache): what a report kernel reads instead of the run
store and S3, found only through a token the server admitted."""

from __future__ import annotations

import json
import os
import time

import pandas as pd
import pytest

from retainwise.errors import LinkError
from retainwise.reports import run_cache
from retainwise.reports.data import results_frame


def _cache(root, run_id="run1", token="tok", expires=None):
    folder = root / run_id
    (folder / "visits").mkdir(parents=True)
    results = results_frame(
        "customer_id,churn_probability,churn_risk,monthly_charges,recommended_action\n"
        "a,0.2,LOW,10,\nb,0.9,HIGH,20,Call them\n"
    )
    run_cache._write_arrow(results, folder / "results.arrow")
    run_cache._write_arrow(
        pd.DataFrame({"customer_id": ["a", "b"], "contract": ["monthly", "annual"]}),
        folder / "customers.arrow",
    )
    run_cache._write_arrow(
        pd.DataFrame({"customer_id": ["a"], "churn_risk": ["HIGH"]}), folder / "previous.arrow"
    )
    (folder / "previous.json").write_text(
        json.dumps({"summary": {"rows_scored": 1}, "when": "1 Dec", "upload": "f.csv"})
    )
    (folder / "summary.json").write_text(json.dumps({"rows_scored": 2, "risk_counts": {"HIGH": 1}}))
    meta = {"tenant": "acme", "run_id": run_id, "upload_name": "f.csv", "features": True}
    (folder / "meta.json").write_text(json.dumps(meta))
    visit = {
        "run_id": run_id,
        "tenant": "acme",
        "expires": expires or time.time() + 600,
        "download_url": "https://example/x",
        "earlier": [{"run_id": run_id, "current": True}],
        "later": None,
    }
    (folder / "visits" / run_cache.visit_name(token)).write_text(json.dumps(visit))
    return folder


def test_a_kernel_reads_the_run_through_its_admitted_token(tmp_path):
    _cache(tmp_path)
    data = run_cache.load_visit(tmp_path, "run1", "tok")
    assert data.tenant == "acme" and data.results["customer_id"].tolist() == ["b", "a"]  # sorted, as the page
    assert data.results["revenue_at_risk"].iloc[0] == pytest.approx(18.0)
    assert data.features().loc["b", "contract"] == "annual"
    assert data.previous["results"]["customer_id"].tolist() == ["a"] and data.previous["when"] == "1 Dec"
    assert data.download_url == "https://example/x" and data.history_known


def test_a_token_the_server_did_not_admit_opens_nothing(tmp_path):
    _cache(tmp_path)
    for run, token in (
        ("run1", "another"),
        ("run1", None),
        ("../run1", "tok"),
        ("other", "tok"),
        (None, "tok"),
    ):
        with pytest.raises(LinkError) as err:
            run_cache.load_visit(tmp_path, run, token)
        assert err.value.code == "invalid"
    assert not any("tok" in p.name for p in tmp_path.rglob("*"))  # only its hash is written down


def test_an_expired_visit_is_refused_like_an_expired_link(tmp_path):
    _cache(tmp_path, expires=time.time() - 1)
    with pytest.raises(LinkError) as err:
        run_cache.load_visit(tmp_path, "run1", "tok")
    assert err.value.code == "expired"


def test_sweep_drops_expired_visits_and_runs_nobody_opened_for_a_day(tmp_path):
    fresh = _cache(tmp_path, "fresh", expires=time.time() - 5)
    stale = _cache(tmp_path, "stale")
    old = time.time() - run_cache.KEEP_S - 10
    os.utime(stale, (old, old))
    assert run_cache.sweep(tmp_path) == 1
    assert not stale.exists() and fresh.exists() and not list((fresh / "visits").glob("*.json"))


def test_a_preheated_kernel_says_when_it_is_ready(tmp_path, monkeypatch):
    from retainwise.reports.kernels import ready_marker

    monkeypatch.delenv(run_cache.CACHE_ENV, raising=False)
    monkeypatch.setenv("VOILA_KERNEL_ID", "k-1")
    run_cache.mark_ready()  # not our server: nothing written
    assert not (tmp_path / ".ready").exists()
    monkeypatch.setenv(run_cache.CACHE_ENV, str(tmp_path))
    run_cache.mark_ready()
    assert ready_marker(tmp_path, "k-1").is_file()
