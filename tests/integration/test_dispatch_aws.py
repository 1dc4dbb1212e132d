"""Platform-event triggers on AWS under moto: the template's rule pattern against sample events
(moto's test_event_pattern), and the dispatch function on an event the stack really published."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from docflow_testing import (
    API_KEY,
    EVENTS,
    INVOICE_WORKFLOW,
    AwsStack,
    LambdaContextStub,
    StackApi,
    capture_rule,
    drain_queue,
    invoice_pdf,
    load_handler,
    template_resources,
)

from docflow.domain.event_triggers import PLATFORM_EVENTS
from docflow.runtime import aws
from docflow.usecases.keys import ensure_key


def _template_pattern() -> dict[str, Any]:
    event = template_resources()["DispatchFunction"]["Properties"]["Events"]["PlatformEvent"]
    assert event["Type"] == "EventBridgeRule"
    assert event["Properties"]["EventBusName"] == {"Ref": "EventBus"}  # the stack's bus, not the default one
    return dict(event["Properties"]["Pattern"])


def _sample(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / name).read_text()))


def _changed(event: dict[str, Any], **fields: Any) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    changed.update({k.replace("_", "-"): v for k, v in fields.items()})
    return changed


@pytest.fixture
def stack(aws_stack: AwsStack) -> AwsStack:
    ensure_key(aws.ports().keys, API_KEY)
    return aws_stack


def test_given_the_template_rule_when_platform_and_other_events_are_put_then_only_platform_events_reach_it(
        stack: AwsStack) -> None:
    """moto 5.2.5 stubs test_event_pattern (it answers without a Result), so the pattern is
    checked the way EventBridge applies it: put_events on the bus, a rule with the template's
    pattern, and what reaches its (SQS) target."""
    assert set(_template_pattern()["detail-type"]) == set(PLATFORM_EVENTS)
    queue_url = _capture_platform_events(stack)
    completed, uploaded = _sample("platform_execution_completed.json"), _sample("platform_document_uploaded.json")
    samples = [completed, uploaded, _sample("s3_object_created.json"),
               *(_changed(completed, detail_type=t) for t in PLATFORM_EVENTS),
               _changed(completed, source="aws.s3"), _changed(completed, detail_type="execution.started"),
               _changed(completed, source="docflow.other"), _changed(completed, detail_type="Execution.Completed")]
    for sample in samples:
        response = stack.clients.events.put_events(Entries=[{
            "Source": sample["source"], "DetailType": sample["detail-type"], "Detail": json.dumps(sample["detail"]),
            "EventBusName": stack.bus}])
        assert response["FailedEntryCount"] == 0

    received = sorted((e["source"], e["detail-type"]) for e in _received(queue_url))
    expected = sorted([("docflow", "execution.completed"), ("docflow", "document.uploaded"),
                       *(("docflow", t) for t in PLATFORM_EVENTS)])
    assert received == expected


def _capture_platform_events(stack: AwsStack) -> str:
    """What the dispatch function would receive."""
    return capture_rule(stack, "platform-events", _template_pattern())


def _received(queue_url: str) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in drain_queue(queue_url)]


def _workflow(stack: AwsStack, name: str, **changes: Any) -> str:
    status, created = stack.http("POST", "/v1/workflows", body={**INVOICE_WORKFLOW, "name": name, **changes})
    assert status == 201, created
    return str(created["id"])


def test_given_b_triggered_by_a_when_a_completes_and_its_event_arrives_twice_then_b_runs_once(
        stack: AwsStack) -> None:
    queue_url = _capture_platform_events(stack)
    a = _workflow(stack, "A")
    b = _workflow(stack, "B", trigger_type="event",
                  trigger_config={"event": "execution.completed", "filters": {"workflow_id": a, "file_type": "pdf"}})
    api = StackApi(stack, API_KEY)
    document_id = api.upload("invoice.pdf", invoice_pdf())
    status, started = stack.http("POST", f"/v1/workflows/{a}/executions",
                                 body={"document_id": document_id, "metadata": {"customer": "acme"}})
    assert status == 202, started
    assert api.wait(started["id"])["status"] == "completed"

    completed = [e for e in _received(queue_url)
                 if e["detail-type"] == "execution.completed" and e["detail"]["execution_id"] == started["id"]]
    assert len(completed) == 1
    event = completed[0]
    assert event["source"] == "docflow"
    assert {k: event["detail"][k] for k in ("workflow_id", "document_id", "content_type", "metadata",
                                            "trigger_depth")} == {
        "workflow_id": a, "document_id": document_id, "content_type": "application/pdf",
        "metadata": {"customer": "acme"}, "trigger_depth": 0}

    dispatch = load_handler("dispatch")
    first = dispatch.lambda_handler(event, LambdaContextStub())
    second = dispatch.lambda_handler(event, LambdaContextStub())  # EventBridge delivers at least once

    assert [s["workflow_id"] for s in first["started"]] == [b] and not first["started"][0]["replayed"]
    assert second["started"] == [{**first["started"][0], "replayed": True}]
    status, runs = stack.http("GET", f"/v1/workflows/{b}/executions")
    assert status == 200 and len(runs["items"]) == 1
    run_b = api.wait(first["started"][0]["execution_id"])
    assert run_b["status"] == "completed", run_b
    assert (run_b["trigger_method"], run_b["metadata"]) == ("event", {"customer": "acme"})

    # B's own completion reaches the dispatcher too: B is not started by its own event.
    own = [e for e in _received(queue_url)
           if e["detail-type"] == "execution.completed" and e["detail"]["execution_id"] == run_b["id"]]
    assert len(own) == 1 and own[0]["detail"]["trigger_depth"] == 1
    assert dispatch.lambda_handler(own[0], LambdaContextStub())["started"] == []
    status, runs = stack.http("GET", f"/v1/workflows/{b}/executions")
    assert len(runs["items"]) == 1


def test_given_an_event_without_a_workspace_when_dispatched_then_it_is_ignored(stack: AwsStack) -> None:
    event = _sample("platform_execution_completed.json")
    del event["detail"]["workspace_id"]
    result = load_handler("dispatch").lambda_handler(event, LambdaContextStub())
    assert result["started"] == [] and result["event_id"] == event["id"]
