"""The embedded AWS endpoint for one machine: moto's server as a real process.

``retainwise up`` and the tests start ``python -m moto.server`` bound to
127.0.0.1 (moto binds 0.0.0.0 unless told otherwise) on a free port, and speak
to it over HTTP with boto3 exactly as the runner speaks to AWS. Nothing is
patched in-process.

:func:`provision` then creates what ``infra/`` creates on AWS, with the same
numbers: the bucket (versioned), the job queue and its dead-letter queue
(redrive after 3 receives, retention 4 days / 14 days, visibility above the
run timeout), and the bucket's event notification for ``uploads/`` to the
queue. moto sends real notifications, including the ``s3:TestEvent`` that AWS
sends when a notification is configured; the runner ignores that one.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from retainwise.errors import ConfigError
from retainwise.platform.aws import client, translate
from retainwise.platform.runs import MAX_ATTEMPTS

#: The numbers infra/ uses for the real queues (tests assert both agree). A message is received as
#: often as a run may be attempted.
MAX_RECEIVE_COUNT = MAX_ATTEMPTS
QUEUE_RETENTION_S = 4 * 24 * 3600
DLQ_RETENTION_S = 14 * 24 * 3600


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the one probe used everywhere)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_free(port: int) -> bool:
    """Whether ``port`` on 127.0.0.1 can be bound now."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class MotoServer:
    """A moto server process on 127.0.0.1. Use as a context manager or call start()/stop()."""

    def __init__(self, port: int | None = None, log_path: Path | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> MotoServer:
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ConfigError(
                    f"The embedded AWS endpoint (moto) exited at start with code {self.proc.returncode}."
                )
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise ConfigError(f"The embedded AWS endpoint did not answer on {self.url} within {timeout:.0f} s.")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass(frozen=True)
class Resources:
    bucket: str
    queue_url: str
    dlq_url: str


def provision(settings, *, bucket: str = "retainwise", queue: str = "retainwise-jobs") -> Resources:
    """Create the bucket, queue + DLQ and the upload notification (idempotent). Returns their names."""
    s3, sqs = client("s3", settings), client("sqs", settings)
    visibility = settings.visibility_timeout_s  # above the run timeout: Settings guarantees it
    with translate("creating the local queues and bucket"):
        dlq_url = sqs.create_queue(
            QueueName=f"{queue}-dlq", Attributes={"MessageRetentionPeriod": str(DLQ_RETENTION_S)}
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        queue_url = sqs.create_queue(
            QueueName=queue,
            Attributes={
                "VisibilityTimeout": str(visibility),
                "MessageRetentionPeriod": str(QUEUE_RETENTION_S),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
                ),
            },
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        existing = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
        if bucket not in existing:
            s3.create_bucket(Bucket=bucket)
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={
                "QueueConfigurations": [
                    {
                        "QueueArn": queue_arn,
                        "Events": ["s3:ObjectCreated:*"],
                        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "uploads/"}]}},
                    }
                ]
            },
        )
    return Resources(bucket=bucket, queue_url=queue_url, dlq_url=dlq_url)


def local_settings(settings, endpoint: str, resources: Resources):
    """``settings`` pointed at the embedded endpoint and its resources."""
    return settings.replace(aws_endpoint_url=endpoint, bucket=resources.bucket, queue_url=resources.queue_url)


def environment(settings) -> dict[str, str]:
    """Process environment for children (workers, Voila) of this settings object."""
    env = dict(os.environ)
    env.update(settings.to_env())
    return env
