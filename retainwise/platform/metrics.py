"""CloudWatch metrics as embedded-metric-format (EMF) log records: no agent, no API call.

A record is a JSON object carrying ``_aws`` (Timestamp, CloudWatchMetrics: Namespace, Dimensions,
Metrics) with the metric values at its top level; CloudWatch Logs turns every such line of a log
stream into metric data points. The runner's and the report server's logs already reach CloudWatch
(the ECS tasks' awslogs driver), so writing a record to the log stream *is* publishing the metric.

Decision: the records are built here by hand rather than with the ``aws-embedded-metrics`` package.
The package picks its sink by probing the environment (on EC2 and ECS an HTTP call to the metadata
endpoint), flushes asynchronously and writes to stdout itself; a record the caller writes to its own
log stream, between its other lines and under its own lock, is simpler, needs no network call in any
mode and is tested offline. The tests check the records against the package's own validator.

Every metric has one dimension, ``Service`` (``runner``, ``reports``): a tenant as a dimension would
make a metric per tenant (cost and cardinality); the tenant travels as a plain property of the record.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

#: The CloudWatch namespace of every RetainWise metric (infra/monitoring.tf alarms on it).
NAMESPACE = "RetainWise"
COUNT = "Count"
SECONDS = "Seconds"
MILLISECONDS = "Milliseconds"
#: EMF accepts at most 100 metrics per record and 100 values per metric.
MAX_METRICS = 100
MAX_VALUES = 100

Value = float | int | Sequence[float | int]


def emf(
    metrics: Mapping[str, tuple[Value, str]],
    *,
    service: str,
    namespace: str = NAMESPACE,
    timestamp_ms: int | None = None,
) -> dict:
    """The EMF part of a log record: ``{"_aws": ..., "Service": service, <name>: <value>, ...}``.

    ``metrics`` maps a metric name to ``(value, unit)``; a value may be a list (several samples, e.g.
    render times since the last record), cut to the last :data:`MAX_VALUES`. Metrics whose value is None
    or an empty list are left out; with none left the result is ``{}`` (nothing to publish). Raises
    ValueError on more than :data:`MAX_METRICS` metrics or a non-numeric value, which would make
    CloudWatch reject the whole record.
    """
    kept: dict[str, tuple[Value, str]] = {}
    for name, (value, unit) in metrics.items():
        if isinstance(value, Sequence):
            value = [_number(name, v) for v in value][-MAX_VALUES:]
            if not value:
                continue
        elif value is None:
            continue
        else:
            value = _number(name, value)
        kept[name] = (value, unit)
    if not kept:
        return {}
    if len(kept) > MAX_METRICS:
        raise ValueError(f"an EMF record holds at most {MAX_METRICS} metrics, not {len(kept)}")
    directive = {
        "Namespace": namespace,
        "Dimensions": [["Service"]],
        "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in kept.items()],
    }
    stamp = int(time.time() * 1000) if timestamp_ms is None else int(timestamp_ms)
    record: dict = {"_aws": {"Timestamp": stamp, "CloudWatchMetrics": [directive]}, "Service": service}
    record.update({name: value for name, (value, _) in kept.items()})
    return record


def _number(name: str, value: object) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"metric {name!r}: {value!r} is not a number")
    return value
