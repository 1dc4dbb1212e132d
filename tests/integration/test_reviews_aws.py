"""Human review on AWS: the real ASL under moto parks a run in the `.waitForTaskToken` Task, the
API's complete sends the stored task token (SendTaskSuccess) and the run goes on; reject sends
SendTaskFailure; an unanswered wait ends by the Task's TimeoutSecondsPath."""

from __future__ import annotations

import time
from typing import Any

import pytest
from docflow_testing import API_KEY, AwsStack, StackApi, invoice_pdf, review_workflow

from docflow.runtime import aws
from docflow.usecases.keys import ensure_key


def _start(api: StackApi, workflow: dict[str, Any]) -> str:
    created = api.post("/v1/workflows", json=workflow)
    assert created.status_code == 201, created.text
    document_id = api.upload("invoice.pdf", invoice_pdf(invoice_number="AWS-7"))
    started = api.post(f"/v1/workflows/{created.json()['id']}/executions", json={"document_id": document_id})
    assert started.status_code == 202, started.text
    return str(started.json()["id"])


def _until(api: StackApi, execution_id: str, status: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        execution = dict(api.get(f"/v1/executions/{execution_id}").json())
        if execution["status"] == status or time.monotonic() > deadline:
            return execution
        time.sleep(0.02)


def _token_stored(stack: AwsStack, review_id: str, timeout: float = 20) -> str:
    """The waiting Task has stored its token (the review was parked by RunStep just before)."""
    deadline = time.monotonic() + timeout
    while True:
        token = aws.ports().reviews.get("default", review_id).task_token  # type: ignore[union-attr]
        if token is not None or time.monotonic() > deadline:
            assert token is not None, "the AwaitReview Task never stored its token"
            return token
        time.sleep(0.02)


def _entered(stack: AwsStack, execution_id: str) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in stack.history(execution_id)
            if "stateEnteredEventDetails" in e]


@pytest.fixture
def api(aws_stack: AwsStack) -> StackApi:
    ensure_key(aws.ports().keys, API_KEY)
    return StackApi(aws_stack, API_KEY)


def _paused(api: StackApi, stack: AwsStack, workflow: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    execution_id = _start(api, workflow)
    assert _until(api, execution_id, "review")["status"] == "review"
    tasks = api.get("/v1/reviews").json()["items"]
    assert [t["execution_id"] for t in tasks] == [execution_id]
    _token_stored(stack, tasks[0]["id"])
    return execution_id, tasks[0]


def test_given_a_run_paused_at_the_review_task_when_completed_through_the_api_then_the_token_resumes_it(
        aws_stack: AwsStack, api: StackApi) -> None:
    execution_id, task = _paused(api, aws_stack, review_workflow())
    assert aws_stack.wait_sfn(execution_id, timeout=0.2)["status"] == "RUNNING"  # waiting, not done
    done = api.post(f"/v1/reviews/{task['id']}/complete", json={"values": {"invoice_number": "AWS-8"}})
    assert done.status_code == 200, done.text

    described = aws_stack.wait_sfn(execution_id)
    assert described["status"] == "SUCCEEDED", described
    history = aws_stack.history(execution_id)
    assert any(e["type"] == "TaskSubmitted" and "waitForTaskToken" in e["taskSubmittedEventDetails"]["resource"]
               for e in history)
    assert any(e["type"] == "TaskSucceeded" and "waitForTaskToken" in e["taskSucceededEventDetails"]["resource"]
               for e in history)
    states = _entered(aws_stack, execution_id)
    assert states[states.index("AwaitReview") + 1:][:1] == ["Route"] and states[-1] == "Done"
    assert len(states) <= 2 * 3 + 3, states  # DESIGN.md §8: a wait for a person costs no extra state
    finished = api.get(f"/v1/executions/{execution_id}").json()
    assert finished["status"] == "completed"
    assert finished["output"]["values"]["invoice_number"] == "AWS-8"
    assert finished["output"]["review"]["changed_fields"] == ["invoice_number"]
    assert finished["output"]["review"]["predicted"]["invoice_number"] == "AWS-7"


def test_given_a_run_paused_at_the_review_task_when_rejected_then_the_state_machine_fails_it(
        aws_stack: AwsStack, api: StackApi) -> None:
    execution_id, task = _paused(api, aws_stack, review_workflow())
    rejected = api.post(f"/v1/reviews/{task['id']}/reject", json={"reason": "duplicate"})
    assert rejected.status_code == 200, rejected.text
    described = aws_stack.wait_sfn(execution_id)
    assert described["status"] == "FAILED", described
    assert "MarkFailed" in _entered(aws_stack, execution_id)
    failed = api.get(f"/v1/executions/{execution_id}").json()
    assert failed["status"] == "failed" and failed["error"]["code"] == "review_rejected"
    assert "duplicate" in failed["error"]["message"]


@pytest.mark.parametrize(("on_timeout", "sfn_status", "status"),
                         [("fail", "FAILED", "failed"), ("approve", "SUCCEEDED", "completed")])
def test_given_an_unanswered_review_task_when_its_timeout_passes_then_the_run_fails_or_goes_on(
        aws_stack: AwsStack, api: StackApi, on_timeout: str, sfn_status: str, status: str) -> None:
    execution_id, task = _paused(api, aws_stack, review_workflow(timeout_hours=1 / 3600, on_timeout=on_timeout))
    described = aws_stack.wait_sfn(execution_id)
    assert described["status"] == sfn_status, described
    assert any(e["type"] == "TaskTimedOut" for e in aws_stack.history(execution_id))
    assert "ReviewTimedOut" in _entered(aws_stack, execution_id)
    finished = api.get(f"/v1/executions/{execution_id}").json()
    assert finished["status"] == status, finished
    if on_timeout == "fail":
        assert finished["error"]["code"] == "review_timeout"
    else:
        assert finished["output"]["review"]["outcome"] == "timeout_approved"
    assert api.get(f"/v1/reviews/{task['id']}").json()["status"] == "expired"
    late = api.post(f"/v1/reviews/{task['id']}/complete", json={"values": {}})
    assert late.status_code == 409, late.text


def test_given_a_review_answered_before_the_task_stored_its_token_when_the_token_arrives_then_it_resumes_the_run(
        aws_stack: AwsStack, api: StackApi) -> None:
    """The race between RunStep parking the run and AwaitReview storing its token: exactly one of
    the two (the answer, the token) tells the state machine."""
    from docflow.usecases import reviews, run

    ports = aws.ports()
    execution_id = _start(api, review_workflow())
    assert _until(api, execution_id, "review")["status"] == "review"
    task = api.get("/v1/reviews").json()["items"][0]
    token = _token_stored(aws_stack, task["id"])
    # Forget the token, as if the answer came first; complete; then the Task's own call arrives.
    stored = ports.reviews.get("default", task["id"])  # type: ignore[union-attr]
    ports.reviews.save(stored.model_copy(update={"task_token": None}))  # type: ignore[union-attr]
    assert api.post(f"/v1/reviews/{task['id']}/complete", json={"values": {}}).status_code == 200
    assert aws_stack.wait_sfn(execution_id, timeout=0.2)["status"] == "RUNNING"  # nobody told it yet
    reviews.await_review(ports, "default", task["id"], token)
    assert aws_stack.wait_sfn(execution_id)["status"] == "SUCCEEDED"
    assert run.progress_of(ports, "default", execution_id).step is None
    assert api.get(f"/v1/executions/{execution_id}").json()["status"] == "completed"
