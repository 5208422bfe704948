"""runner.process against moto's server process, with the notebooks replaced by a stand-in.

The stand-in reaches the paths a real file cannot (a bug in our code, a run store that fails right
after the outputs are put, a fault that never passes) in a second, with no kernel.
"""

from __future__ import annotations

import io
import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from retainwise.errors import ExecutionError, StorageError
from retainwise.platform.jobs import submit
from retainwise.platform.queue import redrive
from retainwise.platform.runs import ABANDONED, COMPLETED, FAILED, GAVE_UP, PROCESSING, RunStore
from retainwise.platform.tenants import results_prefix
from runner.context import Context, kernel_environment
from runner.log import EventLog
from runner.loop import settle
from runner.outcome import DeadLetter, Delete, Retry
from runner.process import MARKER, process

from .conftest import SAMPLE

pytestmark = [pytest.mark.aws]


class Pipeline:
    """Stands in for the notebooks: writes the outputs a run writes, or raises ``fail`` (once or always)."""

    def __init__(self, fail: BaseException | None = None, times: int = 10**6) -> None:
        self.fail, self.times, self.calls = fail, times, 0

    def __call__(self, source: Path, out: Path, **params):
        self.calls += 1
        self.params = params
        if self.fail is not None and self.calls <= self.times:
            raise self.fail
        (out / "notebooks").mkdir(parents=True, exist_ok=True)
        (out / "results.csv").write_text("customer_id,churn_probability\nC1,0.5\n")
        (out / "notebooks" / "pipeline.ipynb").write_text("{}")
        summary = {
            "rows_in": 1,
            "rows_scored": 1,
            "quality": {"score": 90.0},
            "model": {"version": "stand-in"},
        }
        (out / "summary.json").write_text(json.dumps(summary))
        record = {"columns": ["Ref"], "mapping": {"Ref": "customer_id"}, "confirmed": {"Ref": "customer_id"}}
        (out / "mapping.json").write_text(json.dumps(record))
        return SimpleNamespace(summary=summary)


@pytest.fixture
def ctx(stack):
    log = EventLog(stream=io.StringIO(), component="test")
    c = Context.create(stack.settings.replace(retry_backoff_s=1), log)
    c.pipeline = Pipeline()
    yield c
    import shutil

    shutil.rmtree(c.work_root, ignore_errors=True)


def events(ctx) -> list[dict]:
    return [json.loads(line) for line in ctx.log.stream.getvalue().splitlines()]


def receive_job(ctx, run_id: str):
    """The job message for ``run_id`` (the upload's S3 event copy is received and put back)."""
    for _ in range(10):
        for msg in ctx.queue.receive(10, wait_s=1):
            body = json.loads(msg.body)
            if body.get("prediction_id") == run_id:
                return msg
            ctx.queue.extend(msg, 0)
    raise AssertionError("job message not received")


def versions(stack, run) -> dict[str, int]:
    resp = stack.storage.s3.list_object_versions(
        Bucket=stack.settings.bucket, Prefix=results_prefix(run.tenant, run.id)
    )
    counts: dict[str, int] = {}
    for v in resp.get("Versions", []):
        counts[v["Key"]] = counts.get(v["Key"], 0) + 1
    return counts


def test_a_bug_fails_the_run_at_once_with_the_error_logged(stack, ctx):
    ctx.pipeline = Pipeline(fail=KeyError("summary"))
    run_id = submit(SAMPLE, "acme", stack.settings)
    outcome = process(receive_job(ctx, run_id), ctx)
    run = stack.store.get(run_id)
    assert isinstance(outcome, Delete)  # not retried as if it might pass
    assert run.status == FAILED and run.attempts == 1 and run.error_code == "internal"
    assert "KeyError" in run.error
    crash = [e for e in events(ctx) if e["event"] == "internal_error"]
    assert crash and "Traceback" in crash[0]["traceback"]


class CompleteFailsOnce(RunStore):
    """The run store, unavailable for the first ``complete`` (right after the outputs are put)."""

    failed = False

    def complete(self, run_id, **kw):
        if not self.failed:
            self.failed = True
            raise StorageError(
                "The run store failed while completing a run: OperationalError.", code="database"
            )
        return super().complete(run_id, **kw)


def test_outputs_are_written_once_when_the_store_fails_after_they_are_put(stack, ctx):
    ctx.store = CompleteFailsOnce(ctx.store.engine)
    run_id = submit(SAMPLE, "acme", stack.settings)
    msg = receive_job(ctx, run_id)
    first = process(msg, ctx)
    assert isinstance(first, Retry)  # retried, the outputs not re-uploaded as a "record"
    assert stack.store.get(run_id).status == PROCESSING
    second = process(msg, ctx)  # the redelivered message
    run = stack.store.get(run_id)
    assert isinstance(second, Delete) and run.status == COMPLETED and run.rows_scored == 1
    assert ctx.pipeline.calls == 1  # the marker said the outputs were complete: not run again
    counts = versions(stack, run)
    assert results_prefix("acme", run_id) + MARKER in counts
    assert counts and all(n == 1 for n in counts.values()), counts
    assert any(e["event"] == "outputs_found" for e in events(ctx))


def test_a_copy_of_a_run_in_progress_is_deleted_never_dead_lettered(stack, ctx):
    run_id = submit(SAMPLE, "acme", stack.settings)
    stack.store.claim(run_id, lease_s=60, message_id="another-runners-message")
    outcome = process(receive_job(ctx, run_id), ctx)
    assert isinstance(outcome, Delete) and ctx.pipeline.calls == 0
    assert [e for e in events(ctx) if e["event"] == "copy_dropped"]


def test_gave_up_counts_the_runs_attempts_and_a_redrive_runs_it_again(stack, ctx):
    ctx.pipeline = Pipeline(fail=ExecutionError("The kernel died.", code="kernel_died"), times=3)
    run_id = submit(SAMPLE, "acme", stack.settings)
    msg = receive_job(ctx, run_id)
    outcomes = []
    for _ in range(3):  # one message, received once: the run's attempts count
        outcomes.append(process(msg, ctx))
        time.sleep(getattr(outcomes[-1], "delay_s", 0))  # the run rests until its message returns
    assert [type(o) for o in outcomes] == [Retry, Retry, DeadLetter]
    assert outcomes[1].delay_s == 4 * outcomes[0].delay_s  # the backoff grows
    run = stack.store.get(run_id)
    assert run.status == FAILED and run.error_code == GAVE_UP
    assert run.error.startswith("Gave up after 3 attempts: The kernel died.")
    settle(ctx, msg, outcomes[-1])
    assert len(stack.dead_letters()) == 1

    assert redrive(ctx.queue) == 1  # `retainwise redrive`
    again = receive_job(ctx, run_id)
    assert isinstance(process(again, ctx), Delete)
    run = stack.store.get(run_id)
    assert run.status == COMPLETED and run.attempts == 1 and ctx.pipeline.calls == 4


def test_a_run_whose_runner_died_on_its_last_attempt_is_failed(stack, ctx):
    run = stack.store.create(tenant="acme", upload_key="uploads/acme/x.csv")
    for _ in range(3):
        assert stack.store.claim(run.id, lease_s=0) is not None  # each runner "killed": the lease lapses
    assert stack.store.claim(run.id, lease_s=60) is None  # no fourth attempt
    assert stack.store.fail_abandoned() == [run.id]
    failed = stack.store.get(run.id)
    assert failed.status == FAILED and failed.error_code == ABANDONED
    assert "stopped while processing this file 3 times" in failed.error


def test_kernels_get_no_secrets():
    env = kernel_environment(
        {
            "PATH": "/bin",
            "RETAINWISE_SECRET": "s",
            "AWS_SECRET_ACCESS_KEY": "k",
            "AWS_ACCESS_KEY_ID": "i",
            "AWS_SESSION_TOKEN": "t",
            "RETAINWISE_DATABASE_URL": "pg",
            "RETAINWISE_HOME": "/h",
        }
    )
    assert env == {"PATH": "/bin", "RETAINWISE_HOME": "/h"}


def test_the_heartbeat_keeps_the_lease_while_storage_is_down(stack, ctx):
    from runner.heartbeat import Heartbeat

    ctx.settings = ctx.settings.replace(run_timeout_s=1, visibility_timeout_s=3)
    run_id = submit(SAMPLE, "acme", stack.settings)
    msg = receive_job(ctx, run_id)
    stack.store.claim(run_id, lease_s=3, message_id=msg.message_id)
    ctx.queue.extend = lambda *a: (_ for _ in ()).throw(StorageError("down"))  # SQS unreachable
    done = threading.Event()
    with Heartbeat(ctx, msg, run_id):
        done.wait(4)
    assert stack.store.claim(run_id, lease_s=3) is None  # the lease was still extended


def test_conditional_writes_never_make_a_second_version(stack, tmp_path):
    path = tmp_path / "results.csv"
    path.write_text("a\n1\n")
    key = "results/acme/r1/results.csv"
    assert stack.storage.put_file(path, key, create_only=True) is not None
    path.write_text("a\n2\n")  # a retry's (different) output for the same key
    assert stack.storage.put_file(path, key, create_only=True) is None
    resp = stack.storage.s3.list_object_versions(Bucket=stack.settings.bucket, Prefix=key)
    assert len(resp["Versions"]) == 1 and stack.storage.get_text(key) == "a\n1\n"


def test_the_mapping_a_run_used_is_saved_in_the_store_for_every_runner(stack, ctx):
    from retainwise.platform import mapping_store

    first = submit(SAMPLE, "acme", stack.settings)
    assert isinstance(process(receive_job(ctx, first), ctx), Delete)
    assert ctx.pipeline.params.get("saved_mapping") is None  # nothing saved yet
    shared = mapping_store.load(stack.store, "acme")  # another runner's view: the same database
    assert shared["mapping"] == {"Ref": "customer_id"} and shared["confirmed"] == {"Ref": "customer_id"}
    second = submit(SAMPLE, "acme", stack.settings)
    assert isinstance(process(receive_job(ctx, second), ctx), Delete)
    assert ctx.pipeline.params["saved_mapping"]["mapping"] == {"Ref": "customer_id"}
    assert mapping_store.load(stack.store, "other") is None


def test_a_copy_cannot_spend_the_attempts_of_a_resting_run(stack, ctx):
    ctx.pipeline = Pipeline(
        fail=StorageError("Storage unreachable while downloading (EndpointConnectionError).")
    )
    ctx.settings = ctx.settings.replace(retry_backoff_s=10)
    run_id = submit(SAMPLE, "acme", stack.settings)
    job = receive_job(ctx, run_id)
    assert isinstance(process(job, ctx), Retry)
    copy = ctx.queue.receive(1, wait_s=2)[0]  # the upload's S3 event, arriving during the backoff
    assert isinstance(process(copy, ctx), Delete)
    assert stack.store.get(run_id).attempts == 1 and ctx.pipeline.calls == 1


def test_worker_options_left_unset_take_the_settings(monkeypatch, stack):
    """`retainwise worker` with no options runs with RETAINWISE_* (the container's settings), not parser defaults."""
    import runner.loop as loop
    from retainwise.cli.parser import build_parser

    args = build_parser().parse_args(["worker"])
    assert (args.concurrency, args.poll_wait, args.retry_backoff) == (None, None, None)
    seen = {}

    def create(settings, log):
        seen["settings"] = settings
        raise RuntimeError("enough")

    monkeypatch.setattr(loop.Context, "create", staticmethod(create))
    with pytest.raises(RuntimeError, match="enough"):
        loop.run_worker(
            stack.settings.replace(retry_backoff_s=30, poll_wait_s=20),
            retry_backoff_s=args.retry_backoff,
            poll_wait_s=2,
            concurrency=args.concurrency,
        )
    assert (seen["settings"].retry_backoff_s, seen["settings"].poll_wait_s, seen["settings"].concurrency) == (
        30,
        2,
        1,
    )


def test_a_tenant_s_active_model_in_the_bucket_is_fetched_for_its_runs_only(stack, ctx, tmp_path):
    from retainwise.platform.registry import BucketRegistry

    trained = tmp_path / "trained"
    trained.mkdir()
    (trained / "model.ubj").write_bytes(b"booster bytes")
    (trained / "card.json").write_text(
        json.dumps({"version": "t-abc", "kind": "tenant", "cv": {"roc_auc": 0.8}})
    )
    registry = BucketRegistry(stack.storage, "acme")
    registry.register(trained, activate=False)  # a candidate only: not used
    assert isinstance(process(receive_job(ctx, submit(SAMPLE, "acme", stack.settings)), ctx), Delete)
    assert ctx.pipeline.params["tenant_model_dir"] is None
    registry.activate("t-abc")
    fetched = {}

    def pipeline(source, out, **params):  # the fetched model is there while the run runs
        fetched.update({n: (params["tenant_model_dir"] / n).read_bytes() for n in ("model.ubj", "card.json")})
        return Pipeline()(source, out, **params)

    ctx.pipeline = pipeline
    assert isinstance(process(receive_job(ctx, submit(SAMPLE, "acme", stack.settings)), ctx), Delete)
    assert fetched["model.ubj"] == b"booster bytes" and json.loads(fetched["card.json"])["version"] == "t-abc"
    ctx.pipeline = Pipeline()
    assert isinstance(process(receive_job(ctx, submit(SAMPLE, "globex", stack.settings)), ctx), Delete)
    assert ctx.pipeline.params["tenant_model_dir"] is None


def test_a_history_upload_on_the_platform_becomes_the_tenant_s_labelled_data(stack, ctx, tmp_path):
    from retainwise.platform.labelled import BucketLabelled

    def pipeline(source, out, **params):  # a run whose file said who left: its snapshot has churned
        result = Pipeline()(source, out, **params)
        pd.DataFrame(
            {"customer_id": ["C1", "C2"], "tenure_months": [3.0, 40.0], "churned": [1.0, 0.0]}
        ).to_parquet(out / "snapshot.parquet")
        return result

    ctx.pipeline = pipeline
    run_id = submit(SAMPLE, "acme", stack.settings)
    assert isinstance(process(receive_job(ctx, run_id), ctx), Delete)
    store = BucketLabelled(stack.storage, "acme")
    assert store.run_ids() == [run_id]
    assert list(store.read(run_id)["churned"]) == [1.0, 0.0]
    ctx.pipeline = Pipeline()  # an ordinary upload: nothing labelled
    other = submit(SAMPLE, "globex", stack.settings)
    assert isinstance(process(receive_job(ctx, other), ctx), Delete)
    assert BucketLabelled(stack.storage, "globex").run_ids() == []
