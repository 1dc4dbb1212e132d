"""What stops a run that a definition stored before today's checks could not finish: a step type
this version has no module for fails the run with `unsupported_step` (never stuck `processing`),
and a `next` cycle fails it with `step_limit_exceeded` at the step budget — on both orchestrators."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from docflow_testing import API_KEY, Api, AwsStack, StackApi, invoice_pdf

from docflow.domain.limits import Limits
from docflow.domain.models import Workflow, WorkflowDefinition
from docflow.runtime import aws
from docflow.runtime.local.server import RunningServer
from docflow.runtime.settings import LocalSettings
from docflow.steps.registry import STEP_KINDS
from docflow.usecases.keys import ensure_key

UNSUPPORTED = [{"id": "parse", "type": "parse"}, {"id": "check", "type": "review"}]
CYCLE = [{"id": "a", "type": "parse", "next": "b"}, {"id": "b", "type": "parse", "next": "a"}]


def _stored(ports: Any, steps: list[dict[str, Any]]) -> str:
    """Written straight to the store, as an older version could have: the API would refuse it."""
    workflow = Workflow(workspace_id="default", name="legacy", definition=WorkflowDefinition.model_validate(
        {"steps": steps}))
    ports.workflows.add(workflow)
    return workflow.id


def _run(api: Any, workflow_id: str) -> dict[str, Any]:
    document_id = api.upload("invoice.pdf", invoice_pdf())
    started = api.post(f"/v1/workflows/{workflow_id}/executions", json={"document_id": document_id})
    assert started.status_code == 202, started.text
    return dict(api.wait(started.json()["id"]))


def _assert_failed(run: dict[str, Any], code: str, steps_run: int) -> None:
    assert run["status"] == "failed" and run["error"]["code"] == code, run
    assert [e["status"] for e in run["execution_log"]].count("completed") == steps_run, run["execution_log"]


def test_given_legacy_definitions_when_run_locally_then_they_fail_with_a_clear_code(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(STEP_KINDS, "review")  # a stored definition with a type this build lacks
    settings = LocalSettings(data_dir=tmp_path / "data", host="127.0.0.1", port=0, workers=2, api_key=API_KEY,
                             limits=Limits(max_steps_per_run=5))
    server = RunningServer(settings).start()
    try:
        api = Api(server.url, API_KEY)
        _assert_failed(_run(api, _stored(server.runtime.ports, UNSUPPORTED)), "unsupported_step", 1)
        _assert_failed(_run(api, _stored(server.runtime.ports, CYCLE)), "step_limit_exceeded", 5)
    finally:
        server.stop()


def test_given_legacy_definitions_when_run_on_the_state_machine_then_they_fail_with_a_clear_code(
        aws_stack: AwsStack, monkeypatch: Any) -> None:
    ensure_key(aws.ports().keys, API_KEY)
    monkeypatch.delitem(STEP_KINDS, "review")  # a stored definition with a type this build lacks
    monkeypatch.setattr(aws.ports(), "limits", Limits(max_steps_per_run=5))
    api = StackApi(aws_stack, API_KEY)
    _assert_failed(_run(api, _stored(aws.ports(), UNSUPPORTED)), "unsupported_step", 1)
    failed = _run(api, _stored(aws.ports(), CYCLE))
    _assert_failed(failed, "step_limit_exceeded", 5)
    assert aws_stack.wait_sfn(failed["id"])["status"] == "FAILED"
