"""Inbound webhooks (Standard Webhooks): signing secrets, verification, and the start of a run.

A delivery is `POST /v1/hooks/{workflow_id}` with the headers `webhook-id`, `webhook-timestamp`
and `webhook-signature` (HMAC-SHA256 of `<id>.<timestamp>.<body>` with the workflow's secret).
Verified deliveries start a run through `start_execution` with the idempotency key
`webhook:<webhook-id>`, so a redelivery of the same message replays the first run."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from docflow.domain.clock import utc_now
from docflow.domain.errors import (
    Conflict,
    IdempotencyKeyReused,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    ValidationFailed,
)
from docflow.domain.models import Workflow
from docflow.domain.webhooks import WebhookSecret
from docflow.ports import Ports
from docflow.usecases.executions import Started, StartRequest, start_execution

# The tolerance of the standardwebhooks library (and of the specification's reference code).
TIMESTAMP_TOLERANCE = timedelta(minutes=5)
REQUIRED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
MAX_DOCUMENTS = 50


# --- signing secrets -----------------------------------------------------------------------

def issue_secret(ports: Ports, workflow: Workflow) -> WebhookSecret | None:
    """A first secret for a webhook workflow that has none, to show once; None otherwise
    (not a webhook workflow, or its secret exists: that one is never shown again)."""
    if workflow.trigger_type != "webhook":
        return None
    if ports.webhook_secrets.get(workflow.workspace_id, workflow.id) is not None:
        return None
    secret = WebhookSecret.issue(workflow.workspace_id, workflow.id, utc_now())
    try:
        ports.webhook_secrets.put(secret)
    except Conflict:
        return None  # a concurrent request issued it (and showed it)
    return secret


def rotate_secret(ports: Ports, workspace_id: str, workflow_id: str) -> WebhookSecret:
    """A new secret replaces the current one; the previous stays valid for ROTATION_GRACE."""
    workflow = ports.workflows.get(workspace_id, workflow_id)
    if workflow.trigger_type != "webhook":
        raise Conflict(f"workflow {workflow_id} has trigger_type '{workflow.trigger_type}': only a workflow with "
                       "trigger_type 'webhook' has a signing secret (PUT the workflow with it first)")
    current = ports.webhook_secrets.get(workspace_id, workflow_id)
    now = utc_now()
    secret = current.rotated(now) if current is not None else WebhookSecret.issue(workspace_id, workflow_id, now)
    ports.webhook_secrets.put(secret)
    return secret


def current_secret(ports: Ports, workflow: Workflow) -> WebhookSecret | None:
    """The stored secret of a webhook workflow (for its prefix on reads)."""
    if workflow.trigger_type != "webhook":
        return None
    return ports.webhook_secrets.get(workflow.workspace_id, workflow.id)


def forget_secret(ports: Ports, workspace_id: str, workflow_id: str) -> None:
    ports.webhook_secrets.delete(workspace_id, workflow_id)


# --- deliveries ----------------------------------------------------------------------------

def receive_webhook(ports: Ports, workflow_id: str, body: bytes, headers: Mapping[str, str]) -> Started:
    """Checks size, then the workflow, then the signature, and only then reads the body."""
    limit = ports.limits.max_webhook_bytes
    if len(body) > limit:
        raise PayloadTooLarge(f"webhook body is {len(body)} bytes, over the {limit} byte limit")
    workflow, secret = _webhook_workflow(ports, workflow_id)
    message_id = verify_signature(secret.valid_secrets(utc_now()) if secret else [], body, headers, utc_now())
    trigger_data = _json_object(body)
    request = StartRequest(document_ids=_document_ids(trigger_data), trigger_data=trigger_data,
                           trigger_method="webhook", idempotency_key=f"webhook:{message_id}",
                           fingerprint=hashlib.sha256(body).hexdigest())
    try:
        return start_execution(ports, workflow.workspace_id, workflow.id, request)
    except IdempotencyKeyReused as exc:
        raise IdempotencyKeyReused(
            f"webhook-id {message_id} was already delivered with another body; a new message needs a new webhook-id",
            details=[{"loc": ["header", "webhook-id"], "msg": "already used for a different body"}]) from exc


def _webhook_workflow(ports: Ports, workflow_id: str) -> tuple[Workflow, WebhookSecret | None]:
    """The workflow and its secret. Unknown, and not a webhook workflow, get the same 404."""
    unknown = NotFound(f"no webhook workflow {workflow_id}")
    workspace_id = ports.workflows.find_workspace(workflow_id)
    if workspace_id is None:
        raise unknown
    try:
        workflow = ports.workflows.get(workspace_id, workflow_id)
    except NotFound:
        raise unknown from None
    if workflow.trigger_type != "webhook":
        raise unknown
    return workflow, ports.webhook_secrets.get(workspace_id, workflow_id)


def verify_signature(secrets: list[str], body: bytes, headers: Mapping[str, str], now: datetime) -> str:
    """The verified `webhook-id`. Header names are case-insensitive (API Gateway lower-cases them)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    missing = [name for name in REQUIRED_HEADERS if not lowered.get(name)]
    if missing:
        raise _invalid(f"missing header {', '.join(missing)}: sign the request per Standard Webhooks")
    _check_timestamp(lowered["webhook-timestamp"], now)
    for secret in secrets:
        try:
            Webhook(secret).verify(body, lowered, json_parse=False)
        except WebhookVerificationError as exc:
            if str(exc).startswith("Message timestamp"):  # the library's own clock, a moment later
                raise _stale(lowered["webhook-timestamp"], now) from exc
            continue
        except ValueError:  # a malformed signature list or base64 (binascii.Error is a ValueError)
            continue
        return lowered["webhook-id"]
    raise _invalid("webhook-signature does not match: sign `<webhook-id>.<webhook-timestamp>.<body>` "
                   "with the workflow's signing secret")


def _check_timestamp(header: str, now: datetime) -> None:
    try:
        sent = datetime.fromtimestamp(int(header), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise _invalid("webhook-timestamp must be unix seconds") from None
    if abs(sent - now) > TIMESTAMP_TOLERANCE:
        raise _stale(header, now)


def _invalid(message: str) -> Unauthorized:
    return Unauthorized(message, code="invalid_signature")


def _stale(header: str, now: datetime) -> Unauthorized:
    minutes = int(TIMESTAMP_TOLERANCE.total_seconds() // 60)
    return Unauthorized(f"webhook-timestamp {header} is stale: it must be within {minutes} minutes of the "
                        f"server's time ({int(now.timestamp())})", code="stale_timestamp")


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ValidationFailed("the webhook body must be a JSON object (it becomes the run's trigger_data)",
                               details=[{"loc": ["body"], "msg": "not a JSON object"}])
    return value


def _document_ids(trigger_data: dict[str, Any]) -> list[str]:
    """The run's documents: `document_id` and/or `document_ids` of the body (uploaded before)."""
    single, several = trigger_data.get("document_id"), trigger_data.get("document_ids")
    if single is not None and not isinstance(single, str):
        raise _field_error("document_id", "must be a string (a document id)")
    if several is not None and (not isinstance(several, list) or not all(isinstance(d, str) for d in several)
                                or len(several) > MAX_DOCUMENTS):
        raise _field_error("document_ids", f"must be a list of at most {MAX_DOCUMENTS} document ids")
    ids = list(several or [])
    if single is not None and single not in ids:
        ids.insert(0, single)
    if not ids:
        raise _field_error("document_id", "required: the id of an uploaded document (or document_ids)")
    return ids


def _field_error(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"body.{name}: {message}", details=[{"loc": ["body", name], "msg": message}])
