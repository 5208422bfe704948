"""Runner processes through faults (issue 13): outages of S3 and of the run store, a runner killed on the
last attempt, a stop that cannot wait for the run in hand. Durations are scaled down through the
settings (lease, backoff, stop grace); the behaviour is the production one: an outage of 3x the
first backoff (90 s with the default 30 s) is ridden out."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from urllib.parse import urlparse

import pytest

from retainwise.platform.jobs import submit
from retainwise.platform.runs import ABANDONED, COMPLETED, FAILED, PROCESSING
from retainwise.platform.tenants import results_prefix

from ._stack import Outage
from .test_runner import big_upload, output_versions

pytestmark = [pytest.mark.aws, pytest.mark.slow]

BACKOFF = 3  # seconds; the outages below last 3 x BACKOFF


@pytest.fixture
def short(make_stack):
    return make_stack(run_timeout_s=15, visibility_timeout_s=20)


def finished_once(stack, run_id):
    run = stack.wait_status(run_id, timeout=240)
    assert run.status == COMPLETED, run.error
    versions = output_versions(stack, run)
    assert results_prefix(run.tenant, run.id) + "results.csv" in versions
    assert all(n == 1 for n in versions.values()), versions  # outputs written once
    return run


def test_an_s3_outage_of_three_backoffs_is_ridden_out(short, tmp_path):
    stack = short
    moto = urlparse(stack.settings.aws_endpoint_url)
    outage = Outage((moto.hostname, moto.port))
    worker = stack.start_worker(
        "--retry-backoff", str(BACKOFF), "--concurrency", "2", env=stack.env(AWS_ENDPOINT_URL_S3=outage.url)
    )
    try:
        in_flight = submit(big_upload(tmp_path), "acme", stack.settings)
        stack.wait_for(
            lambda: any(e["event"] == "run_started" for e in stack.events(worker)), what="run started"
        )
        outage.cut()  # mid-run: its outputs cannot be put
        cut_at = time.monotonic()
        (tmp_path / "small").mkdir()
        queued = submit(
            big_upload(tmp_path / "small", rows=500), "shop", stack.settings
        )  # cannot be downloaded
        stack.wait_for(
            lambda: sum(e["event"] == "run_retry" for e in stack.events(worker)) >= 2,
            timeout=60,
            what="both runs retrying",
        )
        time.sleep(max(0.0, 3 * BACKOFF - (time.monotonic() - cut_at)))
        outage.restore()
        for run_id in (in_flight, queued):
            finished_once(stack, run_id)
    finally:
        outage.close()
    stack.wait_for(lambda: stack.queue_depth() == 0, what="queue drained")
    assert stack.dead_letters() == [], stack.tail_logs(60)
    assert not [e for e in stack.events(worker) if e["event"] == "run_failed"]


def test_a_run_store_outage_is_ridden_out(short, tmp_path):
    """The SQLite store locked (as a failover or a held lock would) past its 30 s busy timeout."""
    stack = short
    worker = stack.start_worker("--retry-backoff", str(BACKOFF))
    run_id = submit(big_upload(tmp_path), "acme", stack.settings)
    stack.wait_for(lambda: any(e["event"] == "run_started" for e in stack.events(worker)), what="run started")
    db = sqlite3.connect(
        stack.settings.effective_database_url.removeprefix("sqlite:///"),
        isolation_level=None,
        check_same_thread=False,
    )
    db.execute("BEGIN EXCLUSIVE")  # nothing reads or writes the store until it is released
    released = threading.Timer(40, db.rollback)
    released.start()
    try:
        # met wherever it lands: claiming, reading the mapping, the heartbeat, completing, the sweep
        stack.wait_for(
            lambda: any(
                "run store failed" in str(e.get("error") or e.get("reason")) for e in stack.events(worker)
            ),
            timeout=90,
            what="the runner meeting the outage",
        )
    finally:
        released.join()
        db.close()
    finished_once(stack, run_id)
    stack.wait_for(lambda: stack.queue_depth() == 0, what="queue drained")
    assert stack.dead_letters() == []


def test_a_run_killed_on_its_last_attempt_is_failed(short, tmp_path):
    stack = short
    run_id = submit(big_upload(tmp_path), "acme", stack.settings)
    for _ in range(2):  # two runners already died on it (their leases lapsed at once)
        stack.store.claim(run_id, lease_s=0)
    first = stack.start_worker()
    stack.wait_for(
        lambda: any(e["event"] == "run_started" for e in stack.events(first)), what="third attempt"
    )
    os.kill(first.pid, signal.SIGKILL)  # as an out-of-memory kill would
    first.wait(10)
    assert stack.store.get(run_id).status == PROCESSING
    stack.start_worker()
    run = stack.wait_status(run_id, statuses=(FAILED,), timeout=120)
    assert run.error_code == ABANDONED and "stopped while processing this file 3 times" in run.error
    assert run.attempts == 3


def test_a_stop_that_cannot_wait_hands_the_run_back(short, tmp_path):
    stack = short
    first = stack.start_worker(env=stack.env(RETAINWISE_STOP_GRACE="1"))
    run_id = submit(big_upload(tmp_path), "acme", stack.settings)
    stack.wait_for(lambda: any(e["event"] == "run_started" for e in stack.events(first)), what="run started")
    stopped_at = time.monotonic()
    os.kill(first.pid, signal.SIGTERM)
    first.wait(60)
    assert first.returncode == 0 and time.monotonic() - stopped_at < 40
    assert any(e["event"] == "run_handed_back" for e in stack.events(first))
    run = stack.store.get(run_id)
    assert run.status == PROCESSING and run.lease_until is not None
    second = stack.start_worker()
    run = finished_once(stack, run_id)
    assert run.attempts == 2
    # picked up at once, not after the 20 s visibility timeout
    started = [e for e in stack.events(second) if e["event"] == "run_started"]
    assert started
