"""Run starts through API Gateway → the API function under moto: a multipart run arrives
base64-encoded as API Gateway passes binary bodies, its files land in S3 and the state machine
runs it; Idempotency-Key replays and refusals are the same as in local mode."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from docflow_testing import API_KEY, INVOICE_WORKFLOW, AwsStack, invoice_pdf

from docflow.runtime import aws
from docflow.usecases.keys import ensure_key


@pytest.fixture
def stack(aws_stack: AwsStack) -> AwsStack:
    ensure_key(aws.ports().keys, API_KEY)
    return aws_stack


def _form(files: dict[str, Any], data: dict[str, str]) -> tuple[bytes, str]:
    prepared = requests.Request("POST", "http://form", files=files, data=data).prepare()
    assert isinstance(prepared.body, bytes)
    return prepared.body, str(prepared.headers["Content-Type"])


def _workflow(stack: AwsStack) -> str:
    status, created = stack.http("POST", "/v1/workflows", body=INVOICE_WORKFLOW)
    assert status == 201, created
    return str(created["id"])


def test_given_a_multipart_run_on_aws_when_retried_with_its_key_then_one_run_completes_on_the_state_machine(
        stack: AwsStack) -> None:
    workflow_id = _workflow(stack)
    body, content_type = _form({"file": ("inv.pdf", invoice_pdf(invoice_number="AWS-5"), "application/pdf")},
                               {"metadata": json.dumps({"batch": 7}), "file_guidance": "gross totals"})
    headers = {"content-type": content_type, "idempotency-key": "aws-form-1"}
    path = f"/v1/workflows/{workflow_id}/executions"
    status, run = stack.http("POST", path, headers=headers, data=body)
    assert status == 202, run
    assert run["metadata"] == {"batch": 7} and run["inputs"][0]["guidance"] == "gross totals"
    status, again = stack.http("POST", path, headers=headers, data=body)
    assert (status, again["id"], again["documents"]) == (202, run["id"], run["documents"])

    assert stack.wait_sfn(run["id"])["status"] == "SUCCEEDED"
    status, done = stack.http("GET", f"/v1/executions/{run['id']}")
    assert done["status"] == "completed" and done["output"]["values"]["invoice_number"] == "AWS-5"
    stored = stack.clients.s3.get_object(Bucket=stack.bucket, Key=f"documents/default/{run['documents'][0]}")
    assert stored["Body"].read()[:5] == b"%PDF-"

    other, other_type = _form({"file": ("inv.pdf", invoice_pdf(invoice_number="AWS-6"), "application/pdf")}, {})
    status, refused = stack.http("POST", path, headers={"content-type": other_type, "idempotency-key": "aws-form-1"},
                                 data=other)
    assert status == 422 and refused["error"]["code"] == "idempotency_key_reused"
    status, listed = stack.http("GET", path)
    assert [r["id"] for r in listed["items"]] == [run["id"]]


def test_given_a_form_with_a_disguised_file_on_aws_when_started_then_422_names_the_field(stack: AwsStack) -> None:
    workflow_id = _workflow(stack)
    body, content_type = _form({"file": ("inv.pdf", b"\x89PNG\r\n\x1a\n" + b"\x01" * 40, "application/pdf")}, {})
    status, refused = stack.http("POST", f"/v1/workflows/{workflow_id}/executions",
                                 headers={"content-type": content_type}, data=body)
    assert status == 422 and refused["error"]["details"][0]["loc"] == ["body", "file"], refused
