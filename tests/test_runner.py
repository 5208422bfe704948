"""The runner against moto's server process: runner processes started as `retainwise worker` is."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from retainwise.platform.jobs import submit
from retainwise.platform.messages import parse
from retainwise.platform.runs import COMPLETED, FAILED, PROCESSING
from retainwise.platform.tenants import results_prefix
from runner.process import MARKER

from ._stack import Stack
from .conftest import SAMPLE, TRAINING

pytestmark = [pytest.mark.aws, pytest.mark.slow]

OUTPUTS = {"results.csv", "summary.json", "report.html", "notebooks/pipeline.ipynb", "notebooks/report.ipynb"}


def outputs_of(names) -> set[str]:
    """The outputs every run must have, found among ``names`` (the pipeline may write more, e.g. mapping.json)."""
    names = set(names)
    assert OUTPUTS <= names, names
    assert not any(n.startswith(("/", "..")) or n.startswith("_") for n in names), (
        names
    )  # no marker, no escape
    return names & OUTPUTS


def big_upload(tmp_path: Path, rows: int = 10_000) -> Path:
    """``rows`` customers made from the training file (unique ids, no label): a run of several seconds."""
    train = pd.read_csv(TRAINING).drop(columns=["Churn"])
    frame = pd.concat([train] * (rows // len(train) + 1), ignore_index=True).head(rows)
    frame["customerID"] = [f"C{i:06d}" for i in range(rows)]
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    return path


def output_versions(stack: Stack, run) -> dict[str, int]:
    """How many versions of each output key exist (the bucket is versioned: a rewrite would show)."""
    resp = stack.storage.s3.list_object_versions(
        Bucket=stack.settings.bucket, Prefix=results_prefix(run.tenant, run.id)
    )
    counts: dict[str, int] = {}
    for v in resp.get("Versions", []):
        counts[v["Key"]] = counts.get(v["Key"], 0) + 1
    return counts


def cli(stack: Stack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "retainwise", *args],
        env=stack.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_submit_runs_to_completed_with_outputs_in_s3(stack):
    worker = stack.start_worker()
    done = cli(stack, "submit", str(SAMPLE), "--tenant", "acme")
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.strip()
    run = stack.wait_status(run_id)
    assert run.status == COMPLETED, run.error
    assert run.rows_scored == 400 and run.attempts == 1 and run.model_version
    assert outputs_of(run.output_keys) == OUTPUTS
    assert set(stack.storage.list(results_prefix("acme", run_id))) == {
        results_prefix("acme", run_id) + name for name in set(run.output_keys) | {MARKER}
    }
    summary = json.loads(stack.storage.get_text(run.output_keys["summary.json"]))
    assert summary["run_id"] == run_id and summary["tenant"] == "acme" and summary["rows_scored"] == 400

    status = cli(stack, "status", run_id, "--json")
    data = json.loads(status.stdout)
    assert data["status"] == COMPLETED
    assert (
        data["outputs"]["results.csv"]
        == f"s3://{stack.settings.bucket}/{results_prefix('acme', run_id)}results.csv"
    )
    text = cli(stack, "status", run_id)
    assert "COMPLETED" in text.stdout and "results.csv" in text.stdout

    # the upload's own S3 event reached the queue too: recognised as the same upload, not run twice
    stack.wait_for(lambda: stack.queue_depth() == 0, what="queue drained")
    assert [r.id for r in stack.store.list_tenant("acme")] == [run_id]
    assert all(n == 1 for n in output_versions(stack, run).values())
    assert worker.poll() is None


def test_bare_s3_upload_is_picked_up(stack):
    stack.start_worker()
    key = "uploads/shop-7/export.csv"
    stack.storage.put_file(SAMPLE, key)
    run = stack.wait_for(
        lambda: next(iter(stack.store.list_tenant("shop-7")), None), what="a run for the upload"
    )
    run = stack.wait_status(run.id)
    assert run.status == COMPLETED and run.upload_key == key and run.rows_scored == 400
    assert outputs_of(run.output_keys) == OUTPUTS


def test_killed_worker_loses_no_upload(stack_short, tmp_path):
    stack = stack_short
    first = stack.start_worker()
    run_id = submit(big_upload(tmp_path), "acme", stack.settings)
    stack.wait_status(run_id, statuses=(PROCESSING,), timeout=60)
    stack.wait_for(lambda: any(e["event"] == "run_started" for e in stack.events(first)), what="run started")
    os.kill(first.pid, signal.SIGKILL)  # mid-notebook: no cleanup, no message deleted, no status written
    first.wait(10)
    assert stack.store.get(run_id).status == PROCESSING

    stack.start_worker()
    run = stack.wait_status(run_id, timeout=180)
    assert run.status == COMPLETED, run.error
    assert run.attempts == 2 and run.rows_scored == 10_000
    versions = output_versions(stack, run)
    assert set(versions) == {results_prefix("acme", run_id) + n for n in set(run.output_keys) | {MARKER}}
    assert all(n == 1 for n in versions.values()), versions  # outputs written once
    stack.wait_for(lambda: stack.queue_depth() == 0, what="queue drained")
    assert stack.dead_letters() == []


def test_poison_file_fails_once_with_a_readable_reason(stack, tmp_path):
    stack.start_worker()
    junk = tmp_path / "customers.csv"
    junk.write_bytes(bytes(range(256)) * 40)
    run_id = submit(junk, "acme", stack.settings)
    run = stack.wait_status(run_id)
    assert run.status == FAILED and run.attempts == 1
    assert "not a text" in run.error.lower() or "binary" in run.error.lower(), run.error
    assert "Traceback" not in run.error
    assert stack.storage.head(run.upload_key) is not None  # the upload stays where it was
    assert "notebooks/pipeline.ipynb" in run.output_keys  # the executed notebook is the record
    stack.wait_for(lambda: stack.queue_depth() == 0, what="queue drained")
    assert stack.dead_letters() == []


def test_transient_fault_is_retried_then_dead_lettered_and_redriven(stack):
    # Storage unreachable for this runner only (AWS's per-service endpoint variable wins over the settings).
    from retainwise.platform.embedded import free_port

    env = stack.env(AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{free_port()}")
    worker = stack.start_worker(env=env)
    run_id = submit(SAMPLE, "acme", stack.settings)
    run = stack.wait_status(run_id, statuses=(FAILED,), timeout=180)
    assert run.error.startswith("Gave up after 3 attempts") and "Storage" in run.error
    dead = stack.wait_for(stack.dead_letters, timeout=60, what="a dead letter")
    assert any(w.key == run.upload_key for m in dead for w in parse(m["Body"]))
    retries = [e for e in stack.events(worker) if e["event"] == "run_retry"]
    assert len(retries) >= 2 and all(e["run_id"] == run_id for e in retries)
    assert stack.storage.head(run.upload_key) is not None
    assert worker.poll() is None

    # Issue 13.3: once storage is back, `retainwise redrive` brings the message back and the run completes.
    from types import SimpleNamespace

    from retainwise.cli.redrive import cli_redrive

    stack.stop_workers()
    stack.start_worker()
    assert cli_redrive(SimpleNamespace(limit=None, json=False)) == 0
    run = stack.wait_status(run_id, statuses=(COMPLETED,), timeout=120)
    assert run.attempts == 1 and outputs_of(run.output_keys) == OUTPUTS
    stack.wait_for(lambda: stack.queue_depth() == 0, what="queue drained")
    assert stack.dead_letters() == [] and stack.queue_depth(stack.dlq_url) == 0


def test_malformed_messages_are_rejected_and_the_runner_keeps_running(stack):
    worker = stack.start_worker()
    bodies = [
        "this is not json",
        json.dumps({"hello": "world"}),
        json.dumps(
            {
                "prediction_id": "p1",
                "upload_id": "u1",
                "user_id": "acme",
                "queued_at": "2026-11-26T10:00:00Z",
                "s3_file_path": f"s3://{stack.settings.bucket}/uploads/other/x.csv",
            }
        ),
        json.dumps(
            {
                "prediction_id": "p2",
                "upload_id": "u2",
                "user_id": "acme",
                "queued_at": "2026-11-26T10:00:00Z",
                "s3_file_path": f"s3://{stack.settings.bucket}/uploads/acme/../../results/acme/x.csv",
            }
        ),
        json.dumps(
            {
                "Records": [
                    {
                        "eventSource": "aws:s3",
                        "eventName": "ObjectCreated:Put",
                        "s3": {
                            "bucket": {"name": stack.settings.bucket},
                            "object": {"key": "results/acme/r1/results.csv"},
                        },
                    }
                ]
            }
        ),
    ]
    for body in bodies:
        stack.sqs.send_message(QueueUrl=stack.settings.queue_url, MessageBody=body)
    stack.wait_for(
        lambda: sum(e["event"] == "message_rejected" for e in stack.events(worker)) >= len(bodies),
        what="every message rejected",
    )
    rejected = [e for e in stack.events(worker) if e["event"] == "message_rejected"]
    assert {e["code"] for e in rejected} >= {"not_json", "invalid", "tenant_mismatch", "bad_key"}
    assert stack.store.counts() == {}  # no run for any of them
    stack.wait_for(lambda: stack.queue_depth() == 0, what="rejected messages deleted")
    # still alive and working
    run = stack.wait_status(submit(SAMPLE, "acme", stack.settings))
    assert run.status == COMPLETED and worker.poll() is None


def test_duplicated_message_is_processed_once(stack):
    run_id = submit(SAMPLE, "acme", stack.settings)  # job message + the upload's S3 event
    run = stack.store.get(run_id)
    job = {
        "prediction_id": run_id,
        "upload_id": "dup",
        "user_id": "acme",
        "s3_file_path": f"s3://{stack.settings.bucket}/{run.upload_key}",
        "queued_at": "2026-11-26T10:00:00Z",
    }
    for _ in range(2):
        stack.sqs.send_message(QueueUrl=stack.settings.queue_url, MessageBody=json.dumps(job))
    worker = stack.start_worker()
    run = stack.wait_status(run_id)
    assert run.status == COMPLETED and run.attempts == 1
    stack.wait_for(lambda: stack.queue_depth() == 0, what="duplicates deleted")
    events = stack.events(worker)
    assert sum(e["event"] == "run_started" for e in events) == 1
    assert sum(e["event"] == "duplicate_ignored" for e in events) >= 3
    assert all(n == 1 for n in output_versions(stack, run).values())


def test_sigterm_mid_run_finishes_the_run_and_prints_a_summary(stack, tmp_path):
    worker = stack.start_worker()
    run_id = submit(big_upload(tmp_path), "acme", stack.settings)
    stack.wait_for(lambda: any(e["event"] == "run_started" for e in stack.events(worker)), what="run started")
    os.kill(worker.pid, signal.SIGTERM)
    out, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0
    run = stack.store.get(run_id)
    assert run.status == COMPLETED and run.attempts == 1 and run.rows_scored == 10_000
    summary = json.loads(out.strip().splitlines()[-1].removeprefix("retainwise worker: "))
    assert summary["processed"] == 1 and summary["failed"] == 0 and summary["uptime_s"] > 0
    events = [e["event"] for e in stack.events(worker)]
    assert events.index("shutdown_requested") < events.index("run_completed") < events.index("worker_stopped")


@pytest.fixture
def stack_short(make_stack):
    """A stack whose visibility timeout (and lease) is short, so a dead runner's upload returns quickly."""
    return make_stack(run_timeout_s=15, visibility_timeout_s=20)
