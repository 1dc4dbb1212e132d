"""Inbound webhooks: `POST /v1/hooks/{workflow_id}` (signed, no API key) and the rotation of a
workflow's signing secret."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Header

from docflow.api.bodies import raw_body
from docflow.api.context import workspace_of
from docflow.api.openapi import PROTECTED, responses
from docflow.api.params import WorkflowId
from docflow.api.schemas import ExecutionOut
from docflow.api.schemas_webhooks import WebhookSecretOut
from docflow.ports import Ports
from docflow.usecases import webhooks as webhook_cases

TAGS = ["webhooks"]
# Its body is read only after the signature is checked, so api/app.py documents it.
RECEIVE_OPERATION = "receiveWebhook"
REPLAYED_HEADER = "Idempotent-Replayed"

_RECEIVE_DESCRIPTION = (
    "Starts a run of a workflow with trigger_type `webhook`. Signed per Standard Webhooks with the workflow's "
    "secret: `webhook-signature: v1,<base64 HMAC-SHA256 of '<webhook-id>.<webhook-timestamp>.<body>'>`, "
    "timestamp within 5 minutes. The JSON object body becomes the run's `trigger_data`; its `document_id` "
    "(or `document_ids`) names the uploaded documents. A redelivery with the same `webhook-id` and body starts "
    "nothing and answers the first run with the header `Idempotent-Replayed: true`.")


def build(ports: Ports) -> Router:
    router = Router()

    # The webhook-* header parameters are declared for the OpenAPI document only (optional and
    # unconstrained: a request without them must get the webhook's 401, not a 422); the use-case
    # reads the headers from the event, case-insensitively, after the size check.
    @router.post("/v1/hooks/<workflow_id>", status_code=202, operation_id=RECEIVE_OPERATION,
                 summary="Receive a signed webhook: start a run (no API key)", description=_RECEIVE_DESCRIPTION,
                 tags=TAGS, responses=responses(202, ExecutionOut, 401, 404, 409, 413, 415, 422, 429, protected=False,
                                                description="Accepted (or replayed: Idempotent-Replayed: true)"))
    def receive_webhook(workflow_id: WorkflowId,
                        webhook_id: Annotated[str | None, Header(alias="webhook-id", description="Message id")] = None,
                        webhook_timestamp: Annotated[str | None, Header(
                            alias="webhook-timestamp", description="Unix seconds of the signature")] = None,
                        webhook_signature: Annotated[str | None, Header(
                            alias="webhook-signature", description="`v1,<base64>`, space-separated")] = None,
                        ) -> Response[ExecutionOut]:
        event = router.current_event
        body = raw_body(event)  # the exact bytes the signature covers
        started = webhook_cases.receive_webhook(ports, workflow_id, body, dict(event.headers or {}))
        headers = {REPLAYED_HEADER: "true"} if started.replayed else None
        return Response(202, content_types.APPLICATION_JSON, ExecutionOut.of(started.execution), headers=headers)

    @router.post("/v1/workflows/<workflow_id>/webhook-secret", status_code=201, operation_id="rotateWebhookSecret",
                 summary="Rotate a webhook workflow's signing secret (the previous one stays valid 24 hours)",
                 tags=TAGS, security=PROTECTED, responses=responses(201, WebhookSecretOut, 404, 409))
    def rotate_webhook_secret(workflow_id: WorkflowId) -> WebhookSecretOut:
        return WebhookSecretOut.of(webhook_cases.rotate_secret(ports, workspace_of(router), workflow_id))

    return router
