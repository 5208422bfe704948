"""An earlier run's report says how its predictions did once outcomes were sent for it (``retainwise
outcomes``): reports/data.py loads the labelled report, sections.health says it in one sentence."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest

from retainwise.platform.labelled import BucketLabelled, LocalLabelled
from retainwise.reports import data as report_data
from retainwise.reports import sections
from retainwise.reports.data import ReportData

from .conftest import SAMPLE

LATER = {
    "run_id": "r1",
    "scored_at": "2024-12-03T09:00:00+00:00",
    "matched": 1234,
    "leavers": 300,
    "stayers": 934,
    "realised": {"n": 1234, "roc_auc": 0.812, "brier": 0.14},
}
SENTENCE = (
    "You told us later who left: our 3 Dec predictions ranked a leaver above a stayer 81% of the time "
    "(1,234 customers)."
)


def _health(later: dict | None, realised: dict | None = None) -> str:
    summary = {
        "rows_scored": 4000,
        "risk_counts": {},
        "model": {"confidence": "high"},
        **({"realised": realised} if realised else {}),
    }
    return sections.health(
        ReportData("acme", "r1", summary, pd.DataFrame({"customer_id": ["a"]}), later=later)
    )


def test_the_trust_section_says_how_the_run_did_once_told_who_left():
    html = _health(LATER)
    assert SENTENCE in html and "did not say which customers actually left" not in html
    assert "did not say which customers actually left" in _health(None)
    both = _health(LATER, {"n": 50, "roc_auc": 0.7, "brier": 0.2})  # the file said too: both are said
    assert SENTENCE in both and "This file said who actually left" in both


def test_the_sentence_is_escaped_and_survives_an_odd_date():
    html = _health({**LATER, "scored_at": "<b>not a date</b>"})
    assert "our earlier predictions ranked" in html and "<b>not a date" not in html


def test_a_report_that_measured_nothing_or_cannot_be_read_says_nothing(tmp_path):
    store = LocalLabelled(tmp_path, "acme")
    assert report_data.later_outcomes(store, "r1") is None  # none sent
    store.dir.mkdir(parents=True)
    (store.dir / "r1.json").write_text("{not json", encoding="utf-8")
    assert report_data.later_outcomes(store, "r1") is None
    for realised in (None, {"n": 3, "roc_auc": None, "brier": 0.2}):  # only leavers; a history upload
        (store.dir / "r1.json").write_text(json.dumps({**LATER, "realised": realised}), encoding="utf-8")
        assert report_data.later_outcomes(store, "r1") is None
    assert report_data.later_outcomes(store, "../../etc/passwd") is None  # never read outside the folder


def test_a_local_run_s_report_loads_the_outcomes_sent_for_it(home, tmp_path):
    from retainwise.science.pipeline import Pipeline

    out = tmp_path / "run"
    Pipeline(SAMPLE, out, tenant="acme", run_id="r1", explain_ahead=False).run_all()
    assert report_data.load_local(out).later is None
    LocalLabelled(home, "acme").save("r1", pd.DataFrame({"customer_id": ["a"], "churned": [1.0]}), LATER)
    data = report_data.load_local(out)
    assert data.later["realised"]["n"] == 1234 and SENTENCE in sections.health(data)
    LocalLabelled(home, "globex").save("r2", pd.DataFrame({"customer_id": ["a"], "churned": [1.0]}), LATER)
    assert (
        report_data.later_outcomes(LocalLabelled(home, "globex"), "r1") is None
    )  # another tenant's, another run


@pytest.mark.aws
def test_a_platform_run_s_report_loads_the_outcomes_sent_for_it_from_the_bucket(stack, tmp_path):
    from retainwise.platform.links import Grant
    from retainwise.platform.runs import COMPLETED
    from retainwise.platform.tenants import results_prefix, upload_key
    from retainwise.reports import granted
    from retainwise.science.pipeline import Pipeline

    run = stack.store.create(tenant="acme", upload_key=upload_key("acme", "customers.csv"))
    out = tmp_path / "out"
    Pipeline(SAMPLE, out, tenant="acme", run_id=run.id, explain_ahead=False).run_all()
    keys = stack.storage.put_outputs(out, results_prefix("acme", run.id))
    stack.store.claim(run.id, lease_s=30)
    summary = json.loads(Path(out / "summary.json").read_text())
    assert stack.store.complete(run.id, summary=summary, output_keys=keys).status == COMPLETED
    grant = Grant(tenant="acme", run_id=run.id, expires=int(time.time()) + 3600)
    assert granted.load_granted(stack.settings, grant, run.id).later is None
    BucketLabelled(stack.storage, "acme").save(
        run.id, pd.DataFrame({"customer_id": ["a"], "churned": [1.0]}), {**LATER, "run_id": run.id}
    )
    data = granted.load_granted(stack.settings, grant, run.id)
    assert data.later["realised"]["roc_auc"] == 0.812 and SENTENCE in sections.health(data)
