"""Outbound webhooks on AWS under moto: a real run on the stack publishes its execution events,
a rule with the template's pattern captures them (moto cannot invoke Lambda targets), the fan-out
function turns one into a message on the delivery queue, and the deliverer function sends it,
through the real SSRF guard (allowlisted for 127.0.0.1), to a local receiver."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import samples
from docflow_testing import (
    API_KEY,
    CORPUS,
    INVOICE_WORKFLOW,
    REGION,
    Api,
    AwsStack,
    LambdaContextStub,
    StackApi,
    capture_rule,
    drain_queue,
    invoice_pdf,
    load_handler,
    run_template,
    template_resources,
)
from receiver import Receiver, Reply
from standardwebhooks import Webhook

from docflow.adapters.http_out import OutboundSettings
from docflow.domain.outbound_webhooks import EVENT_TYPES
from docflow.domain.ssrf import Allowlist
from docflow.runtime import aws
from docflow.runtime.local.server import RunningServer
from docflow.runtime.settings import LocalSettings
from docflow.usecases.keys import ensure_key


def _resources() -> dict[str, Any]:
    return template_resources()


def _rule_pattern() -> dict[str, Any]:
    event = _resources()["WebhookFanoutFunction"]["Properties"]["Events"]["ExecutionEvent"]
    assert event["Type"] == "EventBridgeRule" and event["Properties"]["EventBusName"] == {"Ref": "EventBus"}
    return dict(event["Properties"]["Pattern"])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def stack(aws_stack: AwsStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[AwsStack, str]]:
    """The stack plus the delivery queue (with its redrive policy) and the guard's allowlist, as
    template.yaml sets them on the webhook functions."""
    sqs = boto3.client("sqs", region_name=REGION)
    dlq = sqs.create_queue(QueueName="webhook-deliveries-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(QueueName="webhook-deliveries", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})})["QueueUrl"]
    monkeypatch.setenv("DOCFLOW_WEBHOOK_QUEUE_URL", queue_url)
    monkeypatch.setenv("DOCFLOW_OUTBOUND_ALLOW", "127.0.0.1/32")
    aws.ports.cache_clear()
    load_handler("api")._app.cache_clear()
    ensure_key(aws.ports().keys, API_KEY)
    yield aws_stack, str(queue_url)
    aws.ports.cache_clear()


def _capture(stack: AwsStack) -> str:
    """What the fan-out function would be invoked with."""
    return capture_rule(stack, "execution-events", _rule_pattern())


def _drain(queue_url: str) -> list[dict[str, Any]]:
    return drain_queue(queue_url)


def _sqs_event(messages: list[dict[str, Any]], queue_url: str) -> dict[str, Any]:
    """The event an SQS event source mapping invokes the deliverer with."""
    return {"Records": [{
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": {"ApproximateReceiveCount": m.get("Attributes", {}).get("ApproximateReceiveCount", "1"),
                       "SentTimestamp": "0", "SenderId": "x", "ApproximateFirstReceiveTimestamp": "0"},
        "messageAttributes": {}, "md5OfBody": m.get("MD5OfBody", ""), "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:{queue_url.rsplit('/', 1)[-1]}",
        "awsRegion": REGION} for m in messages]}


def _completed_run(stack: AwsStack) -> tuple[str, dict[str, Any]]:
    """A real run on the stack; its execution.completed event as the rule delivers it."""
    events = _capture(stack)
    status, workflow = stack.http("POST", "/v1/workflows", body=INVOICE_WORKFLOW)
    assert status == 201, workflow
    api = StackApi(stack, API_KEY)
    document_id = api.upload("invoice.pdf", invoice_pdf())
    status, started = stack.http("POST", f"/v1/workflows/{workflow['id']}/executions",
                                 body={"document_id": document_id, "metadata": {"customer": "acme"}})
    assert status == 202, started
    assert api.wait(started["id"])["status"] == "completed"
    captured = [json.loads(m["Body"]) for m in _drain(events)]
    assert sorted(e["detail-type"] for e in captured) == ["execution.completed", "execution.processing"]
    return str(started["id"]), next(e for e in captured if e["detail-type"] == "execution.completed")


def _subscribe(stack: AwsStack, url: str) -> dict[str, Any]:
    status, created = stack.http("POST", "/v1/webhooks", body={"url": url, "events": ["execution.completed"]})
    assert status == 201, created
    return dict(created)


def _deliveries(stack: AwsStack, subscription_id: str) -> list[dict[str, Any]]:
    status, body = stack.http("GET", f"/v1/webhooks/{subscription_id}/deliveries")
    assert status == 200, body
    return list(body["items"])


def test_given_the_template_rule_then_it_routes_every_execution_event_of_the_stack_bus() -> None:
    pattern = _rule_pattern()
    assert pattern["source"] == ["docflow"] and set(pattern["detail-type"]) == set(EVENT_TYPES)


def test_given_a_subscription_when_a_run_completes_then_fanout_queues_and_the_deliverer_sends_it_signed(
        stack: tuple[AwsStack, str], receiver: Receiver) -> None:
    aws_stack, queue_url = stack
    subscription = _subscribe(aws_stack, receiver.url("/docflow"))
    execution_id, event = _completed_run(aws_stack)

    fanned = load_handler("webhook_fanout").lambda_handler(event, LambdaContextStub())
    again = load_handler("webhook_fanout").lambda_handler(event, LambdaContextStub())  # EventBridge redelivers
    assert fanned["deliveries"] == again["deliveries"] and len(fanned["deliveries"]) == 1
    messages = _drain(queue_url)
    assert {json.loads(m["Body"])["delivery_id"] for m in messages} == set(fanned["deliveries"])
    [pending] = _deliveries(aws_stack, subscription["id"])
    assert pending["status"] == "pending" and pending["attempts"] == []

    result = load_handler("webhook_deliverer").lambda_handler(_sqs_event(messages[:1], queue_url),
                                                               LambdaContextStub())

    assert result == {"batchItemFailures": []}
    [request] = receiver.requests
    headers = {name.lower(): value for name, value in request.headers.items()}
    body = Webhook(subscription["secret"]).verify(request.body, headers)
    assert headers["webhook-id"] == pending["id"] and body["type"] == "execution.completed"
    assert body["data"]["id"] == execution_id and body["data"]["metadata"] == {"customer": "acme"}
    [done] = _deliveries(aws_stack, subscription["id"])
    assert done["status"] == "succeeded" and [a["status_code"] for a in done["attempts"]] == [200]
    # The duplicate message (the redelivered event enqueued it again) sends nothing more.
    load_handler("webhook_deliverer").lambda_handler(_sqs_event(messages[1:], queue_url), LambdaContextStub())
    assert len(receiver.requests) == 1 and _drain(queue_url) == []


def test_given_a_failing_receiver_when_delivered_then_the_attempt_is_logged_and_a_delayed_message_queued(
        stack: tuple[AwsStack, str], receiver: Receiver) -> None:
    aws_stack, queue_url = stack
    receiver.script(Reply(503, b"down for maintenance"))
    subscription = _subscribe(aws_stack, receiver.url("/docflow"))
    _, event = _completed_run(aws_stack)
    load_handler("webhook_fanout").lambda_handler(event, LambdaContextStub())

    result = load_handler("webhook_deliverer").lambda_handler(_sqs_event(_drain(queue_url), queue_url),
                                                               LambdaContextStub())

    assert result == {"batchItemFailures": []}  # a receiver's failure is not the handler's
    [delivery] = _deliveries(aws_stack, subscription["id"])
    assert delivery["status"] == "pending" and delivery["next_attempt_at"] is not None
    assert [a["status_code"] for a in delivery["attempts"]] == [503]
    assert "down for maintenance" in delivery["attempts"][0]["error"]
    sqs = boto3.client("sqs", region_name=REGION)
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "1"  # the next attempt, ~5 s out
    assert _drain(queue_url) == []


def test_given_a_record_that_cannot_be_handled_then_only_it_is_reported_failed(stack: tuple[AwsStack, str]) -> None:
    _, queue_url = stack
    good = {"MessageId": "m-ok", "ReceiptHandle": "r1", "Body": json.dumps(
        {"workspace_id": "default", "subscription_id": "whk_x", "delivery_id": "whd_gone", "attempt": 0})}
    bad = {"MessageId": "m-bad", "ReceiptHandle": "r2", "Body": "not json"}
    result = load_handler("webhook_deliverer").lambda_handler(_sqs_event([good, bad], queue_url), LambdaContextStub())
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-bad"}]}


# --- issue 11's end to end: the invoice template from a real PDF to a signed delivery and a Slack-format message

def _log(run: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(e["step_id"], e["type"], e["status"], e["branch"], e["summary"]) for e in run["execution_log"]]


def _signed(receiver: Receiver, path: str, secret: str) -> dict[str, Any]:
    [request] = [r for r in receiver.requests if r.path == path]
    return dict(Webhook(secret).verify(request.body, {k.lower(): v for k, v in request.headers.items()}))


def _local_run(tmp_path: Path, receiver: Receiver, pdf: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    settings = LocalSettings(data_dir=tmp_path / "data", host="127.0.0.1", port=0, workers=2, api_key=API_KEY,
                             outbound=OutboundSettings(allow=Allowlist.parse("127.0.0.1/32")))
    server = RunningServer(settings).start()
    try:
        api = Api(server.url, API_KEY)
        subscribed = api.post("/v1/webhooks", json={"url": receiver.url("/local-events"),
                                                    "events": ["execution.completed"]})
        assert subscribed.status_code == 201, subscribed.text
        run = run_template(api, "invoice", pdf, receiver.url("/local-erp"))
        deadline = time.monotonic() + 30
        while not any(r.path == "/local-events" for r in receiver.requests):
            assert time.monotonic() < deadline, "no signed delivery from local mode"
            time.sleep(0.05)
        return run, _signed(receiver, "/local-events", subscribed.json()["secret"])
    finally:
        server.stop()


def test_given_the_invoice_template_when_a_real_pdf_runs_locally_and_on_aws_then_both_deliver_signed_and_log_alike(
        stack: tuple[AwsStack, str], receiver: Receiver, tmp_path: Path) -> None:
    aws_stack, queue_url = stack
    corpus = CORPUS / "AmazonWebServices.pdf"
    pdf = corpus.read_bytes() if corpus.exists() else samples.invoice_pdf()

    events = _capture(aws_stack)
    subscription = _subscribe(aws_stack, receiver.url("/aws-events"))
    on_aws = run_template(StackApi(aws_stack, API_KEY), "invoice", pdf, receiver.url("/aws-erp"))
    completed = next(json.loads(m["Body"]) for m in _drain(events)
                     if json.loads(m["Body"])["detail-type"] == "execution.completed")
    load_handler("webhook_fanout").lambda_handler(completed, LambdaContextStub())
    result = load_handler("webhook_deliverer").lambda_handler(_sqs_event(_drain(queue_url), queue_url),
                                                               LambdaContextStub())
    assert result == {"batchItemFailures": []}
    aws_delivery = _signed(receiver, "/aws-events", subscription["secret"])

    local, local_delivery = _local_run(tmp_path, receiver, pdf)

    for run, delivery in ((on_aws, aws_delivery), (local, local_delivery)):
        assert delivery["type"] == "execution.completed" and delivery["data"]["id"] == run["id"]
        assert delivery["data"]["output"]["values"] == run["output"]["values"]
    assert _log(local) == _log(on_aws)
    assert local["output"]["values"] == on_aws["output"]["values"]
    messages = {r.path: json.loads(r.body) for r in receiver.requests if r.path.endswith("-erp")}
    assert messages["/aws-erp"]["text"] == messages["/local-erp"]["text"]
    for message in messages.values():  # a Slack incoming webhook takes it as it is
        assert message["blocks"] == [{"type": "section", "text": {"type": "mrkdwn", "text": message["text"]}}]
