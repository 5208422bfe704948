"""The runner's CloudWatch metrics, read off the events it logs.

Decision: metrics are not a second set of calls next to the log calls. The events that settle a run
(``run_completed``, ``run_failed``, ``run_retry``, ...) are logged on every path already, so
:class:`runner.log.EventLog` asks :func:`metric_fields` for each event and the event's own log line
becomes an EMF record (``retainwise.platform.metrics``): a new path that logs ``run_failed`` is counted
without a metric call to forget, and the metric and the log line can never disagree.

| event | metrics (namespace RetainWise, dimension Service=runner) |
| --- | --- |
| ``run_started`` | ``QueueWait`` (s, first attempt: from the message being sent to the run starting) |
| ``run_completed`` | ``RunsCompleted``, ``RunDuration`` (s), ``RowsScored`` |
| ``run_failed`` | ``RunsFailed``, ``RunDuration`` (s, when the failure ended an attempt) |
| ``run_retry`` | ``RunRetries`` |
| ``message_rejected`` | ``MessagesRejected`` |
| ``message_dead_lettered`` | ``MessagesDeadLettered`` |
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from retainwise.platform.metrics import COUNT, SECONDS, emf

SERVICE = "runner"


def _completed(f: Mapping) -> dict:
    return {
        "RunsCompleted": (1, COUNT),
        "RunDuration": (f.get("seconds"), SECONDS),
        "RowsScored": (f.get("rows"), COUNT),
    }


def _failed(f: Mapping) -> dict:
    return {"RunsFailed": (1, COUNT), "RunDuration": (f.get("seconds"), SECONDS)}


#: Event name -> the metrics its fields give.
METRICS: dict[str, Callable[[Mapping], dict]] = {
    "run_started": lambda f: {"QueueWait": (f.get("queue_wait_s"), SECONDS)},
    "run_completed": _completed,
    "run_failed": _failed,
    "run_retry": lambda f: {"RunRetries": (1, COUNT)},
    "message_rejected": lambda f: {"MessagesRejected": (1, COUNT)},
    "message_dead_lettered": lambda f: {"MessagesDeadLettered": (1, COUNT)},
}


def metric_fields(event: str, fields: Mapping) -> dict:
    """What makes the log record of ``event`` an EMF record (``{}``: the event is no metric).

    Never raises: a field of the wrong type drops that metric, never the log line that carries it.
    """
    make = METRICS.get(event)
    if make is None:
        return {}
    wanted = {
        n: (v, u)
        for n, (v, u) in make(fields).items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
    return emf(wanted, service=SERVICE)
