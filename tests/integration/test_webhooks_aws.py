"""Inbound webhooks on the AWS handlers under moto: API Gateway lets `POST /v1/hooks/{workflow_id}`
through without the authorizer (Auth: Authorizer: NONE), the API function verifies the Standard
Webhooks signature (made here with the standardwebhooks library) and the state machine runs it."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from docflow_testing import API_KEY, INVOICE_WORKFLOW, AwsStack, StackApi, invoice_pdf
from standardwebhooks import Webhook

from docflow.domain.clock import utc_now
from docflow.runtime import aws
from docflow.usecases.keys import ensure_key


@pytest.fixture
def stack(aws_stack: AwsStack) -> AwsStack:
    ensure_key(aws.ports().keys, API_KEY)
    return aws_stack


def deliver(stack: AwsStack, workflow_id: str, payload: dict[str, Any], message_id: str,
            secret: str | None, minutes_ago: int = 0) -> tuple[int, Any]:
    """Signed over the exact text `stack.http` sends (json.dumps of the payload); header names as
    API Gateway passes them on: lower case."""
    text = json.dumps(payload)
    at = utc_now() - timedelta(minutes=minutes_ago)
    headers = {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp()))}
    if secret is not None:
        headers["webhook-signature"] = Webhook(secret).sign(message_id, at, text)
    return stack.http("POST", f"/v1/hooks/{workflow_id}", key=None, body=payload, headers=headers)


def test_given_a_signed_webhook_on_aws_then_one_run_and_a_redelivery_replays(stack: AwsStack) -> None:
    status, created = stack.http("POST", "/v1/workflows", body={**INVOICE_WORKFLOW, "trigger_type": "webhook"})
    assert status == 201, created
    workflow_id = created["id"]
    status, rotated = stack.http("POST", f"/v1/workflows/{workflow_id}/webhook-secret")
    assert status == 201, rotated
    secret = rotated["secret"]
    stored = aws.ports().webhook_secrets.get(created["workspace_id"], workflow_id)
    assert stored is not None and stored.secret == secret  # in the table, workspace-first
    document_id = StackApi(stack, API_KEY).upload("invoice.pdf", invoice_pdf())
    payload = {"document_id": document_id, "event": "invoice.received"}

    status, run = deliver(stack, workflow_id, payload, "msg_aws_1", secret)
    assert status == 202, run
    assert run["trigger_method"] == "webhook" and run["trigger_data"] == payload
    status, again = deliver(stack, workflow_id, payload, "msg_aws_1", secret)
    assert (status, again["id"]) == (202, run["id"])

    assert stack.wait_sfn(run["id"])["status"] == "SUCCEEDED"
    status, runs = stack.http("GET", f"/v1/workflows/{workflow_id}/executions")
    assert status == 200 and [r["id"] for r in runs["items"]] == [run["id"]]
    assert runs["items"][0]["status"] == "completed"


def test_given_unsigned_stale_or_oversized_webhooks_on_aws_then_refused(stack: AwsStack) -> None:
    status, created = stack.http("POST", "/v1/workflows", body={**INVOICE_WORKFLOW, "trigger_type": "webhook"})
    workflow_id = created["id"]
    secret = stack.http("POST", f"/v1/workflows/{workflow_id}/webhook-secret")[1]["secret"]
    payload = {"document_id": "doc_x"}

    status, error = deliver(stack, workflow_id, payload, "msg_1", None)
    assert (status, error["error"]["code"]) == (401, "invalid_signature")
    status, error = deliver(stack, workflow_id, payload, "msg_2", secret, minutes_ago=6)
    assert (status, error["error"]["code"]) == (401, "stale_timestamp")
    status, error = deliver(stack, workflow_id, {**payload, "pad": "x" * (1024 * 1024)}, "msg_3", secret)
    assert (status, error["error"]["code"]) == (413, "payload_too_large")
    status, error = deliver(stack, "wf_unknown", payload, "msg_4", secret)
    assert status == 404


def test_given_the_template_then_the_hooks_route_skips_the_authorizer_as_is_public_says() -> None:
    """API Gateway and local mode agree on which routes need no API key."""
    from docflow_testing import template_resources

    from docflow.api.app import is_public

    events = template_resources()["ApiFunction"]["Properties"]["Events"]
    open_routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in events.values()
                   if e["Properties"].get("Auth", {}).get("Authorizer") == "NONE"}
    assert ("POST", "/v1/hooks/{workflow_id}") in open_routes
    assert all(is_public(path.replace("{workflow_id}", "wf_1")) for _, path in open_routes)
