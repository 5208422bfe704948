"""The portal's "Train on your history" without a browser: a history is queued once as a training run (under
``uploads/<tenant>/train/``, no column review), a file that does not say who left is refused, and the runs
table shows a training run as one (busy, its verdict, its failure; no report, escaped)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from retainwise.platform.links import Grant
from retainwise.platform.tenants import is_training_key
from retainwise.reports.portal_runs import training_words
from retainwise.reports.portal_upload import staged_key

from .conftest import ROOT

pytestmark = pytest.mark.aws


@pytest.fixture
def portal_page(stack):
    from retainwise.reports.portal import Portal

    return Portal(stack.settings, Grant(tenant="acme", run_id="", expires=int(time.time()) + 3600))


def staged_history(stack, tmp_path, *, churned: bool = True, name: str = "history.csv") -> str:
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    from tenant_simulator import simulate

    export, _, left = simulate(80, 3)
    if churned:
        export["Churned"] = np.where(left == 1, "Yes", "No")
    export.to_csv(tmp_path / name, index=False)
    key = staged_key("acme", name)
    stack.storage.put_file(tmp_path / name, key)
    return key


def train(portal_page, key: str, name: str = "history.csv") -> None:
    portal_page._on_upload(None, {"kind": "uploaded", "key": key, "name": name, "train": True}, [])


def test_a_history_is_queued_once_as_a_training_run_without_column_review(stack, portal_page, tmp_path):
    from retainwise.platform.queue import Queue

    key = staged_history(stack, tmp_path)
    train(portal_page, key)
    assert portal_page.upload.state == "done", portal_page.upload.message
    assert portal_page.upload.message == "history.csv is queued to train your model; follow it below."
    assert portal_page._staged is None and portal_page.start_button.disabled  # nothing to review or start
    [run] = stack.store.list_tenant("acme")
    assert run.status == "QUEUED" and run.upload_key.startswith("uploads/acme/train/")
    assert is_training_key(run.upload_key) and stack.storage.head(run.upload_key) is not None
    assert stack.storage.head(key) is None
    train(portal_page, key)  # the same message again: the staged file is gone, nothing more is queued
    assert portal_page.upload.state == "error" and len(stack.store.list_tenant("acme")) == 1
    bodies = [m.body for m in Queue(stack.settings).receive(10, wait_s=1)]
    assert sum(run.id in b for b in bodies) == 1
    table = portal_page.runs.render(stack.store.list_tenant("acme"))
    assert (
        'data-kind="training"' in table and "Training your model" in table and "rw-open-report" not in table
    )


def test_a_file_that_does_not_say_who_left_is_refused_and_removed(stack, portal_page, tmp_path):
    key = staged_history(stack, tmp_path, churned=False)
    train(portal_page, key)
    assert portal_page.upload.state == "error" and "no churned column" in portal_page.upload.message
    assert stack.store.list_tenant("acme") == [] and stack.storage.head(key) is None


def test_a_finished_or_failed_training_run_shows_its_verdict_or_reason_escaped(stack, portal_page):
    prefix_of = "results/acme/{}/"
    done = stack.store.create(tenant="acme", upload_key="uploads/acme/train/0123456789ab-h_x.csv").id
    summary = {
        "kind": "training",
        "trained_on": {"rows": 1200, "leavers": 171},
        "model": {"version": "t-<i>1", "status": "active", "verdict": "Promoted: it ranks <b>better</b>."},
    }
    stack.storage.put_json(prefix_of.format(done) + "summary.json", summary)
    stack.store.complete(
        done, summary=summary, output_keys={"summary.json": prefix_of.format(done) + "summary.json"}
    )
    failed = stack.store.create(tenant="acme", upload_key="uploads/acme/train/0123456789ab-small.csv").id
    stack.store.fail(failed, error="needs at least 500 <customers>", code="too_little")
    table = portal_page.runs.render(stack.store.list_tenant("acme"))
    assert (
        "Your model t-&lt;i&gt;1 now scores your uploads. Promoted: it ranks &lt;b&gt;better&lt;/b&gt;. "
        "Learned from 1,200 of your customers (171 who left)."
    ) in table
    assert "needs at least 500 &lt;customers&gt;" in table
    assert (
        "<b>" not in table and "<i>" not in table and "rw-open-report" not in table and "rw-tell" not in table
    )
    kept = {"model": {"version": "t-2", "status": "candidate", "verdict": "Not promoted"}}
    assert (
        training_words(kept)
        == "Your model t-2 was kept aside: your uploads are scored as before. Not promoted."
    )
