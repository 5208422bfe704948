"""CloudWatch embedded-metric-format records: built right (checked with aws-embedded-metrics' validator),
and carried by the runner's own log lines after real runs through `retainwise worker`."""

from __future__ import annotations

import io
import json
from datetime import datetime

import pytest
from aws_embedded_metrics import validator
from aws_embedded_metrics.storage_resolution import StorageResolution

from retainwise.platform.jobs import submit
from retainwise.platform.metrics import COUNT, MAX_VALUES, NAMESPACE, SECONDS, emf
from retainwise.platform.runs import COMPLETED, FAILED
from runner.log import EventLog
from runner.metrics import metric_fields

from .conftest import SAMPLE


def assert_emf(record: dict) -> dict[str, object]:
    """``record`` is a valid EMF record (the EMF specification, and the package's checks); its metrics."""
    meta = record["_aws"]
    validator.validate_timestamp(datetime.fromtimestamp(meta["Timestamp"] / 1000))
    assert isinstance(meta["Timestamp"], int)
    values = {}
    for directive in meta["CloudWatchMetrics"]:
        validator.validate_namespace(directive["Namespace"])
        for dimension_set in directive["Dimensions"]:
            validator.validate_dimension_set({name: record[name] for name in dimension_set})
        seen: dict = {}
        for metric in directive["Metrics"]:
            value = record[metric["Name"]]  # every metric's value at the record's top level
            for v in value if isinstance(value, list) else [value]:
                validator.validate_metric(metric["Name"], v, metric["Unit"], StorageResolution.STANDARD, seen)
            values[metric["Name"]] = value
    json.loads(json.dumps(record))  # a JSON line as it is
    return values


def test_a_record_carries_namespace_dimension_units_and_values_at_the_top_level():
    record = emf(
        {"RunsCompleted": (1, COUNT), "RunDuration": (2.5, SECONDS)}, service="runner", timestamp_ms=5
    )
    assert record == {
        "_aws": {
            "Timestamp": 5,
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [["Service"]],
                    "Metrics": [
                        {"Name": "RunsCompleted", "Unit": "Count"},
                        {"Name": "RunDuration", "Unit": "Seconds"},
                    ],
                }
            ],
        },
        "Service": "runner",
        "RunsCompleted": 1,
        "RunDuration": 2.5,
    }
    assert assert_emf(emf({"RenderTime": ([1.0, 2.0], SECONDS)}, service="reports")) == {
        "RenderTime": [1.0, 2.0]
    }


def test_missing_values_are_left_out_and_samples_capped():
    assert emf({"Rows": (None, COUNT), "Renders": ([], SECONDS)}, service="runner") == {}
    record = emf({"Rows": (None, COUNT), "Renders": (list(range(250)), SECONDS)}, service="reports")
    assert record["Renders"] == list(range(150, 250)) and len(record["Renders"]) == MAX_VALUES
    assert [m["Name"] for m in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]] == ["Renders"]


@pytest.mark.parametrize("value", ["3", True, [1, "x"]])
def test_a_value_cloudwatch_would_reject_is_refused(value):
    with pytest.raises(ValueError, match="not a number"):
        emf({"Rows": (value, COUNT)}, service="runner")


def test_the_runner_s_events_become_its_metrics_and_others_stay_plain_lines():
    assert metric_fields("poll_failed", {"error": "x"}) == {}
    done = metric_fields("run_completed", {"rows": 400, "seconds": 3.2, "tenant": "acme"})
    assert assert_emf(done) == {"RunsCompleted": 1, "RunDuration": 3.2, "RowsScored": 400}
    failed = metric_fields("run_failed", {"seconds": "oops"})  # a bad field drops its metric, not the line
    assert assert_emf(failed) == {"RunsFailed": 1}
    assert metric_fields("run_started", {"queue_wait_s": None}) == {}  # a retry: no queue wait

    stream = io.StringIO()
    log = EventLog(stream, component="runner")
    log("run_retry", run_id="r1", code="storage")
    log("worker_started")
    retry, started = (json.loads(line) for line in stream.getvalue().splitlines())
    assert (
        retry["event"] == "run_retry" and retry["run_id"] == "r1" and assert_emf(retry) == {"RunRetries": 1}
    )
    assert "_aws" not in started and log.counts["run_retry"] == 1


@pytest.mark.aws
@pytest.mark.slow
def test_a_real_runner_s_log_carries_its_run_metrics(stack, tmp_path):
    worker = stack.start_worker()
    good = submit(SAMPLE, "acme", stack.settings)
    junk = tmp_path / "customers.csv"
    junk.write_bytes(bytes(range(256)) * 40)
    bad = submit(junk, "acme", stack.settings)
    assert stack.wait_status(good).status == COMPLETED
    assert stack.wait_status(bad).status == FAILED
    stack.wait_for(
        lambda: {e.get("run_id") for e in stack.events(worker) if e["event"] == "run_failed"} >= {bad},
        what="run_failed logged",
    )

    events = stack.events(worker)
    metrics = {(e["event"], e.get("run_id")): assert_emf(e) for e in events if "_aws" in e}
    assert all(e["Service"] == "runner" for e in events if "_aws" in e)
    completed = metrics[("run_completed", good)]
    assert completed["RunsCompleted"] == 1 and completed["RowsScored"] == 400 and completed["RunDuration"] > 0
    failed = metrics[("run_failed", bad)]
    assert failed["RunsFailed"] == 1 and failed["RunDuration"] > 0
    for run_id in (good, bad):  # both waited in the queue (first attempts), a wait never negative
        assert metrics[("run_started", run_id)]["QueueWait"] >= 0
