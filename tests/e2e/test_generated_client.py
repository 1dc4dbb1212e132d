"""The OpenAPI document is a product: a client generated from `/v1/openapi.json` by
openapi-python-client drives a whole run against local mode, every call answering its typed
model (never None: a status the document does not declare raises), errors parsing into the
error model."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import requests
from docflow_testing import API_KEY, INVOICE_WORKFLOW, LocalMode, invoice_pdf

from docflow.domain.clock import new_id

pytestmark = pytest.mark.e2e
PACKAGE = "docflow_generated_client"


@pytest.fixture
def generated(local_mode: LocalMode, tmp_path: Path) -> Iterator[ModuleType]:
    spec = tmp_path / "openapi.json"
    spec.write_bytes(requests.get(f"{local_mode.url}/v1/openapi.json", timeout=30).content)
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}  # its ruff post-hook
    generated = subprocess.run(
        [str(bin_dir / "openapi-python-client"), "generate", "--path", str(spec), "--meta", "none",
         "--output-path", str(tmp_path / PACKAGE)],
        capture_output=True, text=True, env=env, timeout=300, check=False)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "Warning" not in generated.stdout, generated.stdout  # nothing of the document was skipped
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


class _Operations:
    """`ops.workflows.create_workflow`: the generated module of one operation, imported on use."""

    def __init__(self, tag: str) -> None:
        self._tag = tag

    def __getattr__(self, operation: str) -> Any:
        return _module(f"api.{self._tag}.{operation}")


def test_given_a_generated_client_when_it_runs_a_document_end_to_end_then_every_answer_is_its_typed_model(
        local_mode: LocalMode, generated: ModuleType) -> None:
    models = _module("models")
    workflows, documents, executions = _Operations("workflows"), _Operations("documents"), _Operations("executions")
    client = generated.AuthenticatedClient(base_url=local_mode.url, token=API_KEY, raise_on_unexpected_status=True)

    workflow = workflows.create_workflow.sync(client=client, body=models.WorkflowIn.from_dict(INVOICE_WORKFLOW))
    assert isinstance(workflow, models.WorkflowOut) and workflow.version == 1
    listed = workflows.list_workflows.sync(client=client, limit=10)
    assert isinstance(listed, models.WorkflowList) and [w.id for w in listed.items] == [workflow.id]

    pdf = invoice_pdf(invoice_number="GEN-1")
    handle = documents.create_document.sync(
        client=client, body=models.DocumentCreate(name="gen.pdf", content_type="application/pdf", size=len(pdf)))
    assert isinstance(handle, models.DocumentHandleOut)
    put = httpx.put(handle.file_url, content=pdf, headers=handle.upload_headers.to_dict(), timeout=30)
    assert put.status_code == 200, put.text

    started = executions.start_execution.sync(workflow.id, client=client,
                                              body=models.ExecutionStart(document_id=handle.document_id),
                                              idempotency_key="generated-1")
    assert isinstance(started, models.ExecutionOut) and started.trigger_method == models.ExecutionOutTriggerMethod.API
    deadline = time.monotonic() + 30
    run = started
    while run.status in (models.ExecutionStatus.QUEUED, models.ExecutionStatus.PROCESSING):
        assert time.monotonic() < deadline, run
        time.sleep(0.05)
        run = executions.get_execution.sync(started.id, client=client)
        assert isinstance(run, models.ExecutionOut)
    assert run.status == models.ExecutionStatus.COMPLETED, run
    assert run.output.values.to_dict()["invoice_number"] == "GEN-1"
    assert all(isinstance(entry.status, models.StepStatus) for entry in run.execution_log)

    history = executions.list_executions.sync(workflow.id, client=client, status=models.ExecutionStatus.COMPLETED)
    assert isinstance(history, models.ExecutionList) and [e.id for e in history.items] == [run.id]
    document = documents.get_document.sync(handle.document_id, client=client)
    assert isinstance(document, models.DocumentOut) and document.status == models.DocumentStatus.PROCESSED
    acknowledged = executions.update_execution.sync(
        workflow.id, run.id, client=client, body=models.ExecutionPatch(status=models.ExecutionPatchStatus.COMPLETED))
    assert isinstance(acknowledged, models.ExecutionOut) and acknowledged.acknowledged is True

    deleted = workflows.delete_workflow.sync_detailed(workflow.id, client=client)
    assert deleted.status_code == 204


def test_given_a_generated_client_when_the_server_refuses_then_the_error_parses_into_the_error_model(
        local_mode: LocalMode, generated: ModuleType) -> None:
    models = _module("models")
    workflows, executions = _Operations("workflows"), _Operations("executions")
    client = generated.AuthenticatedClient(base_url=local_mode.url, token=API_KEY, raise_on_unexpected_status=True)

    missing = workflows.get_workflow.sync(new_id("wf"), client=client)
    assert isinstance(missing, models.ErrorResponse) and missing.error.code == "not_found"

    bad = models.WorkflowIn.from_dict({**INVOICE_WORKFLOW, "name": ""})
    refused = workflows.create_workflow.sync(client=client, body=bad)
    assert isinstance(refused, models.ErrorResponse) and refused.error.code == "validation_error"
    assert refused.error.details[0].to_dict()["loc"] == ["body", "name"]

    no_document = executions.start_execution.sync(new_id("wf"), client=client, body=models.ExecutionStart())
    assert isinstance(no_document, models.ErrorResponse) and no_document.error.code == "not_found"

    anonymous = generated.Client(base_url=local_mode.url, raise_on_unexpected_status=True)
    unauthorized = workflows.list_workflows.sync(client=anonymous)
    assert isinstance(unauthorized, models.ErrorResponse) and unauthorized.error.code == "unauthorized"
