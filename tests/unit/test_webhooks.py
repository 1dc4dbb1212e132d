"""Inbound webhooks (usecases/webhooks.py and the routes of api/routers/hooks.py + workflows.py):
Standard Webhooks verification, replay, limits, and a secret that is shown once. The stores are
the real SQLite adapters in a temporary folder; the launcher only records what it was handed."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from docflow_testing import EVENTS, INVOICE_WORKFLOW, LambdaContextStub
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
from docflow.adapters.local.sqlite_webhooks import SqliteWebhookSecretRepository
from docflow.api.app import error_response
from docflow.api.routers import hooks, workflows
from docflow.domain.clock import utc_now
from docflow.domain.errors import (
    Conflict,
    DocflowError,
    IdempotencyKeyReused,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    ValidationFailed,
)
from docflow.domain.limits import Limits
from docflow.domain.models import Document, DocumentStatus, Execution, Workflow
from docflow.domain.webhooks import ROTATION_GRACE, WebhookSecret
from docflow.ports import Ports
from docflow.usecases import webhooks as webhook_cases
from docflow.usecases import workflows as workflow_cases

WS = "ws_hooks"


@dataclass
class RecordingLauncher:
    launched: list[Execution] = field(default_factory=list)

    def launch(self, execution: Execution) -> None:
        self.launched.append(execution)

    def cancel(self, execution: Execution) -> None:
        raise AssertionError("no run is canceled here")


@dataclass
class World:
    ports: Ports
    launcher: RecordingLauncher
    workflow: Workflow
    secret: WebhookSecret
    document_id: str


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    db = SqliteDatabase(tmp_path / "docflow.sqlite3")
    blobs = LocalBlobStore(tmp_path / "files", "http://127.0.0.1:8080", b"unit-test-secret-32-bytes-long!!")
    launcher = RecordingLauncher()
    ports = Ports(keys=SqliteApiKeyRepository(db), workflows=SqliteWorkflowRepository(db),
                  documents=SqliteDocumentRepository(db), executions=SqliteExecutionRepository(db, blobs),
                  blobs=blobs, events=InProcessEventBus(), launcher=launcher,
                  limits=Limits(max_webhook_bytes=4096), compute=InlineCompute(),
                  webhook_secrets=SqliteWebhookSecretRepository(db))
    workflow = workflow_cases.create_workflow(ports.workflows, WS, {**INVOICE_WORKFLOW, "trigger_type": "webhook"})
    secret = webhook_cases.issue_secret(ports, workflow)
    assert secret is not None
    document = Document(workspace_id=WS, name="a.pdf", content_type="application/pdf", size=10,
                        status=DocumentStatus.UPLOADED, storage_key=f"documents/{WS}/a",
                        upload_expires_at=utc_now())
    ports.documents.add(document)
    try:
        yield World(ports, launcher, workflow, secret, document.id)
    finally:
        db.close()


def signed(secret: str, body: bytes, message_id: str = "msg_1", at: datetime | None = None) -> dict[str, str]:
    """The sender's side, with the standardwebhooks library."""
    at = at or utc_now()
    signature = Webhook(secret).sign(message_id, at, body.decode())
    return {"webhook-id": message_id, "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signature}


def body_of(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def error_of(exc: pytest.ExceptionInfo[DocflowError]) -> tuple[int, str, str]:
    return exc.value.status, exc.value.code, exc.value.message


# --- the secret -----------------------------------------------------------------------------------

def test_given_a_new_secret_then_it_is_whsec_and_base64_of_32_random_bytes() -> None:
    one, two = WebhookSecret.issue(WS, "wf_1", utc_now()), WebhookSecret.issue(WS, "wf_1", utc_now())
    assert one.secret.startswith("whsec_") and one.secret != two.secret
    assert len(base64.b64decode(one.secret.removeprefix("whsec_"), validate=True)) == 32
    assert one.prefix == one.secret[:12] and len(one.prefix) == 12


def test_given_a_rotated_secret_then_the_previous_one_is_valid_for_the_grace_period_only() -> None:
    now = utc_now()
    first = WebhookSecret.issue(WS, "wf_1", now)
    second = first.rotated(now)
    assert second.version == 2 and second.secret != first.secret
    assert second.valid_secrets(now + ROTATION_GRACE - timedelta(seconds=1)) == [second.secret, first.secret]
    assert second.valid_secrets(now + ROTATION_GRACE) == [second.secret]
    # A second rotation drops the first secret at once: only one previous secret is kept.
    assert first.secret not in second.rotated(now).valid_secrets(now)


# --- verification ---------------------------------------------------------------------------------

def test_given_a_good_signature_when_verified_then_the_webhook_id_comes_back() -> None:
    secret = WebhookSecret.issue(WS, "wf_1", utc_now()).secret
    body = body_of(document_id="doc_1")
    assert webhook_cases.verify_signature([secret], body, signed(secret, body), utc_now()) == "msg_1"


def test_given_header_names_in_any_case_when_verified_then_they_are_found() -> None:
    secret = WebhookSecret.issue(WS, "wf_1", utc_now()).secret
    body = body_of(a=1)
    headers = {name.title(): value for name, value in signed(secret, body).items()}
    assert set(headers) == {"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"}
    assert webhook_cases.verify_signature([secret], body, headers, utc_now()) == "msg_1"


@pytest.mark.parametrize("change", ["other secret", "other body", "other id", "other timestamp"])
def test_given_a_signature_that_does_not_match_when_verified_then_401_invalid_signature(change: str) -> None:
    secret, other = (WebhookSecret.issue(WS, "wf_1", utc_now()).secret for _ in range(2))
    body = body_of(a=1)
    headers = signed(other if change == "other secret" else secret, body)
    if change == "other body":
        body = body_of(a=2)
    elif change == "other id":
        headers["webhook-id"] = "msg_2"
    elif change == "other timestamp":
        headers["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) - 1)
    with pytest.raises(Unauthorized) as raised:
        webhook_cases.verify_signature([secret], body, headers, utc_now())
    assert error_of(raised)[:2] == (401, "invalid_signature")


@pytest.mark.parametrize("signature", ["garbage", "v1,not*base64", "v1,", "v2,abc", "v1,a,b", "v1,YWJj  v1,YWJj"])
def test_given_a_malformed_signature_when_verified_then_401_not_a_crash(signature: str) -> None:
    secret = WebhookSecret.issue(WS, "wf_1", utc_now()).secret
    body = body_of(a=1)
    headers = {**signed(secret, body), "webhook-signature": signature}
    with pytest.raises(Unauthorized) as raised:
        webhook_cases.verify_signature([secret], body, headers, utc_now())
    assert raised.value.code == "invalid_signature"


def test_given_several_signatures_when_one_matches_then_it_is_accepted() -> None:
    """Standard Webhooks lets a sender sign with several secrets (space-separated), e.g. while rotating."""
    secret, other = (WebhookSecret.issue(WS, "wf_1", utc_now()).secret for _ in range(2))
    body = body_of(a=1)
    headers = signed(secret, body)
    headers["webhook-signature"] = signed(other, body)["webhook-signature"] + " " + headers["webhook-signature"]
    assert webhook_cases.verify_signature([secret], body, headers, utc_now()) == "msg_1"


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_given_a_missing_header_when_verified_then_401_naming_it(missing: str) -> None:
    secret = WebhookSecret.issue(WS, "wf_1", utc_now()).secret
    body = body_of(a=1)
    headers = {k: v for k, v in signed(secret, body).items() if k != missing}
    with pytest.raises(Unauthorized) as raised:
        webhook_cases.verify_signature([secret], body, headers, utc_now())
    assert raised.value.code == "invalid_signature" and missing in raised.value.message


@pytest.mark.parametrize("offset", [timedelta(minutes=-6), timedelta(minutes=6), timedelta(days=-1)])
def test_given_a_timestamp_outside_five_minutes_when_verified_then_401_stale(offset: timedelta) -> None:
    """Past and future alike: a captured request cannot be replayed once its window has passed."""
    secret = WebhookSecret.issue(WS, "wf_1", utc_now()).secret
    body = body_of(a=1)
    headers = signed(secret, body, at=utc_now() + offset)  # correctly signed, at another time
    with pytest.raises(Unauthorized) as raised:
        webhook_cases.verify_signature([secret], body, headers, utc_now())
    assert raised.value.code == "stale_timestamp" and "stale" in raised.value.message


@pytest.mark.parametrize("offset", [timedelta(minutes=-4), timedelta(minutes=4)])
def test_given_a_timestamp_within_five_minutes_when_verified_then_it_is_accepted(offset: timedelta) -> None:
    secret = WebhookSecret.issue(WS, "wf_1", utc_now()).secret
    body = body_of(a=1)
    assert webhook_cases.verify_signature([secret], body, signed(secret, body, at=utc_now() + offset), utc_now())


def test_given_a_timestamp_that_is_not_unix_seconds_then_401() -> None:
    secret = WebhookSecret.issue(WS, "wf_1", utc_now()).secret
    body = body_of(a=1)
    headers = {**signed(secret, body), "webhook-timestamp": "yesterday"}
    with pytest.raises(Unauthorized) as raised:
        webhook_cases.verify_signature([secret], body, headers, utc_now())
    assert raised.value.code == "invalid_signature" and "unix seconds" in raised.value.message


# --- deliveries -----------------------------------------------------------------------------------

def test_given_a_signed_delivery_then_one_webhook_run_on_the_body(world: World) -> None:
    body = body_of(document_id=world.document_id, order={"id": 7, "total": 12.5})
    started = webhook_cases.receive_webhook(world.ports, world.workflow.id, body, signed(world.secret.secret, body))
    run = started.execution
    assert not started.replayed
    assert run.trigger_method == "webhook" and run.trigger_data == json.loads(body)
    assert run.documents == [world.document_id] and run.workspace_id == WS
    assert [e.id for e in world.launcher.launched] == [run.id]


def test_given_document_ids_in_the_body_then_the_run_has_them_all(world: World) -> None:
    body = body_of(document_ids=[world.document_id])
    started = webhook_cases.receive_webhook(world.ports, world.workflow.id, body, signed(world.secret.secret, body))
    assert started.execution.documents == [world.document_id]


def test_given_the_same_webhook_id_again_then_the_first_run_and_nothing_started(world: World) -> None:
    body = body_of(document_id=world.document_id)
    first = webhook_cases.receive_webhook(world.ports, world.workflow.id, body, signed(world.secret.secret, body))
    # A redelivery is signed again (new timestamp) but carries the same message id and body.
    again = webhook_cases.receive_webhook(world.ports, world.workflow.id, body,
                                          signed(world.secret.secret, body, at=utc_now() - timedelta(seconds=30)))
    assert again.replayed and again.execution.id == first.execution.id
    runs = world.ports.executions.list_for_workflow(WS, world.workflow.id, None, 10, None).items
    assert [r.id for r in runs] == [first.execution.id]


def test_given_the_same_webhook_id_with_another_body_then_422_naming_webhook_id(world: World) -> None:
    body = body_of(document_id=world.document_id)
    webhook_cases.receive_webhook(world.ports, world.workflow.id, body, signed(world.secret.secret, body))
    other = body_of(document_id=world.document_id, note="changed")
    with pytest.raises(IdempotencyKeyReused) as raised:
        webhook_cases.receive_webhook(world.ports, world.workflow.id, other, signed(world.secret.secret, other))
    assert raised.value.details[0]["loc"] == ["header", "webhook-id"]
    assert len(world.launcher.launched) == 1


def test_given_a_body_over_the_limit_then_413_before_the_signature_is_looked_at(world: World) -> None:
    body = body_of(document_id=world.document_id, pad="x" * 5000)
    with pytest.raises(PayloadTooLarge):
        webhook_cases.receive_webhook(world.ports, world.workflow.id, body, {})  # unsigned: size comes first
    with pytest.raises(PayloadTooLarge):
        webhook_cases.receive_webhook(world.ports, world.workflow.id, body, signed(world.secret.secret, body))
    assert world.launcher.launched == []


def test_given_a_signed_body_that_is_not_a_json_object_then_422(world: World) -> None:
    for body in (b"[1, 2]", b'"text"', b"not json", b"null"):
        with pytest.raises(ValidationFailed) as raised:
            webhook_cases.receive_webhook(world.ports, world.workflow.id, body, signed(world.secret.secret, body))
        assert raised.value.details == [{"loc": ["body"], "msg": "not a JSON object"}]


def test_given_an_unsigned_body_that_is_not_json_then_401_not_422(world: World) -> None:
    with pytest.raises(Unauthorized):
        webhook_cases.receive_webhook(world.ports, world.workflow.id, b"[1]", {})


@pytest.mark.parametrize(("fields", "named"), [({}, "document_id"), ({"document_id": 5}, "document_id"),
                                               ({"document_ids": "doc_1"}, "document_ids"),
                                               ({"document_ids": []}, "document_id")])
def test_given_no_usable_document_id_then_422_naming_the_field(world: World, fields: dict[str, Any],
                                                               named: str) -> None:
    body = body_of(**fields)
    with pytest.raises(ValidationFailed) as raised:
        webhook_cases.receive_webhook(world.ports, world.workflow.id, body, signed(world.secret.secret, body))
    assert raised.value.details[0]["loc"] == ["body", named]


def test_given_an_unknown_or_a_non_webhook_workflow_then_the_same_404(world: World) -> None:
    manual = workflow_cases.create_workflow(world.ports.workflows, WS, INVOICE_WORKFLOW)
    body = body_of(document_id=world.document_id)
    answers = []
    for workflow_id in ("wf_unknown", manual.id):
        with pytest.raises(NotFound) as raised:
            webhook_cases.receive_webhook(world.ports, workflow_id, body, signed(world.secret.secret, body))
        answers.append(raised.value.message.replace(workflow_id, "<id>"))
    assert answers[0] == answers[1]


def test_given_a_webhook_workflow_without_a_secret_then_every_delivery_is_401(world: World) -> None:
    world.ports.webhook_secrets.delete(WS, world.workflow.id)
    body = body_of(document_id=world.document_id)
    with pytest.raises(Unauthorized):
        webhook_cases.receive_webhook(world.ports, world.workflow.id, body, signed(world.secret.secret, body))


def test_given_a_rotation_then_old_and_new_secret_sign_during_the_grace_period(world: World) -> None:
    rotated = webhook_cases.rotate_secret(world.ports, WS, world.workflow.id)
    assert rotated.secret != world.secret.secret and rotated.previous_secret == world.secret.secret
    for index, secret in enumerate((rotated.secret, world.secret.secret)):
        body = body_of(document_id=world.document_id, n=index)
        headers = signed(secret, body, message_id=f"msg_{index}")
        assert webhook_cases.receive_webhook(world.ports, world.workflow.id, body, headers).execution


def test_given_a_disabled_webhook_workflow_then_409(world: World) -> None:
    workflow_cases.replace_workflow(world.ports.workflows, WS, world.workflow.id,
                                    {**INVOICE_WORKFLOW, "trigger_type": "webhook", "enabled": False})
    body = body_of(document_id=world.document_id)
    with pytest.raises(Conflict):
        webhook_cases.receive_webhook(world.ports, world.workflow.id, body, signed(world.secret.secret, body))


def test_given_a_manual_workflow_when_rotating_then_409_saying_it_is_not_a_webhook_workflow(world: World) -> None:
    manual = workflow_cases.create_workflow(world.ports.workflows, WS, INVOICE_WORKFLOW)
    with pytest.raises(Conflict) as raised:
        webhook_cases.rotate_secret(world.ports, WS, manual.id)
    assert "trigger_type 'webhook'" in raised.value.message


# --- the routes: the secret is shown once --------------------------------------------------------

class Client:
    """The workflows and hooks routers in one resolver, called with API Gateway events."""

    def __init__(self, ports: Ports) -> None:
        self.app = APIGatewayHttpResolver(enable_validation=True)
        self.app.include_router(workflows.build(ports))
        self.app.include_router(hooks.build(ports))

        @self.app.exception_handler(DocflowError)
        def mapped(exc: DocflowError) -> Response[Any]:
            return error_response(exc)

    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
             headers: dict[str, str] | None = None, workspace: str | None = WS) -> tuple[int, Any, dict[str, str]]:
        event = json.loads((EVENTS / "http_api_request.json").read_text())
        text = raw.decode() if raw is not None else (json.dumps(body) if body is not None else None)
        all_headers = {"content-type": "application/json", **(headers or {})}
        event.update({"rawPath": path, "body": text, "headers": all_headers})
        event["requestContext"]["http"].update({"method": method, "path": path})
        if workspace is not None:
            event["requestContext"]["authorizer"] = {"lambda": {"workspace_id": workspace, "key_id": "key_1"}}
        result = self.app.resolve(event, LambdaContextStub())
        payload = json.loads(result["body"]) if result.get("body") else None
        return int(result["statusCode"]), payload, dict(result.get("headers") or {})


def test_given_a_webhook_workflow_when_created_then_its_secret_is_shown_once_and_reads_show_a_prefix(
        world: World) -> None:
    client = Client(world.ports)
    status, created, _ = client.call("POST", "/v1/workflows", {**INVOICE_WORKFLOW, "trigger_type": "webhook"})
    assert status == 201, created
    secret = created["webhook_secret"]
    assert secret.startswith("whsec_") and created["webhook_secret_prefix"] == secret[:12]
    status, read, _ = client.call("GET", f"/v1/workflows/{created['id']}")
    assert status == 200 and read["webhook_secret"] is None and read["webhook_secret_prefix"] == secret[:12]
    listed = client.call("GET", "/v1/workflows")[1]["items"]
    assert secret not in json.dumps(listed)
    assert {w["id"]: w["webhook_secret_prefix"] for w in listed}[created["id"]] == secret[:12]
    # A GET body PUT back is accepted (read-only fields ignored) and shows no secret.
    status, replaced, _ = client.call("PUT", f"/v1/workflows/{created['id']}", read)
    assert status == 200, replaced
    assert replaced["webhook_secret"] is None and replaced["webhook_secret_prefix"] == secret[:12]


def test_given_a_manual_workflow_when_put_as_webhook_then_the_secret_is_shown_once(world: World) -> None:
    client = Client(world.ports)
    created = client.call("POST", "/v1/workflows", INVOICE_WORKFLOW)[1]
    assert created["webhook_secret"] is None and created["webhook_secret_prefix"] is None
    path = f"/v1/workflows/{created['id']}"
    first = client.call("PUT", path, {**INVOICE_WORKFLOW, "trigger_type": "webhook"})[1]
    assert first["webhook_secret"].startswith("whsec_")
    second = client.call("PUT", path, {**INVOICE_WORKFLOW, "trigger_type": "webhook", "name": "again"})[1]
    assert second["webhook_secret"] is None and second["webhook_secret_prefix"] == first["webhook_secret"][:12]


def test_given_a_webhook_workflow_when_rotated_then_201_with_the_new_secret_and_hooks_accept_it(
        world: World) -> None:
    client = Client(world.ports)
    status, rotated, _ = client.call("POST", f"/v1/workflows/{world.workflow.id}/webhook-secret")
    assert status == 201, rotated
    assert set(rotated) == {"workflow_id", "secret", "secret_prefix", "created_at", "previous_valid_until"}
    assert rotated["workflow_id"] == world.workflow.id and rotated["secret_prefix"] == rotated["secret"][:12]
    assert rotated["secret"] != world.secret.secret
    read = client.call("GET", f"/v1/workflows/{world.workflow.id}")[1]
    assert read["webhook_secret_prefix"] == rotated["secret_prefix"]

    body = body_of(document_id=world.document_id)
    headers = {k.upper(): v for k, v in signed(rotated["secret"], body).items()}
    status, run, response_headers = client.call("POST", f"/v1/hooks/{world.workflow.id}", raw=body,
                                                headers=headers, workspace=None)
    assert status == 202, run
    assert run["trigger_method"] == "webhook" and "Idempotent-Replayed" not in response_headers
    status, again, response_headers = client.call("POST", f"/v1/hooks/{world.workflow.id}", raw=body,
                                                  headers=headers, workspace=None)
    assert (status, again["id"], response_headers.get("Idempotent-Replayed")) == (202, run["id"], "true")


def test_given_a_manual_workflow_when_rotated_over_http_then_409(world: World) -> None:
    client = Client(world.ports)
    manual = client.call("POST", "/v1/workflows", INVOICE_WORKFLOW)[1]
    status, error, _ = client.call("POST", f"/v1/workflows/{manual['id']}/webhook-secret")
    assert status == 409 and "webhook" in error["error"]["message"]


def test_given_a_deleted_workflow_then_its_secret_is_gone(world: World) -> None:
    client = Client(world.ports)
    assert client.call("DELETE", f"/v1/workflows/{world.workflow.id}")[0] == 204
    assert world.ports.webhook_secrets.get(WS, world.workflow.id) is None
