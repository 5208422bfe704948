"""Training runs queued through the runner (``retainwise submit FILE --tenant T --train``), against moto's server
process with the real notebooks: a training upload trains, gates and registers the tenant's model (the
executed notebook kept under results/), too little history FAILS with how much more it needs, and the
tenant's next ordinary upload is scored by its model while another tenant's is not."""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from retainwise.cli.parser import build_parser
from retainwise.errors import MessageError
from retainwise.platform.jobs import submit
from retainwise.platform.labelled import BucketLabelled
from retainwise.platform.messages import parse
from retainwise.platform.registry import BucketRegistry
from retainwise.platform.runs import COMPLETED, FAILED
from retainwise.platform.tenants import check_key, is_training_key, results_prefix, upload_key
from runner.context import Context
from runner.log import EventLog
from runner.outcome import Delete
from runner.process import process

from .test_messages import s3_event
from .test_worker_process import receive_job

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))

from tenant_simulator import simulate  # noqa: E402


# -- keys, messages, the command line: no stack ----------------------------------------------------
def test_a_training_key_is_an_upload_of_its_tenant_told_apart_by_its_folder():
    key = upload_key("acme", "../history.csv", train=True)
    assert key.startswith("uploads/acme/train/") and is_training_key(key)
    assert check_key(key) == ("acme", key)
    assert not is_training_key(upload_key("acme", "history.csv"))
    assert not is_training_key("uploads/acme/portal/x.csv") and not is_training_key("uploads/train/x.csv")
    (work,) = parse(s3_event(key), bucket="bucket")  # the upload's S3 event: the same run, same tenant
    assert (work.tenant, work.key) == ("acme", key)
    for bad in (
        "uploads/acme/train/../x.csv",
        "uploads/acme/train/",
        "uploads/acme/other/x.csv",
        "uploads/acme/train/a/x.csv",
    ):
        with pytest.raises(MessageError):
            check_key(bad)
    with pytest.raises(MessageError):
        check_key(key, "globex")


def test_submit_takes_train():
    args = build_parser().parse_args(["submit", "h.csv", "--tenant", "acme", "--train"])
    assert args.train is True
    assert build_parser().parse_args(["submit", "h.csv", "--tenant", "acme"]).train is False


# -- the runner, end to end --------------------------------------------------------------------------
@pytest.fixture
def ctx(make_stack):
    stack = make_stack(run_timeout_s=90, visibility_timeout_s=120)  # a cap per cell: training takes seconds
    c = Context.create(
        stack.settings.replace(retry_backoff_s=1), EventLog(stream=io.StringIO(), component="test")
    )
    c.stack = stack
    yield c
    shutil.rmtree(c.work_root, ignore_errors=True)


def _history(folder: Path, n: int, seed: int, churned: bool = True) -> Path:
    export, _, left = simulate(n, seed)
    if churned:
        export["Churned"] = np.where(left == 1, "Yes", "No")
    path = folder / f"history-{n}-{seed}.csv"
    export.to_csv(path, index=False)
    return path


@pytest.mark.aws
@pytest.mark.slow
@pytest.mark.notebook
def test_training_upload_registers_the_model_and_the_next_upload_is_scored_by_it(ctx, tmp_path):
    stack = ctx.stack
    run_id = submit(_history(tmp_path, 1200, 1), "acme", stack.settings, train=True)
    assert isinstance(process(receive_job(ctx, run_id), ctx), Delete)
    run = stack.store.get(run_id)
    assert run.status == COMPLETED, run.error
    summary = json.loads(stack.storage.get_text(results_prefix("acme", run_id) + "summary.json"))
    model = summary["model"]
    assert summary["kind"] == "training" and summary["labelled_rows"] == 1200 and model["status"] == "active"
    assert model["promoted"] and model["roc_auc"] > 0.7 and model["verdict"].startswith("Promoted")
    active = [e for e in BucketRegistry(stack.storage, "acme").versions() if e["status"] == "active"]
    assert [e["version"] for e in active] == [model["version"]] == [run.model_version]
    keys = stack.storage.list(results_prefix("acme", run_id))
    for name in ("notebooks/tenant_training.ipynb", "card.json", "model.ubj", "_complete.json"):
        assert results_prefix("acme", run_id) + name in keys
    executed = stack.storage.get_text(results_prefix("acme", run_id) + "notebooks/tenant_training.ipynb")
    assert "## The gate" in executed and "Promoted" in executed
    assert BucketLabelled(stack.storage, "acme").run_ids() == [run_id]  # a later training sees these rows
    assert len(BucketLabelled(stack.storage, "acme").read(run_id)) == 1200

    fresh = _history(tmp_path, 300, 9, churned=False)  # an ordinary upload: scored by acme's own model
    scored = submit(fresh, "acme", stack.settings)
    assert isinstance(process(receive_job(ctx, scored), ctx), Delete)
    assert stack.store.get(scored).status == COMPLETED
    scored_model = json.loads(stack.storage.get_text(results_prefix("acme", scored) + "summary.json"))[
        "model"
    ]
    assert scored_model["kind"] == "tenant" and scored_model["version"] == model["version"]
    other = submit(fresh, "globex", stack.settings)  # another tenant's: not
    assert isinstance(process(receive_job(ctx, other), ctx), Delete)
    assert (
        json.loads(stack.storage.get_text(results_prefix("globex", other) + "summary.json"))["model"]["kind"]
        != "tenant"
    )


@pytest.mark.aws
@pytest.mark.slow
@pytest.mark.notebook
def test_too_little_history_fails_with_how_much_more_and_keeps_the_rows(ctx, tmp_path):
    stack = ctx.stack
    run_id = submit(_history(tmp_path, 200, 2), "acme", stack.settings, train=True)
    assert isinstance(process(receive_job(ctx, run_id), ctx), Delete)  # permanent: not retried
    run = stack.store.get(run_id)
    assert run.status == FAILED and run.attempts == 1  # InputError: permanent
    assert "needs at least 500" in run.error
    assert stack.storage.head(run.upload_key) is not None  # the upload is left where it is
    assert results_prefix("acme", run_id) + "notebooks/tenant_training.ipynb" in run.output_keys.values()
    assert BucketRegistry(stack.storage, "acme").versions() == []
    assert len(BucketLabelled(stack.storage, "acme").read(run_id)) == 200  # they count towards the next one
