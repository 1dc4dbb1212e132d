"""Outbound webhooks: subscriptions (CRUD), the fan-out of an execution event into one delivery
per matching subscription, and one attempt of a delivery (signed per Standard Webhooks).

Both runtimes call these: on AWS the fan-out function (EventBridge rule) and the deliverer
function (SQS), locally `runtime/local/webhook_deliverer.py`. Every request to the user's URL
goes through `ports.http` (the SSRF guard), at save time (`check_url`) and at send time."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from standardwebhooks import Webhook

from docflow.domain.clock import iso, utc_now
from docflow.domain.errors import Conflict, DeliveryTransient, DocflowError, NotFound, UrlRefused
from docflow.domain.models import Execution, Page
from docflow.domain.outbound_webhooks import (
    EVENT_TYPES,
    Attempt,
    Delivery,
    DeliveryStatus,
    Subscription,
    clipped,
    delivery_id,
    event_body,
)
from docflow.ports import (
    DeliveryQueue,
    DeliveryRepository,
    OutboundHttp,
    OutboundRequest,
    Ports,
    WebhookSubscriptionRepository,
    wired,
)

log = logging.getLogger("docflow.webhooks")
PAGE_SIZE = 100
USER_AGENT = "Docflow-Webhooks/1"
SEND_TIMEOUT_SECONDS = 10.0
# What an attempt keeps of a non-2xx answer's body (in its error).
BODY_PREVIEW_BYTES = 200

# Turns an execution into the `data` of a delivery body: the API's ExecutionOut (api/ builds it;
# use-cases do not import the API layer, so the entry points pass it in).
Render = Callable[[Execution], dict[str, Any]]


@dataclass(frozen=True)
class SubscriptionFields:
    url: str
    events: list[str] = field(default_factory=lambda: ["*"])
    workflow_id: str | None = None
    description: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class PlatformEvent:
    """An event of the stack's bus (EventBridge) or of local mode's in-process bus."""

    id: str
    detail_type: str
    workspace_id: str
    detail: dict[str, Any]


def _subscriptions(ports: Ports) -> WebhookSubscriptionRepository:
    return wired(ports.webhook_subscriptions, "outbound webhooks")


def _deliveries(ports: Ports) -> DeliveryRepository:
    return wired(ports.webhook_deliveries, "outbound webhook deliveries")


def _queue(ports: Ports) -> DeliveryQueue:
    return wired(ports.delivery_queue, "outbound webhook delivery queues")


# --- subscriptions -------------------------------------------------------------------------

def create_subscription(ports: Ports, workspace_id: str, fields: SubscriptionFields) -> Subscription:
    """The new subscription, with its secret (the only time it is shown)."""
    # 422 naming `url` for a URL the guard will not call
    wired(ports.http, "outbound calls").check_url(fields.url, "url")
    if fields.workflow_id is not None:
        ports.workflows.get(workspace_id, fields.workflow_id)  # 404 for an unknown or foreign workflow
    now = utc_now()
    subscription = Subscription(workspace_id=workspace_id, url=fields.url, events=list(dict.fromkeys(fields.events)),
                                workflow_id=fields.workflow_id, description=fields.description,
                                enabled=fields.enabled, created_at=now, updated_at=now)
    _subscriptions(ports).add(subscription)
    return subscription


def get_subscription(ports: Ports, workspace_id: str, subscription_id: str) -> Subscription:
    return _subscriptions(ports).get(workspace_id, subscription_id)


def list_subscriptions(ports: Ports, workspace_id: str, limit: int, cursor: str | None) -> Page[Subscription]:
    return _subscriptions(ports).list(workspace_id, limit, cursor)


def delete_subscription(ports: Ports, workspace_id: str, subscription_id: str) -> None:
    """Its pending deliveries stop at their next attempt (the subscription is gone)."""
    _subscriptions(ports).delete(workspace_id, subscription_id)


def list_deliveries(ports: Ports, workspace_id: str, subscription_id: str, limit: int,
                    cursor: str | None) -> Page[Delivery]:
    _subscriptions(ports).get(workspace_id, subscription_id)  # 404 for an unknown or foreign subscription
    return _deliveries(ports).list_for_subscription(workspace_id, subscription_id, limit, cursor)


# --- fan-out -------------------------------------------------------------------------------

def fan_out(ports: Ports, event: PlatformEvent, render: Render) -> list[Delivery]:
    """One pending delivery per enabled subscription of the event's workspace that wants it, each
    handed to the delivery queue. Safe to repeat: a delivery's id comes from the event (its type,
    its execution and the time of that status change) and the subscription, so a redelivered
    event (or the same change published twice) stores nothing new; one stored by an earlier try
    that has not been attempted yet is enqueued again (that try may have died before enqueueing).
    Returns the deliveries enqueued."""
    if event.detail_type not in EVENT_TYPES:
        return []
    workflow_id = event.detail.get("workflow_id")
    wanted = [s for s in _all_subscriptions(ports, event.workspace_id)
              if s.wants(event.detail_type, workflow_id if isinstance(workflow_id, str) else None)]
    execution_id = event.detail.get("execution_id")
    if not wanted or not isinstance(execution_id, str):
        return []
    try:
        execution = ports.executions.get(event.workspace_id, execution_id)
    except NotFound:
        log.warning("webhook fan-out: %s %s names execution %s, which is gone", event.detail_type, event.id,
                    execution_id)
        return []
    moment, key = _event_identity(event, execution)
    payload = json.dumps(event_body(event.detail_type, moment, render(execution)), separators=(",", ":"))
    deliveries, queue, now = _deliveries(ports), _queue(ports), utc_now()
    enqueued: list[Delivery] = []
    for subscription in wanted:
        delivery = Delivery(id=delivery_id(key, subscription.id, moment), workspace_id=event.workspace_id,
                            subscription_id=subscription.id, event_type=event.detail_type,
                            execution_id=execution.id, payload=payload, next_attempt_at=now, created_at=now,
                            updated_at=now)
        if not deliveries.add(delivery):
            delivery = deliveries.get(event.workspace_id, subscription.id, delivery.id)
            if delivery.status != DeliveryStatus.PENDING or delivery.attempts:
                continue  # already on its way
        queue.enqueue(delivery)
        enqueued.append(delivery)
    return enqueued


def _all_subscriptions(ports: Ports, workspace_id: str) -> list[Subscription]:
    found: list[Subscription] = []
    cursor: str | None = None
    while True:
        page = _subscriptions(ports).list(workspace_id, PAGE_SIZE, cursor)
        found.extend(page.items)
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


def _event_identity(event: PlatformEvent, execution: Execution) -> tuple[datetime, str]:
    """When the status change the event announces happened, and a key naming that change."""
    status = event.detail_type.split(".", 1)[1]
    changes = [c for c in execution.status_history if c.status.value == status]
    if changes:
        moment = changes[-1].time
        return moment, f"{event.detail_type}:{execution.id}:{iso(moment)}"
    return execution.updated_at, f"event:{event.id}"


# --- attempts ------------------------------------------------------------------------------

def signed_headers(secret: str, message_id: str, sent_at: datetime, payload: str) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, sent_at, payload),
    }


def attempt_delivery(ports: Ports, delivery: Delivery, now: datetime | None = None) -> Delivery:
    """Sends a pending delivery once and records the attempt: succeeded on a 2xx; otherwise
    pending with its next attempt time (RETRY_DELAYS with jitter), or failed once that would be
    more than 24 hours after the delivery was created. `now` is the scheduling clock (tests move
    it); the signature always carries the real time, which the receiver checks against its own.
    Raises Conflict when another worker recorded an attempt first (the caller drops this one)."""
    deliveries = _deliveries(ports)
    moment = now or utc_now()
    if delivery.status != DeliveryStatus.PENDING:
        return delivery
    try:
        subscription = _subscriptions(ports).get(delivery.workspace_id, delivery.subscription_id)
    except NotFound:
        return _give_up(deliveries, delivery, moment, "the subscription was deleted")
    if not subscription.enabled:
        return _give_up(deliveries, delivery, moment, "the subscription is disabled")
    attempt, succeeded = _send(wired(ports.http, "outbound calls"), subscription, delivery, moment)
    stored = deliveries.save(delivery.recorded(attempt, succeeded, moment))
    log.info("webhook %s to %s: attempt %d %s (%s)", delivery.id, subscription.url, len(stored.attempts),
             stored.status.value, attempt.status_code or attempt.error)
    return stored


def _send(http: OutboundHttp, subscription: Subscription, delivery: Delivery, at: datetime) -> tuple[Attempt, bool]:
    headers = signed_headers(subscription.secret, delivery.id, utc_now(), delivery.payload)
    request = OutboundRequest(method="POST", url=subscription.url, headers=headers, body=delivery.payload.encode(),
                              timeout_seconds=SEND_TIMEOUT_SECONDS)
    started = time.perf_counter()
    status: int | None = None
    error: str | None = None
    try:
        response = http.send(request)
    except DeliveryTransient as exc:
        status, error = _status_of(exc), exc.message
    except UrlRefused as exc:  # DNS may change back: retried like any failure, within the 24 hours
        error = exc.message
    else:
        status = response.status
        if not 200 <= status < 300:
            preview = response.body[:BODY_PREVIEW_BYTES].decode("utf-8", "replace")
            error = f"HTTP {status}" + (f": {preview}" if preview else "")
    duration = int((time.perf_counter() - started) * 1000)
    succeeded = status is not None and 200 <= status < 300
    return Attempt(at=at, status_code=status, error=clipped(error), duration_ms=duration), succeeded


def _status_of(exc: DocflowError) -> int | None:
    """The HTTP status a transient failure carries (429, 5xx), when the sender put it in details."""
    for detail in exc.details:
        value = detail.get("status") or detail.get("status_code")
        if isinstance(value, int):
            return value
    return None


def _give_up(deliveries: DeliveryRepository, delivery: Delivery, now: datetime, reason: str) -> Delivery:
    log.warning("webhook %s failed without an attempt: %s", delivery.id, reason)
    attempt = Attempt(at=now, status_code=None, error=reason, duration_ms=0)
    return deliveries.save(delivery.model_copy(update={
        "attempts": [*delivery.attempts, attempt], "status": DeliveryStatus.FAILED, "next_attempt_at": None,
        "updated_at": now}))


# --- a queued attempt (AWS: one SQS message) -----------------------------------------------

def deliver_queued(ports: Ports, workspace_id: str, subscription_id: str, delivery_id: str, attempt: int,
                   redelivered: bool, now: datetime | None = None) -> Delivery | None:
    """One message of the delivery queue, meant for attempt number `attempt` (0-based). Makes the
    attempt when it is due and enqueues the next one while the delivery is pending. A message whose
    attempt was already recorded is dropped, unless the queue redelivered it: then the worker that
    recorded the attempt may have died before it enqueued the follow-up, so it is enqueued here.
    Returns the delivery as it stands (None: unknown, or another worker's attempt won the race)."""
    moment = now or utc_now()
    queue = _queue(ports)
    try:
        delivery = _deliveries(ports).get(workspace_id, subscription_id, delivery_id)
    except NotFound:
        log.warning("webhook delivery %s is gone; message dropped", delivery_id)
        return None
    if delivery.status != DeliveryStatus.PENDING:
        return delivery
    made = len(delivery.attempts)
    if made != attempt:
        if redelivered and made == attempt + 1:
            queue.enqueue(delivery)
        return delivery
    if not delivery.due(moment):
        queue.enqueue(delivery)  # a wait longer than the queue's longest delay: hop again
        return delivery
    try:
        stored = attempt_delivery(ports, delivery, moment)
    except Conflict:
        return None
    if stored.status == DeliveryStatus.PENDING:
        queue.enqueue(stored)
    return stored
