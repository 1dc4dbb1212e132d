"""The `integration` step on the state machine under moto: the one RunStep task sends a webhook
to a local receiver (and retries a 503 through the ASL Retry), and e-mail goes through SES."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from docflow_testing import API_KEY, INVOICE_FIELDS, REGION, AwsStack, StackApi, invoice_pdf
from receiver import Receiver, Reply

from docflow.adapters.aws.ses import SesMailer
from docflow.adapters.http_out import GuardedHttp, OutboundSettings
from docflow.domain.ssrf import Allowlist
from docflow.runtime import aws
from docflow.usecases.keys import ensure_key

SENDER = "docflow@example.com"


@pytest.fixture
def api(aws_stack: AwsStack, monkeypatch: pytest.MonkeyPatch) -> StackApi:
    ensure_key(aws.ports().keys, API_KEY)
    monkeypatch.setattr(aws.ports(), "http", GuardedHttp(OutboundSettings(allow=Allowlist.parse("127.0.0.1/32"))))
    ses = boto3.client("ses", region_name=REGION)
    ses.verify_email_identity(EmailAddress=SENDER)
    monkeypatch.setattr(aws.ports(), "mailer", SesMailer(lambda: ses, SENDER))
    return StackApi(aws_stack, API_KEY)


def _workflow(api: StackApi, integration_type: str, config: dict[str, Any], template: str) -> str:
    created = api.post("/v1/workflows", json={"name": "notify", "definition": {"steps": [
        {"id": "parse", "type": "parse"}, {"id": "extract", "type": "extract", "config": {"fields": INVOICE_FIELDS}},
        {"id": "notify", "type": "integration", "config": {"integration_id": "int_x", "template": template}}]}})
    assert created.status_code == 201, created.text
    workflow = created.json()
    made = api.post("/v1/workflows/integrations", json={"workflow_id": workflow["id"], "name": "n",
                                                        "integration_type": integration_type, "config": config})
    assert made.status_code == 201, made.text
    workflow["definition"]["steps"][2]["config"]["integration_id"] = made.json()["id"]
    assert api.request("PUT", f"/v1/workflows/{workflow['id']}", json=workflow).status_code == 200
    return str(workflow["id"])


def _run(api: StackApi, workflow_id: str) -> dict[str, Any]:
    document_id = api.upload("invoice.pdf", invoice_pdf())
    started = api.post(f"/v1/workflows/{workflow_id}/executions", json={"document_id": document_id})
    assert started.status_code == 202, started.text
    return dict(api.wait(started.json()["id"]))


def test_given_a_webhook_integration_on_aws_when_the_receiver_fails_once_then_the_asl_retries_and_it_completes(
        api: StackApi, aws_stack: AwsStack, monkeypatch: pytest.MonkeyPatch) -> None:
    # The ASL Retry waits IntervalSeconds (2 s) before its first retry: moto's executor waits too.
    with Receiver() as receiver:
        receiver.script(Reply(503), Reply(200))
        workflow_id = _workflow(api, "webhook", {"url": receiver.url("/hook")}, "Invoice {{invoice_number}}")
        run = _run(api, workflow_id)
        assert run["status"] == "completed", run
        assert [json.loads(r.body)["text"] for r in receiver.requests] == ["Invoice INV-2041"] * 2
    entered = [e["stateEnteredEventDetails"]["name"] for e in aws_stack.history(run["id"])
               if "stateEnteredEventDetails" in e]
    assert entered == ["Begin", *(["Route", "RunStep"] * 3), "Route", "Done"]


def test_given_an_email_integration_on_aws_when_run_then_ses_sends_the_rendered_mail(api: StackApi) -> None:
    from moto.ses.models import ses_backends

    workflow_id = _workflow(api, "email", {"to": ["ap@example.com"], "subject": "Invoice {{invoice_number}}"},
                            "Total {{total}}")
    assert _run(api, workflow_id)["status"] == "completed"
    [sent] = ses_backends["123456789012"][REGION].sent_messages
    assert (sent.source, sent.subject, sent.body) == (SENDER, "Invoice INV-2041", "Total 1234.5")
    assert sent.destinations["ToAddresses"] == ["ap@example.com"]
