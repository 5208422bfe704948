"""SQS: the job queue between uploads and runners, and its dead-letter queue.

A message's receive count is what the queue's redrive policy counts. A message that must wait
longer than its remaining receives allow (a run-store outage of minutes) is sent again as a fresh
copy with a delay (:meth:`Queue.resend`), so an outage never pushes a live upload into the
dead-letter queue. :meth:`Queue.dead_letter` parks a message there on purpose (a run that gave up
on a transient fault); :func:`redrive` brings dead letters back by receive and send (moto has no
``StartMessageMoveTask``; the same code works on AWS).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from retainwise.errors import ConfigError
from retainwise.platform.aws import client, translate

LONG_POLL_S = 20


@dataclass(frozen=True)
class Received:
    """One received message."""

    message_id: str
    receipt: str
    body: str
    receive_count: int
    #: When the message was sent (epoch seconds, SQS SentTimestamp): the start of its queue wait.
    sent_at: float | None = None


class Queue:
    """One SQS queue through one boto3 client."""

    def __init__(self, settings, url: str | None = None) -> None:
        self.url = url or settings.queue_url
        if not self.url:
            raise ConfigError("No queue configured: set RETAINWISE_QUEUE_URL or start `retainwise up`.")
        self.sqs = client("sqs", settings)
        self._dlq_url: str | None = None

    def send(self, body: dict) -> str:
        with translate("queueing a job"):
            return self.sqs.send_message(QueueUrl=self.url, MessageBody=json.dumps(body))["MessageId"]

    def receive(self, max_messages: int = 1, wait_s: int = LONG_POLL_S) -> list[Received]:
        with translate("polling the queue"):
            resp = self.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=max_messages,
                WaitTimeSeconds=wait_s,
                MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
            )
        return [
            Received(
                m["MessageId"],
                m["ReceiptHandle"],
                m["Body"],
                int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
                _seconds(m.get("Attributes", {}).get("SentTimestamp")),
            )
            for m in resp.get("Messages", [])
        ]

    def delete(self, msg: Received) -> None:
        with translate("deleting a message"):
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=msg.receipt)

    def extend(self, msg: Received, seconds: int) -> None:
        """Keep ``msg`` invisible for ``seconds`` more (the heartbeat), or release it now with 0."""
        with translate("extending a message's visibility"):
            self.sqs.change_message_visibility(
                QueueUrl=self.url, ReceiptHandle=msg.receipt, VisibilityTimeout=int(seconds)
            )

    def resend(self, msg: Received, delay_s: int) -> None:
        """Send ``msg``'s body again, delivered after ``delay_s`` (at most 900 s), then delete ``msg``."""
        with translate("re-queueing a message"):
            self.sqs.send_message(
                QueueUrl=self.url, MessageBody=msg.body, DelaySeconds=max(0, min(900, delay_s))
            )
        self.delete(msg)

    def dead_letter_url(self) -> str | None:
        """The dead-letter queue named by this queue's redrive policy (None without one)."""
        if self._dlq_url is None:
            with translate("reading the redrive policy"):
                attrs = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["RedrivePolicy"])
                policy = attrs["Attributes"].get("RedrivePolicy")
                if policy:
                    name = json.loads(policy)["deadLetterTargetArn"].rsplit(":", 1)[-1]
                    self._dlq_url = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
        return self._dlq_url

    def dead_letter(self, msg: Received) -> None:
        """Move ``msg`` to the dead-letter queue now (or leave it to the redrive policy when there is none)."""
        dlq = self.dead_letter_url()
        if dlq is None:
            self.extend(msg, 0)
            return
        with translate("dead-lettering a message"):
            self.sqs.send_message(QueueUrl=dlq, MessageBody=msg.body)
        self.delete(msg)

    def depth(self) -> dict[str, int]:
        with translate("reading queue depth"):
            attrs = self.sqs.get_queue_attributes(
                QueueUrl=self.url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
        return {
            "visible": int(attrs["ApproximateNumberOfMessages"]),
            "in_flight": int(attrs["ApproximateNumberOfMessagesNotVisible"]),
        }


def redrive(queue: Queue, *, limit: int | None = None) -> int:
    """Move messages from ``queue``'s dead-letter queue back to it; returns how many moved.

    Each is sent to ``queue`` before it is deleted from the dead-letter queue, so a failure midway
    can duplicate a message (the run store makes that harmless) but never lose one.
    Raises ConfigError when the queue has no dead-letter queue, StorageError when SQS fails.
    """
    dlq = queue.dead_letter_url()
    if dlq is None:
        raise ConfigError(f"Queue {queue.url} has no dead-letter queue (no redrive policy).")
    moved = 0
    while limit is None or moved < limit:
        with translate("reading the dead-letter queue"):
            resp = queue.sqs.receive_message(
                QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=60
            )
        batch = resp.get("Messages", [])
        if not batch:
            return moved
        for m in batch[: None if limit is None else limit - moved]:
            with translate("redriving a message"):
                queue.sqs.send_message(QueueUrl=queue.url, MessageBody=m["Body"])
                queue.sqs.delete_message(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"])
            moved += 1
    return moved


def _seconds(millis: str | None) -> float | None:
    """SQS's epoch-milliseconds attribute as epoch seconds (None when absent or malformed)."""
    try:
        return int(millis) / 1000 if millis else None
    except ValueError:
        return None
