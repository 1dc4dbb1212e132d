"""Outbound webhooks: subscriptions to execution events and the deliveries made for them.

A subscription names a URL, the event types it wants (`*` for all) and optionally one workflow.
Each matching event becomes one delivery: a stored, signed message (Standard Webhooks) that is
sent, and retried with exponential backoff and jitter for up to 24 hours, until the receiver
answers 2xx. Pure: the local deliverer loop and the AWS queue consumer read the same schedule."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from docflow.domain.clock import new_id, utc_now
from docflow.domain.models import Record
from docflow.domain.webhooks import SHOWN_PREFIX_CHARS, new_signing_secret

EventType = Literal["execution.processing", "execution.review", "execution.completed", "execution.failed",
                    "execution.canceled"]
EVENT_TYPES: tuple[str, ...] = ("execution.processing", "execution.review", "execution.completed",
                                "execution.failed", "execution.canceled")
ALL_EVENTS = "*"

# The wait after the n-th failed attempt (n = 1, 2, ...); the last one repeats. With the jitter
# below, attempts go on while they fall within MAX_DELIVERY_AGE of the delivery's creation:
# at about 0 s, 5 s, 35 s, 2.5 min, 12.5 min, 42.5 min, 1.7 h, 3.7 h, 7.7 h, 15.7 h, 23.7 h.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5), timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10),
    timedelta(minutes=30), timedelta(hours=1), timedelta(hours=2), timedelta(hours=4), timedelta(hours=8),
)
MAX_DELIVERY_AGE = timedelta(hours=24)
# Each wait is stretched or shrunk by up to this fraction, so receivers that failed together are
# not retried together.
JITTER = 0.1
# What an attempt keeps of the receiver's error or body: enough to debug, never a whole page.
MAX_ERROR_CHARS = 500

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


class Subscription(Record):
    id: str = Field(default_factory=lambda: new_id("whk"))
    workspace_id: str
    url: str
    events: list[str]
    workflow_id: str | None = None
    description: str | None = None
    enabled: bool = True
    # Stored as is: signing needs the key itself. Shown once, in the response that created it.
    secret: str = Field(default_factory=new_signing_secret)
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)

    @property
    def secret_prefix(self) -> str:
        return self.secret[:SHOWN_PREFIX_CHARS]

    def wants(self, event_type: str, workflow_id: str | None) -> bool:
        if not self.enabled:
            return False
        if ALL_EVENTS not in self.events and event_type not in self.events:
            return False
        return self.workflow_id is None or self.workflow_id == workflow_id


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Attempt(Record):
    at: datetime
    status_code: int | None = None
    error: str | None = None
    duration_ms: int


class Delivery(Record):
    """One event for one subscription. `id` is the `webhook-id` of every attempt (receivers
    deduplicate by it) and is derived from the event and the subscription, so a redelivered event
    names the same delivery and stores nothing new."""

    id: str
    workspace_id: str
    subscription_id: str
    event_type: str
    execution_id: str
    # The exact JSON body every attempt sends (the signature covers these bytes).
    payload: str
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: list[Attempt] = Field(default_factory=list)
    next_attempt_at: datetime | None = None
    created_at: datetime
    updated_at: datetime
    # Optimistic locking: two workers that made the same attempt cannot both record it.
    revision: int = 0

    def due(self, now: datetime) -> bool:
        return self.status == DeliveryStatus.PENDING and self.next_attempt_at is not None \
            and self.next_attempt_at <= now

    def recorded(self, attempt: Attempt, succeeded: bool, now: datetime,
                 rand: Callable[[], float] = random.random) -> Delivery:
        """This delivery after `attempt`: succeeded, pending with its next attempt time, or failed
        once the next attempt would fall past MAX_DELIVERY_AGE."""
        attempts = [*self.attempts, attempt]
        if succeeded:
            status, next_at = DeliveryStatus.SUCCEEDED, None
        else:
            candidate = attempt.at + retry_delay(len(attempts), rand)
            if candidate - self.created_at > MAX_DELIVERY_AGE:
                status, next_at = DeliveryStatus.FAILED, None
            else:
                status, next_at = DeliveryStatus.PENDING, candidate
        return self.model_copy(update={"attempts": attempts, "status": status, "next_attempt_at": next_at,
                                       "updated_at": now})


def retry_delay(failed_attempts: int, rand: Callable[[], float] = random.random) -> timedelta:
    """The wait after `failed_attempts` failures, with ±JITTER."""
    base = RETRY_DELAYS[min(failed_attempts, len(RETRY_DELAYS)) - 1]
    return base * (1 + JITTER * (2 * rand() - 1))


def delivery_id(event_key: str, subscription_id: str, event_time: datetime) -> str:
    """`whd_` + a ULID whose time part is the event's and whose random part is a hash of (event,
    subscription): stable across redeliveries, and sorted by event time (the log is newest first)."""
    millis = int(event_time.timestamp() * 1000) & ((1 << 48) - 1)
    digest = int.from_bytes(hashlib.sha256(f"{event_key}\n{subscription_id}".encode()).digest()[:10], "big")
    number = millis << 80 | digest
    return "whd_" + "".join(_CROCKFORD[(number >> shift) & 31] for shift in range(125, -1, -5))


def clipped(text: str | None) -> str | None:
    return None if text is None else text[:MAX_ERROR_CHARS]


def event_body(event_type: str, timestamp: datetime, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": event_type, "timestamp": timestamp.isoformat().replace("+00:00", "Z"), "data": data}
