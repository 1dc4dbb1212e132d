"""Outbound webhooks' use-cases with a fake OutboundHttp (the SSRF guard is tested on its own) and
the SQLite stores: subscriptions, the fan-out of an event, attempts, the retry schedule."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from docflow_testing import INVOICE_WORKFLOW
from standardwebhooks import Webhook

from docflow.adapters.compute import InlineCompute
from docflow.adapters.local.events import InProcessEventBus
from docflow.adapters.local.files import LocalBlobStore
from docflow.adapters.local.sqlite import (
    SqliteApiKeyRepository,
    SqliteDatabase,
    SqliteDocumentRepository,
    SqliteExecutionRepository,
    SqliteWorkflowRepository,
)
from docflow.adapters.local.sqlite_subscriptions import SqliteDeliveryRepository, SqliteWebhookSubscriptionRepository
from docflow.api.schemas_webhook_subscriptions import execution_data
from docflow.domain.errors import DeliveryTransient, NotFound, UrlRefused
from docflow.domain.limits import Limits
from docflow.domain.models import Execution, ExecutionStatus, StatusChange
from docflow.domain.outbound_webhooks import (
    MAX_DELIVERY_AGE,
    RETRY_DELAYS,
    Attempt,
    Delivery,
    DeliveryStatus,
    retry_delay,
)
from docflow.ports import OutboundRequest, OutboundResponse, Ports
from docflow.usecases import outbound_webhooks as cases
from docflow.usecases import workflows as workflow_cases

WS, OTHER = "ws_unit", "ws_other"
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass
class FakeHttp:
    """Answers from a script (the last answer repeats); an exception in the script is raised."""

    answers: list[int | Exception] = field(default_factory=lambda: [200])
    sent: list[OutboundRequest] = field(default_factory=list)
    refused_hosts: tuple[str, ...] = ("10.0.0.1",)

    def check_url(self, url: str, field: str) -> None:
        if any(host in url for host in self.refused_hosts):
            raise UrlRefused(f"{field}: private address", details=[{"loc": ["body", field], "msg": "private"}])

    def send(self, request: OutboundRequest) -> OutboundResponse:
        self.sent.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return OutboundResponse(status=answer, headers={}, body=b"nope" if answer >= 300 else b"")


@dataclass
class RecordingQueue:
    enqueued: list[Delivery] = field(default_factory=list)

    def enqueue(self, delivery: Delivery) -> None:
        self.enqueued.append(delivery)


@dataclass
class World:
    ports: Ports
    http: FakeHttp
    queue: RecordingQueue
    deliveries: SqliteDeliveryRepository
    execution: Execution
    workflow_id: str


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    db = SqliteDatabase(tmp_path / "docflow.sqlite3")
    blobs = LocalBlobStore(tmp_path / "files", "http://127.0.0.1:8080", b"unit-test-secret-32-bytes-long!!")
    http, queue, deliveries = FakeHttp(), RecordingQueue(), SqliteDeliveryRepository(db)
    ports = Ports(keys=SqliteApiKeyRepository(db), workflows=SqliteWorkflowRepository(db),
                  documents=SqliteDocumentRepository(db), executions=SqliteExecutionRepository(db, blobs),
                  blobs=blobs, events=InProcessEventBus(), launcher=None,  # type: ignore[arg-type]
                  limits=Limits(), compute=InlineCompute(), http=http,
                  webhook_subscriptions=SqliteWebhookSubscriptionRepository(db), webhook_deliveries=deliveries,
                  delivery_queue=queue)
    workflow = workflow_cases.create_workflow(ports.workflows, WS, INVOICE_WORKFLOW)
    execution = ports.executions.add(Execution(
        workflow_id=workflow.id, workflow_version=1, workspace_id=WS, status=ExecutionStatus.COMPLETED,
        metadata={"customer": "acme"}, documents=["doc_1"],
        status_history=[StatusChange(status=ExecutionStatus.QUEUED, time=T0),
                        StatusChange(status=ExecutionStatus.PROCESSING, time=T0 + timedelta(seconds=1)),
                        StatusChange(status=ExecutionStatus.COMPLETED, time=T0 + timedelta(seconds=2))]))
    try:
        yield World(ports, http, queue, deliveries, execution, workflow.id)
    finally:
        db.close()


def _subscribe(world: World, **fields: Any) -> cases.Subscription:
    return cases.create_subscription(world.ports, WS, cases.SubscriptionFields(
        url=fields.pop("url", "https://hooks.example.com/in"), **fields))


def _event(world: World, detail_type: str = "execution.completed", event_id: str = "evt-1") -> cases.PlatformEvent:
    return cases.PlatformEvent(id=event_id, detail_type=detail_type, workspace_id=WS,
                               detail={"execution_id": world.execution.id, "workflow_id": world.workflow_id})


# --- subscriptions -----------------------------------------------------------------------------

def test_given_a_private_url_when_subscribing_then_422_naming_url_and_nothing_stored(world: World) -> None:
    with pytest.raises(UrlRefused) as refused:
        _subscribe(world, url="http://10.0.0.1/hook")
    assert refused.value.status == 422 and refused.value.details[0]["loc"] == ["body", "url"]
    assert cases.list_subscriptions(world.ports, WS, 10, None).items == []


def test_given_another_workspaces_workflow_when_subscribing_to_it_then_404(world: World) -> None:
    with pytest.raises(NotFound):
        cases.create_subscription(world.ports, OTHER, cases.SubscriptionFields(
            url="https://hooks.example.com/in", workflow_id=world.workflow_id))


def test_given_a_new_subscription_then_it_has_a_whsec_secret_that_standardwebhooks_reads(world: World) -> None:
    subscription = _subscribe(world, events=["execution.completed", "execution.completed"])
    assert subscription.id.startswith("whk_") and subscription.events == ["execution.completed"]
    assert subscription.secret.startswith("whsec_") and subscription.secret_prefix == subscription.secret[:12]
    Webhook(subscription.secret)  # the library parses it


# --- fan-out -----------------------------------------------------------------------------------

def test_given_matching_and_other_subscriptions_when_an_event_fans_out_then_one_delivery_per_match(
        world: World) -> None:
    wanted = [_subscribe(world), _subscribe(world, events=["execution.completed"], workflow_id=world.workflow_id)]
    _subscribe(world, events=["execution.failed"])
    _subscribe(world, enabled=False)
    other_workflow = workflow_cases.create_workflow(world.ports.workflows, WS, INVOICE_WORKFLOW)
    _subscribe(world, workflow_id=other_workflow.id)
    cases.create_subscription(world.ports, OTHER, cases.SubscriptionFields(url="https://hooks.example.com/b"))

    enqueued = cases.fan_out(world.ports, _event(world), execution_data)

    assert sorted(d.subscription_id for d in enqueued) == sorted(s.id for s in wanted)
    body = json.loads(enqueued[0].payload)
    assert body["type"] == "execution.completed" and body["timestamp"] == "2026-11-23T12:00:02Z"
    assert body["data"]["id"] == world.execution.id and body["data"]["metadata"] == {"customer": "acme"}
    assert body["data"] == execution_data(world.execution)


def test_given_an_event_when_it_is_delivered_twice_then_no_second_delivery(world: World) -> None:
    subscription = _subscribe(world)
    first = cases.fan_out(world.ports, _event(world), execution_data)
    # Redelivered (same event id), or published twice for one change (another id): the same delivery.
    again = cases.fan_out(world.ports, _event(world), execution_data)
    twice = cases.fan_out(world.ports, _event(world, event_id="evt-2"), execution_data)
    assert [d.id for d in again] == [d.id for d in twice] == [d.id for d in first]  # not attempted: enqueued again
    assert len(cases.list_deliveries(world.ports, WS, subscription.id, 10, None).items) == 1

    cases.attempt_delivery(world.ports, first[0], T0)
    assert cases.fan_out(world.ports, _event(world), execution_data) == []  # on its way: not enqueued again
    assert len(cases.list_deliveries(world.ports, WS, subscription.id, 10, None).items) == 1


def test_given_other_event_types_when_fanned_out_then_nothing(world: World) -> None:
    _subscribe(world)
    assert cases.fan_out(world.ports, _event(world, "document.uploaded"), execution_data) == []
    processing = cases.fan_out(world.ports, _event(world, "execution.processing"), execution_data)
    assert json.loads(processing[0].payload)["timestamp"] == "2026-11-23T12:00:01Z"


# --- attempts ----------------------------------------------------------------------------------

def test_given_a_delivery_when_sent_then_signed_per_standard_webhooks_with_a_stable_id(world: World) -> None:
    subscription = _subscribe(world)
    world.http.answers = [DeliveryTransient("timed out", details=[{"reason": "timeout"}]), 503, 200]
    delivery = cases.fan_out(world.ports, _event(world), execution_data)[0]
    for n in range(3):
        delivery = cases.attempt_delivery(world.ports, delivery, T0 + timedelta(hours=n))
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.next_attempt_at is None
    assert [a.status_code for a in delivery.attempts] == [None, 503, 200]
    assert delivery.attempts[0].error == "timed out" and delivery.attempts[1].error == "HTTP 503: nope"
    for request in world.http.sent:
        assert request.method == "POST" and request.url == subscription.url
        assert request.headers["webhook-id"] == delivery.id  # the same id on every retry
        body = request.body or b""
        verified = Webhook(subscription.secret).verify(body, request.headers)
        assert verified["data"]["id"] == world.execution.id


def test_given_a_failing_receiver_then_retries_follow_the_schedule_and_fail_after_24_hours(world: World) -> None:
    _subscribe(world)
    world.http.answers = [500]
    delivery = cases.fan_out(world.ports, _event(world), execution_data)[0]
    now = delivery.created_at
    while delivery.status == DeliveryStatus.PENDING:
        delivery = cases.attempt_delivery(world.ports, delivery, now)
        if delivery.next_attempt_at is not None:
            assert delivery.next_attempt_at > now
            now = delivery.next_attempt_at
    assert delivery.status == DeliveryStatus.FAILED and delivery.next_attempt_at is None
    assert 9 <= len(delivery.attempts) <= 12  # ~11 attempts within 24 h (jitter moves the last one)
    assert all(a.at - delivery.created_at <= MAX_DELIVERY_AGE for a in delivery.attempts)
    assert all(a.status_code == 500 for a in delivery.attempts)


def test_given_the_schedule_then_each_wait_is_its_step_within_the_jitter() -> None:
    assert [retry_delay(n, lambda: 0.5) for n in range(1, 11)] == [*RETRY_DELAYS, RETRY_DELAYS[-1]]
    assert retry_delay(1, lambda: 0.0) == timedelta(seconds=4.5) and retry_delay(1, lambda: 1.0) == timedelta(
        seconds=5.5)


def test_given_a_deleted_subscription_when_its_delivery_is_due_then_failed_without_a_send(world: World) -> None:
    subscription = _subscribe(world)
    delivery = cases.fan_out(world.ports, _event(world), execution_data)[0]
    cases.delete_subscription(world.ports, WS, subscription.id)
    done = cases.attempt_delivery(world.ports, delivery, T0)
    assert done.status == DeliveryStatus.FAILED and world.http.sent == []
    assert done.attempts == [Attempt(at=T0, status_code=None, error="the subscription was deleted", duration_ms=0)]


# --- the events that were not published before -------------------------------------------------

class _NoOrchestrator:
    def launch(self, execution: Execution) -> None:
        pass

    def cancel(self, execution: Execution) -> None:
        pass


def test_given_a_queued_run_when_canceled_twice_then_execution_canceled_is_published_once(world: World) -> None:
    from docflow.usecases.executions import cancel_execution

    world.ports.launcher = _NoOrchestrator()
    queued = world.ports.executions.add(Execution(
        workflow_id=world.workflow_id, workflow_version=1, workspace_id=WS, documents=["doc_1"],
        status_history=[StatusChange(status=ExecutionStatus.QUEUED, time=T0)]))
    bus = world.ports.events
    assert isinstance(bus, InProcessEventBus)
    cancel_execution(world.ports, WS, world.workflow_id, queued.id)
    cancel_execution(world.ports, WS, world.workflow_id, queued.id)
    canceled = [e for e in bus.recent if e.detail_type == "execution.canceled"]
    assert len(canceled) == 1 and canceled[0].detail["execution_id"] == queued.id
    assert canceled[0].detail["status"] == "canceled" and canceled[0].workspace_id == WS


# --- a queued attempt (the AWS deliverer's use-case) -------------------------------------------

def test_given_a_message_for_a_retry_hours_away_when_it_arrives_then_it_is_enqueued_again_unsent(
        world: World) -> None:
    _subscribe(world)
    world.http.answers = [*[500] * 6, 200]
    delivery = cases.fan_out(world.ports, _event(world), execution_data)[0]
    for _ in range(6):  # six failures: the next wait is 2 h, longer than one SQS delay (15 min)
        delivery = cases.attempt_delivery(world.ports, delivery, delivery.next_attempt_at)
    assert delivery.next_attempt_at is not None
    world.queue.enqueued.clear()
    sent = len(world.http.sent)

    early = cases.deliver_queued(world.ports, WS, delivery.subscription_id, delivery.id, 6, redelivered=False,
                                 now=delivery.next_attempt_at - timedelta(minutes=30))
    assert early == delivery and len(world.http.sent) == sent and world.queue.enqueued == [delivery]

    done = cases.deliver_queued(world.ports, WS, delivery.subscription_id, delivery.id, 6, redelivered=False,
                                now=delivery.next_attempt_at)
    assert done is not None and done.status == DeliveryStatus.SUCCEEDED and len(world.http.sent) == sent + 1
    assert len(world.queue.enqueued) == 1  # nothing more to enqueue once it succeeded


def test_given_a_recorded_attempt_when_its_message_comes_again_then_only_a_redelivery_enqueues_the_next(
        world: World) -> None:
    _subscribe(world)
    world.http.answers = [500]
    delivery = cases.fan_out(world.ports, _event(world), execution_data)[0]
    delivery = cases.attempt_delivery(world.ports, delivery, delivery.created_at)  # attempt 0, recorded
    world.queue.enqueued.clear()
    # A duplicate copy of message 0: dropped.
    cases.deliver_queued(world.ports, WS, delivery.subscription_id, delivery.id, 0, redelivered=False)
    assert world.queue.enqueued == [] and len(world.http.sent) == 1
    # Message 0 received again (its worker died after recording, maybe before enqueueing message 1).
    cases.deliver_queued(world.ports, WS, delivery.subscription_id, delivery.id, 0, redelivered=True)
    assert [len(d.attempts) for d in world.queue.enqueued] == [1] and len(world.http.sent) == 1
