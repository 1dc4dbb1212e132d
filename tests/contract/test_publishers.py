"""EventPublisher and ExecutionLauncher adapters, and throttling translation (DESIGN.md §4)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from docflow.adapters.aws.dynamodb import DynamoExecutionRepository, DynamoWorkflowRepository
from docflow.adapters.aws.events import EventBridgePublisher, EventPublishFailed
from docflow.adapters.aws.s3 import S3BlobStore
from docflow.adapters.aws.stepfunctions import StepFunctionsLauncher, execution_arn
from docflow.adapters.local.events import InProcessEventBus, PublishedEvent
from docflow.domain.errors import PayloadTooLarge, Throttled
from docflow.domain.models import Execution, Workflow, WorkflowDefinition

REGION = "us-east-1"


@pytest.fixture
def aws(aws_env: None) -> Iterator[None]:
    with mock_aws():
        yield


def run(**changes: Any) -> Execution:
    return Execution(workspace_id="ws_1", workflow_id="wf_1", workflow_version=1, **changes)


# --- EventBridge ---------------------------------------------------------------------------------

def test_eventbridge_delivers_detail_with_workspace(aws: None) -> None:
    events, sqs = boto3.client("events", region_name=REGION), boto3.client("sqs", region_name=REGION)
    events.create_event_bus(Name="docflow-bus")
    queue_url = sqs.create_queue(QueueName="events")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="all", EventBusName="docflow-bus", EventPattern=json.dumps({"source": ["docflow"]}))
    events.put_targets(Rule="all", EventBusName="docflow-bus", Targets=[{"Id": "q", "Arn": queue_arn}])

    publisher = EventBridgePublisher(events, "docflow-bus")
    at = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    publisher.publish("execution.completed", "ws_1", {"execution_id": "exe_1", "at": at, "score": 0.1,
                                                       "workspace_id": "spoofed"})
    messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", [])
    assert len(messages) == 1
    event = json.loads(messages[0]["Body"])
    assert event["source"] == "docflow"
    assert event["detail-type"] == "execution.completed"
    assert event["detail"] == {"execution_id": "exe_1", "at": "2026-11-23T12:00:00Z", "score": 0.1,
                               "workspace_id": "ws_1"}


def test_eventbridge_failed_entry_raises(aws_env: None) -> None:
    client = boto3.client("events", region_name=REGION)
    publisher = EventBridgePublisher(client, "bus")
    with Stubber(client) as stub:
        stub.add_response("put_events", {"FailedEntryCount": 1,
                                         "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "boom"}]})
        stub.add_response("put_events", {"FailedEntryCount": 1,
                                         "Entries": [{"ErrorCode": "ThrottlingException", "ErrorMessage": "slow"}]})
        stub.add_client_error("put_events", service_error_code="ThrottlingException", http_status_code=400)
        with pytest.raises(EventPublishFailed, match="InternalFailure boom"):
            publisher.publish("document.uploaded", "ws_1", {})
        with pytest.raises(Throttled):
            publisher.publish("document.uploaded", "ws_1", {})
        with pytest.raises(Throttled):
            publisher.publish("document.uploaded", "ws_1", {})


# --- Step Functions ------------------------------------------------------------------------------

def _state_machine() -> tuple[Any, str]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(
        name="docflow-workflow", roleArn="arn:aws:iam::123456789012:role/sfn",
        definition=json.dumps({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}),
    )["stateMachineArn"]
    return sfn, arn


def test_launch_is_idempotent_and_named_by_execution_id(aws: None) -> None:
    sfn, arn = _state_machine()
    launcher = StepFunctionsLauncher(sfn, arn)
    execution = run()
    launcher.launch(execution)
    launcher.launch(execution)  # retried start: same run
    runs = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert [r["name"] for r in runs] == [execution.id]
    assert runs[0]["executionArn"] == execution_arn(arn, execution.id)
    described = sfn.describe_execution(executionArn=runs[0]["executionArn"])
    assert json.loads(described["input"]) == {"workspace_id": "ws_1", "execution_id": execution.id}

    launcher.cancel(execution)
    assert sfn.describe_execution(executionArn=runs[0]["executionArn"])["status"] == "ABORTED"
    launcher.launch(execution)  # a redelivered start after the run ended must not start it again
    assert len(sfn.list_executions(stateMachineArn=arn)["executions"]) == 1
    launcher.cancel(run())  # never started: nothing to stop


def test_launch_errors_other_than_already_exists_propagate(aws: None) -> None:
    sfn, arn = _state_machine()
    launcher = StepFunctionsLauncher(sfn, arn.replace("docflow-workflow", "missing"))
    with pytest.raises(Exception, match="StateMachineDoesNotExist"):
        launcher.launch(run())


def test_execution_arn() -> None:
    arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:docflow-prod"
    assert execution_arn(arn, "exe_1") == "arn:aws:states:eu-west-1:123456789012:execution:docflow-prod:exe_1"
    with pytest.raises(ValueError):
        execution_arn("arn:aws:lambda:eu-west-1:1:function:x", "exe_1")


# --- DynamoDB throttling -------------------------------------------------------------------------

def test_dynamodb_throttling_becomes_throttled(aws_env: None) -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    workflows = DynamoWorkflowRepository(client, "t")
    executions = DynamoExecutionRepository(client, "t", S3BlobStore(boto3.client("s3", region_name=REGION), "b"))
    with Stubber(client) as stub:
        for code in ("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"):
            stub.add_client_error("get_item", service_error_code=code, http_status_code=400)
        stub.add_client_error("transact_write_items", service_error_code="TransactionCanceledException",
                              http_status_code=400,
                              response_meta={}, modeled_fields={"CancellationReasons": [
                                  {"Code": "None"}, {"Code": "ThrottlingError"}]})
        # workflows.add writes the workflow and its owner lookup item in one transaction
        stub.add_client_error("transact_write_items", service_error_code="ValidationException",
                              http_status_code=400, service_message="Item size has exceeded the maximum allowed size")
        for _ in range(3):
            with pytest.raises(Throttled):
                workflows.get("ws_1", "wf_1")
        with pytest.raises(Throttled):
            executions.add(run(idempotency_key="k"))
        with pytest.raises(PayloadTooLarge):
            workflows.add(Workflow(workspace_id="ws_1", name="x", definition=WorkflowDefinition()))


# --- in-process bus ------------------------------------------------------------------------------

def test_in_process_bus() -> None:
    bus = InProcessEventBus(history=3)
    seen: list[PublishedEvent] = []

    def broken(event: PublishedEvent) -> None:
        raise RuntimeError("subscriber bug")

    unsubscribe = bus.subscribe(seen.append)
    bus.subscribe(broken)
    detail: dict[str, Any] = {"execution_id": "exe_1", "values": {"total": 1.5}}
    bus.publish("execution.completed", "ws_1", detail)  # the broken subscriber does not fail it
    assert seen[0].detail == {"execution_id": "exe_1", "values": {"total": 1.5}, "workspace_id": "ws_1"}
    assert seen[0].detail_type == "execution.completed" and seen[0].source == "docflow"
    detail["values"]["total"] = 99  # the published event is a copy
    assert seen[0].detail["values"]["total"] == 1.5

    for n in range(5):
        bus.publish("document.uploaded", "ws_1", {"n": n})
    assert [e.detail.get("n") for e in bus.recent] == [2, 3, 4]
    unsubscribe()
    bus.publish("document.uploaded", "ws_1", {})
    assert len(seen) == 6
