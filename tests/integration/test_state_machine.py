"""The real ASL (statemachines/workflow.asl.json) executed by moto's Step Functions interpreter,
with the project's Lambda handlers running in-process: API → Step Functions → step handler."""

from __future__ import annotations

import json
from typing import Any

from docflow_testing import API_KEY, EVENTS, INVOICE_WORKFLOW, AwsStack, LambdaContextStub, invoice_pdf, load_handler

from docflow.domain.usage import PriceTable, Usage
from docflow.runtime import aws
from docflow.usecases.keys import ensure_key


def _upload(stack: AwsStack, data: bytes, content_type: str = "application/pdf") -> str:
    status, handle = stack.http("POST", "/v1/documents",
                                body={"name": "invoice.pdf", "content_type": content_type, "size": len(data)})
    assert status == 201, handle
    key = f"documents/default/{handle['id']}"
    # moto does not check presigned URLs; the signed parameters are tested in test_s3_presign.py.
    stack.clients.s3.put_object(Bucket=stack.bucket, Key=key, Body=data, ContentType=content_type)
    event = json.loads((EVENTS / "s3_object_created.json").read_text())
    event["detail"]["object"].update({"key": key, "size": len(data)})
    result = load_handler("uploads").lambda_handler(event, LambdaContextStub())
    assert result["status"] == "uploaded", result
    return str(handle["id"])


def _entered_states(stack: AwsStack, execution_id: str) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in stack.history(execution_id)
            if "stateEnteredEventDetails" in e]


def _start(stack: AwsStack, document_id: str, workflow: dict[str, Any] | None = None,
           idempotency_key: str | None = None) -> tuple[str, dict[str, Any]]:
    status, created = stack.http("POST", "/v1/workflows", body=workflow or INVOICE_WORKFLOW)
    assert status == 201, created
    headers = {"idempotency-key": idempotency_key} if idempotency_key else None
    status, execution = stack.http("POST", f"/v1/workflows/{created['id']}/executions",
                                   body={"document_id": document_id, "title": "March invoice"}, headers=headers)
    assert status == 202, execution
    return str(created["id"]), execution


def _bus_to_queue(stack: AwsStack) -> str:
    """Every platform event on the stack's bus, copied to an SQS queue we can read."""
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    stack.clients.events.put_rule(Name="all", EventBusName=stack.bus, EventPattern=json.dumps({"source": ["docflow"]}))
    stack.clients.events.put_targets(Rule="all", EventBusName=stack.bus, Targets=[{"Id": "q", "Arn": queue_arn}])
    return str(queue_url)


def _received(queue_url: str) -> list[dict[str, Any]]:
    import boto3

    sqs = boto3.client("sqs", region_name="us-east-1")
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    return [json.loads(m["Body"]) for m in messages]


def test_document_runs_through_the_state_machine_to_completed(aws_stack: AwsStack) -> None:
    ensure_key(aws.ports().keys, API_KEY)
    queue_url = _bus_to_queue(aws_stack)
    document_id = _upload(aws_stack, invoice_pdf())
    workflow_id, execution = _start(aws_stack, document_id)
    assert execution["status"] == "queued"

    described = aws_stack.wait_sfn(execution["id"])
    assert described["status"] == "SUCCEEDED", described

    status, stored = aws_stack.http("GET", f"/v1/workflows/{workflow_id}/executions/{execution['id']}")
    assert status == 200
    assert stored["status"] == "completed"
    assert stored["output"]["values"] == {"invoice_number": "INV-2041", "date": "2025-03-07", "total": 1234.5}
    assert [s["status"] for s in stored["status_history"]] == ["queued", "processing", "completed"]
    assert [(e["step_id"], e["status"]) for e in stored["execution_log"]] == [("parse", "completed"),
                                                                            ("extract", "completed")]
    assert stored["duration"] is not None and stored["duration"] >= 0

    entered = _entered_states(aws_stack, execution["id"])
    assert entered == ["Begin", "Route", "RunStep", "Route", "RunStep", "Route", "Done"]
    assert len(entered) <= 2 * 2 + 3  # DESIGN.md §8: transitions per run ≤ 2 × steps + 3
    # The run's recorded usage counts exactly the states the state machine entered for it.
    usage = stored["usage"]
    assert usage["step_transitions"] == len(entered)
    assert usage["lambda_invocations"] == entered.count("Begin") + entered.count("RunStep")
    assert usage["pages"] == 1 and usage["ocr_pages"] == 0
    assert stored["cost_usd"] == PriceTable().cost_usd(Usage.model_validate(usage)) > 0

    status, document = aws_stack.http("GET", f"/v1/documents/{document_id}")
    assert document["status"] == "processed"

    events = _received(queue_url)
    assert [e["detail-type"] for e in events] == ["document.uploaded", "execution.processing",
                                                  "extraction.completed", "document.processed",
                                                  "execution.completed"]
    completed = events[-1]["detail"]
    assert completed["execution_id"] == execution["id"] and completed["workspace_id"] == "default"
    assert completed["output"]["values"]["invoice_number"] == "INV-2041"


def test_step_failure_goes_through_catch_and_marks_the_execution_failed(aws_stack: AwsStack) -> None:
    ensure_key(aws.ports().keys, API_KEY)
    document_id = _upload(aws_stack, b"%PDF-1.7\n this is not really a pdf \x00\x01")
    _, execution = _start(aws_stack, document_id)

    described = aws_stack.wait_sfn(execution["id"])
    assert described["status"] == "FAILED"
    entered = _entered_states(aws_stack, execution["id"])
    assert entered[-2:] == ["MarkFailed", "Failed"]

    _status, stored = aws_stack.http("GET", f"/v1/executions/{execution['id']}")
    assert stored["usage"]["step_transitions"] == len(entered)
    assert stored["status"] == "failed"
    assert stored["error"]["code"] == "document_corrupt"
    assert stored["execution_log"][-1]["status"] == "failed"
    assert [s["status"] for s in stored["status_history"]] == ["queued", "processing", "failed"]


def test_retried_start_with_the_same_idempotency_key_makes_one_run(aws_stack: AwsStack) -> None:
    ensure_key(aws.ports().keys, API_KEY)
    document_id = _upload(aws_stack, invoice_pdf())
    status, created = aws_stack.http("POST", "/v1/workflows", body=INVOICE_WORKFLOW)
    runs = []
    for _ in range(3):
        status, execution = aws_stack.http("POST", f"/v1/workflows/{created['id']}/executions",
                                           body={"document_id": document_id},
                                           headers={"idempotency-key": "order-42"})
        assert status == 202
        runs.append(execution["id"])
    assert len(set(runs)) == 1
    assert aws_stack.wait_sfn(runs[0])["status"] == "SUCCEEDED"
    listed = aws_stack.clients.stepfunctions.list_executions(stateMachineArn=aws_stack.state_machine_arn)
    assert len(listed["executions"]) == 1
    # The same key after the run finished returns the finished run, never a second one.
    status, again = aws_stack.http("POST", f"/v1/workflows/{created['id']}/executions",
                                   body={"document_id": document_id}, headers={"idempotency-key": "order-42"})
    assert again["id"] == runs[0] and again["status"] == "completed"


def test_redelivered_task_does_not_run_a_step_twice(aws_stack: AwsStack) -> None:
    ensure_key(aws.ports().keys, API_KEY)
    document_id = _upload(aws_stack, invoice_pdf())
    _, execution = _start(aws_stack, document_id)
    assert aws_stack.wait_sfn(execution["id"])["status"] == "SUCCEEDED"
    step = load_handler("step")
    # A Lambda retry after a success: the step handler answers with where the run is, and runs nothing.
    again = step.lambda_handler({"action": "run", "workspace_id": "default", "execution_id": execution["id"],
                                 "step_id": "parse"}, LambdaContextStub())
    assert again["next"]["type"] == "done"
    _status, stored = aws_stack.http("GET", f"/v1/executions/{execution['id']}")
    assert len(stored["execution_log"]) == 2
