"""The S3 drop folder under moto: an object under inbox/<workflow_id>/ of the versioned bucket, the
EventBridge "Object Created" event given to functions/ingest (moto cannot invoke a Lambda target
from a rule), and the rule of template.yaml run on the events moto emits for the bucket."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from docflow_testing import (
    API_KEY,
    EVENTS,
    INVOICE_WORKFLOW,
    REGION,
    AwsStack,
    LambdaContextStub,
    invoice_pdf,
    load_handler,
    template_resources,
)

from docflow.runtime import aws
from docflow.usecases.keys import ensure_key

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"


@pytest.fixture
def stack(aws_stack: AwsStack) -> AwsStack:
    ensure_key(aws.ports().keys, API_KEY)
    aws_stack.clients.s3.put_bucket_versioning(Bucket=aws_stack.bucket,
                                               VersioningConfiguration={"Status": "Enabled"})
    return aws_stack


def create_workflow(stack: AwsStack, **changes: Any) -> str:
    status, created = stack.http("POST", "/v1/workflows", body={**INVOICE_WORKFLOW, **changes})
    assert status == 201, created
    return str(created["id"])


def drop(stack: AwsStack, key: str, data: bytes) -> dict[str, Any]:
    """Puts the object and returns the event S3 sends EventBridge for it."""
    put = stack.clients.s3.put_object(Bucket=stack.bucket, Key=key, Body=data)
    event = json.loads((EVENTS / "s3_inbox_object_created.json").read_text())
    event["detail"]["object"].update({"key": key, "size": len(data), "etag": put["ETag"].strip('"'),
                                      "version-id": put["VersionId"]})
    return dict(event)


def ingest(event: dict[str, Any]) -> dict[str, Any]:
    return dict(load_handler("ingest").lambda_handler(event, LambdaContextStub()))


def runs(stack: AwsStack, workflow_id: str) -> list[dict[str, Any]]:
    status, page = stack.http("GET", f"/v1/workflows/{workflow_id}/executions")
    assert status == 200, page
    return list(page["items"])


def keys(stack: AwsStack, prefix: str) -> list[str]:
    listed = stack.clients.s3.list_objects_v2(Bucket=stack.bucket, Prefix=prefix)
    return sorted(o["Key"] for o in listed.get("Contents", []))


def body(stack: AwsStack, key: str) -> bytes:
    return bytes(stack.clients.s3.get_object(Bucket=stack.bucket, Key=key)["Body"].read())


def test_given_a_pdf_in_the_inbox_when_its_event_is_delivered_three_times_then_one_run_and_it_is_processed(
        stack: AwsStack) -> None:
    workflow_id = create_workflow(stack)
    pdf = invoice_pdf()
    event = drop(stack, f"inbox/{workflow_id}/invoice.pdf", pdf)

    outcomes = [ingest(event) for _ in range(3)]

    assert [o["status"] for o in outcomes] == ["started", "gone", "gone"]
    [run] = runs(stack, workflow_id)
    assert run["id"] == outcomes[0]["execution_id"]
    assert run["trigger_method"] == "s3" and run["name"] == "invoice.pdf"
    assert run["trigger_data"]["key"] == f"inbox/{workflow_id}/invoice.pdf"
    assert run["trigger_data"]["version_id"] == event["detail"]["object"]["version-id"]
    assert stack.wait_sfn(run["id"])["status"] == "SUCCEEDED"
    status, done = stack.http("GET", f"/v1/executions/{run['id']}")
    assert done["status"] == "completed" and done["output"]["values"]["invoice_number"] == "INV-2041", done
    status, document = stack.http("GET", f"/v1/documents/{outcomes[0]['document_id']}")
    assert status == 200 and document["status"] in ("uploaded", "processed"), document
    assert document["content_type"] == "application/pdf" and document["size"] == len(pdf)
    assert keys(stack, "inbox/") == []
    assert keys(stack, "processed/") == [f"processed/{workflow_id}/invoice.pdf"]
    assert body(stack, f"processed/{workflow_id}/invoice.pdf") == pdf


def test_given_a_retried_ingest_that_failed_before_the_move_when_retried_then_it_replays_the_same_run(
        stack: AwsStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lambda retries an async invocation that raised: the retry must find the document and the run."""
    from docflow.adapters.aws.s3 import S3InboxObject

    workflow_id = create_workflow(stack)
    event = drop(stack, f"inbox/{workflow_id}/invoice.pdf", invoice_pdf())
    original = S3InboxObject.move

    def crash(self: S3InboxObject, destination_key: str) -> None:
        raise RuntimeError("the function timed out")

    monkeypatch.setattr(S3InboxObject, "move", crash)
    with pytest.raises(RuntimeError):
        ingest(event)
    monkeypatch.setattr(S3InboxObject, "move", original)

    retried = ingest(event)

    assert retried["status"] == "replayed"
    [run] = runs(stack, workflow_id)
    assert run["id"] == retried["execution_id"]
    assert keys(stack, "processed/") == [f"processed/{workflow_id}/invoice.pdf"] and keys(stack, "inbox/") == []


def test_given_one_event_when_four_deliveries_ingest_it_at_once_then_one_run(stack: AwsStack) -> None:
    workflow_id = create_workflow(stack)
    event = drop(stack, f"inbox/{workflow_id}/invoice.pdf", invoice_pdf())
    barrier = threading.Barrier(4)
    outcomes: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        barrier.wait()
        try:
            outcomes.append(ingest(event))
        except BaseException as exc:  # surfaced below: a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(runs(stack, workflow_id)) == 1
    assert {o["execution_id"] for o in outcomes if o["status"] != "gone"} == {runs(stack, workflow_id)[0]["id"]}
    assert keys(stack, "inbox/") == [] and keys(stack, "processed/") == [f"processed/{workflow_id}/invoice.pdf"]


def test_given_a_second_upload_to_the_same_key_when_ingested_then_it_is_a_second_run(stack: AwsStack) -> None:
    workflow_id = create_workflow(stack)
    key = f"inbox/{workflow_id}/invoice.pdf"
    first = ingest(drop(stack, key, invoice_pdf("INV-1")))
    second = ingest(drop(stack, key, invoice_pdf("INV-2")))

    assert first["status"] == second["status"] == "started"
    assert first["execution_id"] != second["execution_id"]
    assert first["document_id"] != second["document_id"]
    assert len(runs(stack, workflow_id)) == 2


def test_given_a_newer_upload_before_the_first_event_when_both_arrive_then_each_run_gets_its_own_bytes(
        stack: AwsStack) -> None:
    """The event names a version: the first run reads the first bytes, and its move leaves the newer one."""
    workflow_id = create_workflow(stack)
    key = f"inbox/{workflow_id}/invoice.pdf"
    first_pdf, second_pdf = invoice_pdf("INV-1"), invoice_pdf("INV-2")
    first_event, second_event = drop(stack, key, first_pdf), drop(stack, key, second_pdf)

    first = ingest(first_event)
    assert keys(stack, "inbox/") == [key]  # the second version is still waiting for its event
    second = ingest(second_event)

    ports = aws.ports()
    for outcome, pdf in ((first, first_pdf), (second, second_pdf)):
        document = ports.documents.get("default", outcome["document_id"])
        assert ports.blobs.read(document.storage_key) == pdf
    assert keys(stack, "inbox/") == []


def test_given_an_unknown_workflow_id_when_ingested_then_failed_with_an_error_file_and_nothing_stored(
        stack: AwsStack) -> None:
    event = drop(stack, "inbox/wf_nope/invoice.pdf", invoice_pdf())

    outcome = ingest(event)

    assert outcome["status"] == "failed" and outcome["code"] == "unknown_workflow"
    assert keys(stack, "inbox/") == [] and keys(stack, "documents/") == []
    assert keys(stack, "failed/") == ["failed/wf_nope/invoice.pdf", "failed/wf_nope/invoice.pdf.error.json"]
    error = json.loads(body(stack, "failed/wf_nope/invoice.pdf.error.json"))
    assert set(error) == {"code", "message", "key", "time"}
    assert error["code"] == "unknown_workflow" and error["key"] == "inbox/wf_nope/invoice.pdf"
    assert "wf_nope" in error["message"]


def test_given_a_disabled_workflow_when_ingested_then_failed(stack: AwsStack) -> None:
    workflow_id = create_workflow(stack, enabled=False)

    outcome = ingest(drop(stack, f"inbox/{workflow_id}/invoice.pdf", invoice_pdf()))

    assert outcome["code"] == "workflow_disabled"
    assert runs(stack, workflow_id) == [] and keys(stack, "documents/") == []
    assert f"failed/{workflow_id}/invoice.pdf.error.json" in keys(stack, "failed/")


def test_given_a_file_type_the_workflow_refuses_when_ingested_then_failed_naming_the_type(stack: AwsStack) -> None:
    workflow_id = create_workflow(stack, file_input_config={"file_fields": [
        {"key": "invoice", "content_types": ["application/pdf"]}]})

    # Named .pdf, but the bytes are text: the bytes decide.
    outcome = ingest(drop(stack, f"inbox/{workflow_id}/notes.pdf", b"just some notes\n"))

    assert outcome["status"] == "failed" and outcome["code"] == "unsupported_media_type"
    assert "text/plain" in outcome["message"]
    assert runs(stack, workflow_id) == [] and keys(stack, "documents/") == []
    error = json.loads(body(stack, f"failed/{workflow_id}/notes.pdf.error.json"))
    assert error["code"] == "unsupported_media_type"


def test_given_a_key_with_a_space_when_the_event_carries_it_plain_or_encoded_then_it_is_found(
        stack: AwsStack) -> None:
    workflow_id = create_workflow(stack)
    plain = drop(stack, f"inbox/{workflow_id}/my invoice.pdf", invoice_pdf("INV-1"))
    encoded = drop(stack, f"inbox/{workflow_id}/other invoice.pdf", invoice_pdf("INV-2"))
    encoded["detail"]["object"]["key"] = f"inbox/{workflow_id}/other+invoice.pdf"

    assert ingest(plain)["status"] == "started"
    assert ingest(encoded)["status"] == "started"
    assert keys(stack, "processed/") == [f"processed/{workflow_id}/my invoice.pdf",
                                         f"processed/{workflow_id}/other invoice.pdf"]


# --- the rule in template.yaml ------------------------------------------------------------------

def ingest_rule_pattern(bucket: str) -> dict[str, Any]:
    pattern = template_resources()["IngestFunction"]["Properties"]["Events"]["InboxObjectCreated"]["Properties"][
        "Pattern"]
    assert pattern["detail"]["bucket"]["name"] == [{"Ref": "Bucket"}]
    pattern["detail"]["bucket"]["name"] = [bucket]
    return dict(pattern)


def test_given_the_ingest_rule_when_s3_emits_object_created_events_then_only_inbox_keys_reach_the_function(
        stack: AwsStack) -> None:
    """moto's TestEventPattern is not implemented (5.2.5), so the rule of template.yaml runs for real:
    bucket → EventBridge (moto emits S3's events) → the rule → an SQS queue standing in for the
    function; the event that arrives is then given to the ingest function."""
    import boto3

    workflow_id = create_workflow(stack)
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="ingest-target")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    stack.clients.events.put_rule(Name="ingest", EventPattern=json.dumps(ingest_rule_pattern(stack.bucket)))
    stack.clients.events.put_targets(Rule="ingest", Targets=[{"Id": "ingest", "Arn": queue_arn}])
    stack.clients.s3.put_bucket_notification_configuration(
        Bucket=stack.bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
    s3 = stack.clients.s3
    for key in (f"processed/{workflow_id}/old.pdf", f"failed/{workflow_id}/bad.pdf.error.json",
                "documents/default/doc_1", f"inbox/{workflow_id}/my invoice.pdf"):
        s3.put_object(Bucket=stack.bucket, Key=key, Body=invoice_pdf())
    s3.create_bucket(Bucket="another-bucket")
    s3.put_bucket_notification_configuration(Bucket="another-bucket",
                                             NotificationConfiguration={"EventBridgeConfiguration": {}})
    s3.put_object(Bucket="another-bucket", Key=f"inbox/{workflow_id}/x.pdf", Body=invoice_pdf())

    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])

    events = [json.loads(m["Body"]) for m in received]
    assert [e["detail"]["object"]["key"] for e in events] == [f"inbox/{workflow_id}/my invoice.pdf"]
    outcome = ingest(events[0])
    assert outcome["status"] == "started", outcome
    assert keys(stack, "processed/") == [f"processed/{workflow_id}/my invoice.pdf", f"processed/{workflow_id}/old.pdf"]
