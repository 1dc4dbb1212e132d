"""Issue 14 on AWS under moto: the Cradl surface's document bytes through API Gateway and the API
function into S3, a run started and read through it, and GET /v1/executions/{id}?wait=N
answering as soon as DynamoDB shows the run moved on."""

from __future__ import annotations

import threading
import time

import pytest
from docflow_testing import API_KEY, AwsStack, invoice_pdf
from test_api_aws import create_workflow, finished_run, unfinished_run

from docflow.domain.models import ExecutionStatus
from docflow.runtime import aws
from docflow.usecases.keys import ensure_key


@pytest.fixture(autouse=True)
def _api_key(aws_stack: AwsStack) -> None:
    ensure_key(aws.ports().keys, API_KEY)


def test_given_the_cradl_surface_on_aws_when_bytes_are_put_then_they_land_in_s3_and_a_run_reads_them(
    aws_stack: AwsStack,
) -> None:
    status, document = aws_stack.http("POST", "/compat/cradl/documents", body={"name": "invoice.pdf"})
    assert status == 200, document
    assert document["fileUrl"].startswith("https://") and document["fileUrl"].endswith("/content")
    path = f"/compat/cradl/documents/{document['documentId']}/content"
    # As the SDK sends it: its Bearer key, the bytes, no Content-Type.
    pdf = invoice_pdf()
    status, _, answer = aws_stack.invoke("PUT", path, {"authorization": f"Bearer {API_KEY}"}, pdf, binary=True)
    assert status == 200, answer
    stored = aws_stack.clients.s3.head_object(Bucket=aws_stack.bucket,
                                              Key=f"documents/default/{document['documentId']}")
    assert stored["ContentType"] == "application/pdf" and stored["ContentLength"] == len(pdf)
    status, headers, data = aws_stack.invoke("GET", path, {"authorization": f"Bearer {API_KEY}"}, None)
    assert status == 200 and data == pdf and headers["content-type"] == "application/pdf"

    workflow_id = create_workflow(aws_stack)["id"]
    status, started = aws_stack.http("POST", f"/compat/cradl/workflows/{workflow_id}/executions",
                                     body={"input": {"documentId": document["documentId"], "title": "March"}})
    assert status == 200 and started["status"] == "running", started
    assert aws_stack.wait_sfn(started["executionId"])["status"] == "SUCCEEDED"
    status, execution = aws_stack.http("GET", f"/compat/cradl/workflows/{workflow_id}/executions/"
                                               f"{started['executionId']}")
    assert execution["status"] == "succeeded" and execution["output"]["values"]["invoice_number"] == "INV-2041"


def test_given_a_finished_run_on_aws_when_read_with_wait_then_it_answers_with_it(aws_stack: AwsStack) -> None:
    run = finished_run(aws_stack, create_workflow(aws_stack)["id"])
    status, body = aws_stack.http("GET", f"/v1/executions/{run['id']}", query={"wait": "20"})
    assert status == 200 and body["status"] == "completed"


def test_given_a_running_run_on_aws_when_it_ends_during_the_wait_then_the_answer_shows_the_end(
    aws_stack: AwsStack,
) -> None:
    workflow_id = create_workflow(aws_stack)["id"]
    running = unfinished_run(workflow_id)
    reading = threading.Event()

    def finish() -> None:
        reading.wait(10)
        time.sleep(0.3)  # while the API function is waiting
        current = aws.ports().executions.get("default", running.id)
        aws.ports().executions.save(current.model_copy(update={"status": ExecutionStatus.FAILED}))

    thread = threading.Thread(target=finish)
    thread.start()
    reading.set()
    status, body = aws_stack.http("GET", f"/v1/workflows/{workflow_id}/executions/{running.id}",
                                  query={"wait": "15"})
    thread.join()
    assert status == 200 and body["status"] == "failed"
    status, body = aws_stack.http("GET", f"/v1/executions/{running.id}", query={"wait": "21"})
    assert status == 422 and body["error"]["details"][0]["loc"] == ["query", "wait"]

