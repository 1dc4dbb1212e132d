"""The `integration` step in local mode over real HTTP: a webhook and a Slack incoming webhook
(a local receiver records them), e-mail through a real SMTP server (aiosmtpd) and through the
outbox folder, transient failures retried with backoff, permanent ones failing the step."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from docflow_testing import API_KEY, INVOICE_FIELDS, Api, invoice_pdf
from receiver import Receiver, Reply

from docflow.adapters.http_out import OutboundSettings
from docflow.adapters.local.mail import SmtpSettings
from docflow.domain.limits import Limits
from docflow.domain.ssrf import Allowlist
from docflow.runtime.local.server import RunningServer
from docflow.runtime.settings import LocalSettings

pytestmark = pytest.mark.e2e


class _Inbox:
    """aiosmtpd handler: keeps every message it is handed."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[_Inbox, int]]:
    inbox = _Inbox()
    with socket.socket() as probe:  # aiosmtpd checks it is up by connecting to its port: name one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _server(tmp_path: Path, smtp_port: int | None = None) -> RunningServer:
    settings = LocalSettings(
        data_dir=tmp_path / "data", host="127.0.0.1", port=0, workers=2, api_key=API_KEY,
        limits=Limits(network_retry_attempts=3, network_retry_base_ms=20),
        outbound=OutboundSettings(allow=Allowlist.parse("127.0.0.1/32")),  # the receiver is local
        smtp=SmtpSettings(host="127.0.0.1", port=smtp_port) if smtp_port else None)
    return RunningServer(settings).start()


def _workflow(api: Api, template: str | None = None) -> str:
    steps: list[dict[str, Any]] = [{"id": "parse", "type": "parse"},
                                   {"id": "extract", "type": "extract", "config": {"fields": INVOICE_FIELDS}},
                                   {"id": "notify", "type": "integration",
                                    "config": {"integration_id": "int_later",
                                               **({"template": template} if template else {})}}]
    created = api.post("/v1/workflows", json={"name": "notify", "definition": {"steps": steps}})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _connect(api: Api, workflow_id: str, integration_type: str, config: dict[str, Any]) -> None:
    """Creates the integration after the workflow, as the seed does, and points the step at it."""
    made = api.post("/v1/workflows/integrations", json={"workflow_id": workflow_id, "name": integration_type,
                                                        "integration_type": integration_type, "config": config})
    assert made.status_code == 201, made.text
    workflow = api.get(f"/v1/workflows/{workflow_id}").json()
    workflow["definition"]["steps"][2]["config"]["integration_id"] = made.json()["id"]
    assert api.request("PUT", f"/v1/workflows/{workflow_id}", json=workflow).status_code == 200


def _run(api: Api, workflow_id: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    document_id = api.upload("invoice.pdf", invoice_pdf())
    started = api.post(f"/v1/workflows/{workflow_id}/executions",
                       json={"document_id": document_id, "metadata": metadata or {}})
    assert started.status_code == 202, started.text
    return dict(api.wait(started.json()["id"]))


def test_given_a_webhook_integration_when_the_run_ends_then_the_receiver_gets_the_rendered_message(
        tmp_path: Path) -> None:
    server = _server(tmp_path)
    try:
        api = Api(server.url, API_KEY)
        workflow_id = _workflow(api, "Invoice processed: {{invoice_number}} for {{metadata.customer}}{{missing}}")
        with Receiver() as receiver:
            _connect(api, workflow_id, "webhook", {"url": receiver.url("/in?token=s3cret"), "method": "PUT",
                                                   "headers": {"X-Api-Key": "k-123"}})
            run = _run(api, workflow_id, {"customer": "acme"})
            assert run["status"] == "completed", run
            [call] = receiver.requests
        assert (call.method, call.path, call.headers["X-Api-Key"]) == ("PUT", "/in?token=s3cret", "k-123")
        body = json.loads(call.body)
        assert body["text"] == "Invoice processed: INV-2041 for acme"
        assert body["values"]["invoice_number"] == "INV-2041" and body["execution_id"] == run["id"]
        assert body["metadata"] == {"customer": "acme"} and body["document_name"] == "invoice.pdf"
        notify = run["execution_log"][-1]
        assert notify["summary"]["output"] == {"integration_type": "webhook", "status": 200,
                                               "characters": len(body["text"])}
        assert run["output"]["values"]["invoice_number"] == "INV-2041"  # the step passes values on
    finally:
        server.stop()


def test_given_a_slack_integration_when_the_run_ends_then_slack_gets_a_block_kit_message(tmp_path: Path) -> None:
    server = _server(tmp_path)
    try:
        api = Api(server.url, API_KEY)
        workflow_id = _workflow(api, "*Invoice* {{invoice_number}}: {{total}}")
        with Receiver() as receiver:
            _connect(api, workflow_id, "slack", {"webhook_url": receiver.url("/services/T0/B0/xyz"),
                                                 "channel": "#ap"})
            assert _run(api, workflow_id)["status"] == "completed"
            [call] = receiver.requests
        message = json.loads(call.body)
        assert message == {"text": "*Invoice* INV-2041: 1234.5", "channel": "#ap", "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Invoice* INV-2041: 1234.5"}}]}
    finally:
        server.stop()


def test_given_a_receiver_that_fails_twice_when_the_step_runs_then_it_retries_and_completes(tmp_path: Path) -> None:
    server = _server(tmp_path)
    try:
        api = Api(server.url, API_KEY)
        workflow_id = _workflow(api)
        with Receiver() as receiver:
            receiver.script(Reply(503), Reply(429), Reply(200))
            _connect(api, workflow_id, "webhook", {"url": receiver.url("/hook")})
            run = _run(api, workflow_id)
            assert run["status"] == "completed", run
            assert len(receiver.requests) == 3
            receiver.script(Reply(404, b"no such hook" + b"!" * 500))
            failed = _run(api, workflow_id)
            assert len(receiver.requests) == 4  # a 404 is not retried
        assert failed["status"] == "failed" and failed["error"]["code"] == "integration_failed", failed
        assert "answered 404: no such hook" in failed["error"]["message"]
        assert failed["execution_log"][-1]["status"] == "failed"
    finally:
        server.stop()


def test_given_a_receiver_that_keeps_failing_when_the_step_runs_then_the_run_fails_after_bounded_retries(
        tmp_path: Path) -> None:
    server = _server(tmp_path)
    try:
        api = Api(server.url, API_KEY)
        workflow_id = _workflow(api)
        with Receiver() as receiver:
            receiver.script(Reply(500, b"down"))
            _connect(api, workflow_id, "webhook", {"url": receiver.url("/hook")})
            run = _run(api, workflow_id)
            assert len(receiver.requests) == 4  # the first try and 3 retries
        assert run["status"] == "failed" and run["error"]["code"] == "delivery_transient", run
    finally:
        server.stop()


def test_given_an_integration_id_that_does_not_exist_when_run_then_integration_not_found(tmp_path: Path) -> None:
    server = _server(tmp_path)
    try:
        api = Api(server.url, API_KEY)
        run = _run(api, _workflow(api))  # saved before its integration exists: allowed
        assert run["status"] == "failed" and run["error"]["code"] == "integration_not_found", run
        assert run["execution_log"][-1]["step_id"] == "notify"
    finally:
        server.stop()


def test_given_an_email_integration_when_run_then_the_smtp_server_gets_the_rendered_mail(
        tmp_path: Path, smtp: tuple[_Inbox, int]) -> None:
    inbox, port = smtp
    server = _server(tmp_path, smtp_port=port)
    try:
        api = Api(server.url, API_KEY)
        workflow_id = _workflow(api)
        _connect(api, workflow_id, "email", {"to": ["ap@example.com", "cfo@example.com"],
                                             "subject": "Invoice {{invoice_number}}",
                                             "template": "Total {{total}} for {{document_name}}"})
        assert _run(api, workflow_id)["status"] == "completed"
        [envelope] = inbox.messages
        mail = message_from_bytes(envelope.content)
        assert envelope.rcpt_tos == ["ap@example.com", "cfo@example.com"]
        assert mail["Subject"] == "Invoice INV-2041"
        assert mail.get_payload(decode=True).decode().strip() == "Total 1234.5 for invoice.pdf"
    finally:
        server.stop()


def test_given_no_smtp_host_when_an_email_step_runs_then_the_mail_lands_in_the_outbox(tmp_path: Path) -> None:
    server = _server(tmp_path)
    try:
        api = Api(server.url, API_KEY)
        workflow_id = _workflow(api, "Done: {{invoice_number}}")
        _connect(api, workflow_id, "email", {"to": ["ap@example.com"], "subject": "Invoice {{invoice_number}}"})
        assert _run(api, workflow_id)["status"] == "completed"
        [eml] = list((tmp_path / "data" / "outbox").glob("*.eml"))
        mail = message_from_bytes(eml.read_bytes())
        assert (mail["To"], mail["Subject"]) == ("ap@example.com", "Invoice INV-2041")
        assert "Done: INV-2041" in mail.get_payload(decode=True).decode()
    finally:
        server.stop()


def test_given_a_step_naming_an_integration_type_when_run_then_the_workflows_one_integration_of_it_is_used(
        tmp_path: Path) -> None:
    server = _server(tmp_path)
    try:
        api = Api(server.url, API_KEY)
        steps = [{"id": "parse", "type": "parse"},
                 {"id": "extract", "type": "extract", "config": {"fields": INVOICE_FIELDS}},
                 {"id": "notify", "type": "integration",
                  "config": {"integration_type": "webhook", "template": "{{invoice_number}}"}}]
        workflow_id = api.post("/v1/workflows", json={"name": "by type", "definition": {"steps": steps}}).json()["id"]
        none_yet = _run(api, workflow_id)
        assert none_yet["error"]["code"] == "integration_not_found" and "has none" in none_yet["error"]["message"]
        with Receiver() as receiver:
            made = api.post("/v1/workflows/integrations", json={
                "workflow_id": workflow_id, "name": "erp", "integration_type": "webhook",
                "config": {"url": receiver.url("/erp")}})
            assert made.status_code == 201, made.text
            assert _run(api, workflow_id)["status"] == "completed"
            assert [json.loads(r.body)["text"] for r in receiver.requests] == ["INV-2041"]
        refused = api.post("/v1/workflows", json={"name": "both", "definition": {"steps": [
            {"id": "n", "type": "integration", "config": {"integration_id": "int_1", "integration_type": "slack"}}]}})
        assert refused.status_code == 422 and "integration_id or integration_type" in refused.text
    finally:
        server.stop()
