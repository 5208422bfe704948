"""SQS: the job queue between uploads and runners."""

from __future__ import annotations

import json
from dataclasses import dataclass

from retainwise.platform.aws import client, translate

LONG_POLL_S = 20


@dataclass(frozen=True)
class Received:
    """One received message."""

    message_id: str
    receipt: str
    body: str
    receive_count: int


class Queue:
    """One SQS queue through one boto3 client."""

    def __init__(self, settings, url: str | None = None) -> None:
        self.url = url or settings.queue_url
        if not self.url:
            from retainwise.errors import ConfigError

            raise ConfigError("No queue configured: set RETAINWISE_QUEUE_URL or start `retainwise up`.")
        self.sqs = client("sqs", settings)

    def send(self, body: dict) -> str:
        with translate("queueing a job"):
            return self.sqs.send_message(QueueUrl=self.url, MessageBody=json.dumps(body))["MessageId"]

    def receive(self, max_messages: int = 1, wait_s: int = LONG_POLL_S) -> list[Received]:
        with translate("polling the queue"):
            resp = self.sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=max_messages, WaitTimeSeconds=wait_s,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
            )
        return [
            Received(m["MessageId"], m["ReceiptHandle"], m["Body"],
                     int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")))
            for m in resp.get("Messages", [])
        ]

    def delete(self, msg: Received) -> None:
        with translate("deleting a message"):
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=msg.receipt)

    def extend(self, msg: Received, seconds: int) -> None:
        """Keep ``msg`` invisible for ``seconds`` more (the heartbeat), or release it now with 0."""
        with translate("extending a message's visibility"):
            self.sqs.change_message_visibility(QueueUrl=self.url, ReceiptHandle=msg.receipt,
                                               VisibilityTimeout=int(seconds))

    def depth(self) -> dict[str, int]:
        with translate("reading queue depth"):
            attrs = self.sqs.get_queue_attributes(
                QueueUrl=self.url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
        return {"visible": int(attrs["ApproximateNumberOfMessages"]),
                "in_flight": int(attrs["ApproximateNumberOfMessagesNotVisible"])}
