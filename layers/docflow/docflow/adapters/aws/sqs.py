"""The outbound-webhook delivery queue on SQS: one message per next attempt of a delivery.

Why re-enqueued messages and not the visibility timeout of one message: a receiver's failure is
not a failure of our handler, so it must not count toward the queue's maxReceiveCount (that
count, and the dead-letter queue behind it, are kept for real handler errors: a store outage, a
bug); and SQS caps DelaySeconds at 900 s and the visibility timeout at 12 h, short of the 24 h
schedule either way. So each attempt that fails enqueues a new message for the next one, delayed
by min(wait, 900 s); a message that arrives before its attempt is due (a wait over 15 minutes)
is enqueued again with the remaining delay, at most 900 s at a time (~100 hops a day at worst)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from docflow.adapters.aws.clients import translate_throttling
from docflow.domain.clock import utc_now
from docflow.domain.outbound_webhooks import Delivery

MAX_DELAY_SECONDS = 900


class SqsClient(Protocol):
    def send_message(self, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class QueuedDelivery:
    """A message of the queue: which delivery, and the attempt (0-based) it is for. An attempt
    recorded since (a duplicate message, or one redelivered after its attempt) shows by the count."""

    workspace_id: str
    subscription_id: str
    delivery_id: str
    attempt: int

    def to_json(self) -> str:
        return json.dumps({"workspace_id": self.workspace_id, "subscription_id": self.subscription_id,
                           "delivery_id": self.delivery_id, "attempt": self.attempt}, separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> QueuedDelivery:
        data = json.loads(body)
        return cls(workspace_id=str(data["workspace_id"]), subscription_id=str(data["subscription_id"]),
                   delivery_id=str(data["delivery_id"]), attempt=int(data["attempt"]))


def delay_seconds(delivery: Delivery, now: datetime) -> int:
    if delivery.next_attempt_at is None:
        return 0
    wait = (delivery.next_attempt_at - now).total_seconds()
    return max(0, min(MAX_DELAY_SECONDS, math.ceil(wait)))


class SqsDeliveryQueue:
    def __init__(self, client: SqsClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def enqueue(self, delivery: Delivery) -> None:
        message = QueuedDelivery(delivery.workspace_id, delivery.subscription_id, delivery.id, len(delivery.attempts))
        with translate_throttling("sqs"):
            self._client.send_message(QueueUrl=self._queue_url, MessageBody=message.to_json(),
                                      DelaySeconds=delay_seconds(delivery, utc_now()))


def make_sqs_client(region_name: str | None = None, *, max_attempts: int = 8) -> SqsClient:
    """Built apart from `make_clients`: only the webhook functions send to the queue."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": max_attempts}, connect_timeout=5, read_timeout=30)
    client: SqsClient = boto3.session.Session(region_name=region_name).client("sqs", config=config)
    return client
