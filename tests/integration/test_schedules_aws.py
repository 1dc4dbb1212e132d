"""Schedules on AWS under moto: the EventBridge Scheduler adapter (moto stores schedules but never
fires them, so the test asserts what was stored), the API routes through the authorizer and the
API function, and the schedule-target function invoked twice with one event → exactly one run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from docflow_testing import API_KEY, INVOICE_WORKFLOW, REGION, AwsStack, LambdaContextStub, StackApi, invoice_pdf
from docflow_testing import load_handler as load
from moto import mock_aws

from docflow.adapters.aws.scheduler import SCHEDULED_TIME, EventBridgeScheduler, ScheduleTarget
from docflow.domain.schedules import Schedule
from docflow.runtime import aws
from docflow.usecases.keys import ensure_key

GROUP = "docflow-test-schedules"
TARGET_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:docflow-schedule-target"
ROLE_ARN = "arn:aws:iam::123456789012:role/docflow-scheduler"
DLQ_ARN = f"arn:aws:sqs:{REGION}:123456789012:docflow-schedule-dlq"
TARGET = ScheduleTarget(group=GROUP, function_arn=TARGET_ARN, role_arn=ROLE_ARN, dead_letter_arn=DLQ_ARN)


@pytest.fixture
def scheduler_client() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("scheduler", region_name=REGION)
        client.create_schedule_group(Name=GROUP)
        yield client


def make(**changes: Any) -> Schedule:
    fields: dict[str, Any] = {"workspace_id": "ws_alpha", "workflow_id": "wf_01TEST", "cron_expression": "30 2 * * 1-5",
                              "timezone": "America/New_York", "input": {"document_id": "doc_1"}}
    return Schedule(**{**fields, **changes})


def test_given_a_schedule_when_put_then_scheduler_stores_the_aws_cron_zone_target_and_dlq(
        scheduler_client: Any) -> None:
    schedule = make()
    EventBridgeScheduler(lambda: scheduler_client, TARGET).put(schedule)
    stored = scheduler_client.get_schedule(Name="wf_01TEST", GroupName=GROUP)
    assert stored["ScheduleExpression"] == "cron(30 2 ? * 2-6 *)"
    assert stored["ScheduleExpressionTimezone"] == "America/New_York"
    assert stored["State"] == "ENABLED"
    assert stored["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = stored["Target"]
    assert (target["Arn"], target["RoleArn"]) == (TARGET_ARN, ROLE_ARN)
    assert target["DeadLetterConfig"] == {"Arn": DLQ_ARN}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 3600}
    assert json.loads(target["Input"]) == {"workspace_id": "ws_alpha", "workflow_id": "wf_01TEST",
                                           "schedule_id": schedule.id, "scheduled_time": SCHEDULED_TIME}


def test_given_a_stored_schedule_when_put_again_then_it_is_updated_in_place(scheduler_client: Any) -> None:
    adapter = EventBridgeScheduler(lambda: scheduler_client, TARGET)
    adapter.put(make())
    adapter.put(make(enabled=False, cron_expression="*/15 * * * *", timezone="UTC"))
    listed = scheduler_client.list_schedules(GroupName=GROUP)["Schedules"]
    assert [s["Name"] for s in listed] == ["wf_01TEST"]
    stored = scheduler_client.get_schedule(Name="wf_01TEST", GroupName=GROUP)
    assert (stored["State"], stored["ScheduleExpression"], stored["ScheduleExpressionTimezone"]) == \
           ("DISABLED", "cron(0/15 * * * ? *)", "UTC")


def test_given_a_schedule_when_deleted_twice_then_it_is_gone_and_the_retry_is_harmless(scheduler_client: Any) -> None:
    adapter = EventBridgeScheduler(lambda: scheduler_client, TARGET)
    adapter.put(make())
    adapter.delete("ws_alpha", "wf_01TEST")
    adapter.delete("ws_alpha", "wf_01TEST")
    with pytest.raises(ClientError) as caught:
        scheduler_client.get_schedule(Name="wf_01TEST", GroupName=GROUP)
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_given_the_client_factory_when_nothing_is_scheduled_then_no_client_is_built() -> None:
    built: list[int] = []

    def factory() -> Any:
        built.append(1)
        raise AssertionError("built")

    EventBridgeScheduler(factory, TARGET)
    assert built == []


# --- through the stack's handlers ---------------------------------------------------------------

@pytest.fixture
def stack(aws_stack: AwsStack, monkeypatch: pytest.MonkeyPatch) -> AwsStack:
    """The stack (its schedule group is the bus name), plus a dead-letter queue for this test."""
    monkeypatch.setenv("DOCFLOW_SCHEDULE_DLQ_ARN", DLQ_ARN)
    aws.ports.cache_clear()
    load("api")._app.cache_clear()
    ensure_key(aws.ports().keys, API_KEY)
    return aws_stack


def workflow_and_document(stack: AwsStack) -> tuple[str, str]:
    status, workflow = stack.http("POST", "/v1/workflows", body=INVOICE_WORKFLOW)
    assert status == 201, workflow
    return workflow["id"], StackApi(stack, API_KEY).upload("invoice.pdf", invoice_pdf())


def test_given_the_api_on_aws_when_managing_a_schedule_then_eventbridge_scheduler_follows(stack: AwsStack) -> None:
    workflow_id, document_id = workflow_and_document(stack)
    path = f"/v1/workflows/{workflow_id}/schedule"
    body = {"cron_expression": "0 9 * * 1-5", "timezone": "America/New_York", "enabled": True,
            "input": {"document_id": document_id}}
    status, created = stack.http("POST", path, body=body)
    assert status == 201, created
    assert len(created["next_fire_times"]) == 3 and all(t.endswith(("-05:00", "-04:00"))
                                                        for t in created["next_fire_times"])
    scheduler = boto3.client("scheduler", region_name=REGION)
    stored = scheduler.get_schedule(Name=workflow_id, GroupName=stack.bus)
    assert stored["ScheduleExpression"] == "cron(0 9 ? * 2-6 *)"
    assert json.loads(stored["Target"]["Input"])["schedule_id"] == created["id"]

    status, again = stack.http("POST", path, body=body)
    assert status == 409 and workflow_id in again["error"]["message"], again
    status, invalid = stack.http("PUT", path, body={**body, "cron_expression": "0 9 1 * 1"})
    assert status == 422 and invalid["error"]["details"][0]["loc"] == ["body", "cron_expression"], invalid

    status, replaced = stack.http("PUT", path, body={**body, "enabled": False})
    assert status == 200 and replaced["enabled"] is False and replaced["next_fire_times"] == [], replaced
    assert scheduler.get_schedule(Name=workflow_id, GroupName=stack.bus)["State"] == "DISABLED"

    status, _ = stack.http("DELETE", path)
    assert status == 204
    assert scheduler.list_schedules(GroupName=stack.bus)["Schedules"] == []
    status, gone = stack.http("GET", path)
    assert status == 404, gone


def test_given_one_scheduler_event_when_the_target_is_invoked_twice_then_exactly_one_run(stack: AwsStack) -> None:
    workflow_id, document_id = workflow_and_document(stack)
    status, created = stack.http("POST", f"/v1/workflows/{workflow_id}/schedule", body={
        "cron_expression": "30 2 * * *", "timezone": "America/New_York",
        "input": {"document_id": document_id, "batch": "nightly"}})
    assert status == 201, created
    # The Input Scheduler would send, with its scheduled-time placeholder filled in.
    stored = boto3.client("scheduler", region_name=REGION).get_schedule(Name=workflow_id, GroupName=stack.bus)
    event = json.loads(stored["Target"]["Input"].replace(SCHEDULED_TIME, "2026-03-09T06:30:00Z"))

    handler = load("schedule_target").lambda_handler
    first = handler(event, LambdaContextStub())
    second = handler(event, LambdaContextStub())
    assert first["status"] == "started" and second == {**first, "status": "replayed"}

    status, listed = stack.http("GET", f"/v1/workflows/{workflow_id}/executions")
    assert status == 200 and [e["id"] for e in listed["items"]] == [first["execution_id"]], listed
    run = StackApi(stack, API_KEY).wait(first["execution_id"])
    assert run["trigger_method"] == "schedule" and run["status"] == "completed", run
    status, schedule = stack.http("GET", f"/v1/workflows/{workflow_id}/schedule")
    assert schedule["last_fire_time"] == 1773037800.0  # 2026-03-09T06:30:00Z

    # A delivery still in flight when the schedule is deleted starts nothing.
    assert stack.http("DELETE", f"/v1/workflows/{workflow_id}/schedule")[0] == 204
    late = handler({**event, "scheduled_time": "2026-03-10T06:30:00Z"}, LambdaContextStub())
    assert late == {"status": "skipped", "reason": f"workflow {workflow_id} has no schedule"}
    assert len(stack.http("GET", f"/v1/workflows/{workflow_id}/executions")[1]["items"]) == 1
