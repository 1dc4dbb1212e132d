"""Executions: start a run (JSON or multipart/form-data), list a workflow's runs, read one,
acknowledge or cancel it."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from docflow.api.bodies import JSON, MULTIPART, form_parts, json_model, media_type, raw_body, unsupported
from docflow.api.context import key_id_of, workspace_of
from docflow.api.openapi import PROTECTED, responses
from docflow.api.params import Cursor, ExecutionId, IdempotencyKey, Limit, WaitSeconds, WorkflowId
from docflow.api.schemas import ExecuteAccepted, ExecutionList, ExecutionOut, ExecutionPatch, ExecutionStart
from docflow.domain.clock import iso
from docflow.domain.models import ExecutionStatus
from docflow.ports import Ports
from docflow.usecases import executions as execution_cases

TAGS = ["executions"]
# Routes whose body may be JSON or multipart/form-data: api/app.py documents both.
START_OPERATIONS = ("startExecution", "executeWorkflow")
REPLAYED_HEADER = "Idempotent-Replayed"
START_ERRORS = (404, 409, 413, 415)


def build(ports: Ports) -> Router:
    router = Router()

    def start(workflow_id: str, idempotency_key: str | None) -> execution_cases.Started:
        event = router.current_event
        kind, data = media_type(event), raw_body(event)
        workspace_id, key_id = workspace_of(router), key_id_of(router)
        if kind == MULTIPART:
            from docflow.usecases.form_runs import FormRun, start_form_run  # only form runs need it

            form = FormRun(parts=form_parts(event.headers.get("content-type", ""), data),
                           idempotency_key=idempotency_key, triggered_by=key_id)
            return start_form_run(ports, workspace_id, workflow_id, form)
        if kind not in (JSON, "") or (kind == "" and data):
            raise unsupported(event.headers.get("content-type", ""), (JSON, MULTIPART))
        body = json_model(ExecutionStart, data)
        request = execution_cases.StartRequest(
            document_ids=body.all_document_ids(), name=body.name or body.title, metadata=body.metadata,
            trigger_data=body.trigger_data, start_step=body.start_step, end_step=body.end_step,
            result_step=body.result_step, trigger_method="api", idempotency_key=idempotency_key,
            triggered_by=key_id)
        return execution_cases.start_execution(ports, workspace_id, workflow_id, request)

    def accepted(started: execution_cases.Started, body: Any) -> Response[Any]:
        headers = {REPLAYED_HEADER: "true"} if started.replayed else {}
        return Response(202, content_types.APPLICATION_JSON, body, headers=headers)

    @router.post("/v1/workflows/<workflow_id>/executions", status_code=202, operation_id="startExecution",
                 summary="Start a run on uploaded documents (JSON) or on files sent with the request (multipart)",
                 description="A retry with the same `Idempotency-Key` and the same request returns the first run "
                             f"(header `{REPLAYED_HEADER}: true`) and starts nothing.",
                 tags=TAGS, security=PROTECTED, responses=responses(202, ExecutionOut, *START_ERRORS))
    def start_execution(workflow_id: WorkflowId, idempotency_key: IdempotencyKey = None) -> Response[ExecutionOut]:
        started = start(workflow_id, idempotency_key)
        return accepted(started, ExecutionOut.of(started.execution))

    @router.post("/v1/workflows/<workflow_id>/execute", status_code=202, operation_id="executeWorkflow",
                 summary="Start a run (seed shape: `{\"trigger_data\": {\"document_id\": ...}}`)",
                 tags=TAGS, security=PROTECTED, responses=responses(202, ExecuteAccepted, *START_ERRORS))
    def execute(workflow_id: WorkflowId, idempotency_key: IdempotencyKey = None) -> Response[ExecuteAccepted]:
        started = start(workflow_id, idempotency_key)
        out = ExecuteAccepted(execution_id=started.execution.id, status="running",
                              started_at=iso(started.execution.created_at) or "")
        return accepted(started, out)

    @router.get("/v1/workflows/<workflow_id>/executions", operation_id="listExecutions",
                summary="List a workflow's runs, newest first", tags=TAGS, security=PROTECTED,
                responses=responses(200, ExecutionList, 404))
    def list_executions(workflow_id: WorkflowId,
                        status: Annotated[ExecutionStatus | None, Query(description="Only runs in this status")] = None,
                        limit: Limit = 20, cursor: Cursor = None) -> ExecutionList:
        page = execution_cases.list_executions(ports, workspace_of(router), workflow_id, status, limit, cursor)
        items = [ExecutionOut.of(e) for e in page.items]
        return ExecutionList(items=items, next_cursor=page.next_cursor, executions=items)

    @router.get("/v1/workflows/<workflow_id>/executions/<execution_id>", operation_id="getWorkflowExecution",
                summary="Get one run of a workflow", tags=TAGS, security=PROTECTED,
                responses=responses(200, ExecutionOut, 404))
    def get_workflow_execution(workflow_id: WorkflowId, execution_id: ExecutionId,
                               wait: WaitSeconds = 0) -> ExecutionOut:
        return ExecutionOut.of(execution_cases.wait_for_execution(ports, workspace_of(router), execution_id, wait,
                                                                  workflow_id))

    @router.get("/v1/executions/<execution_id>", operation_id="getExecution", summary="Get a run by its id alone",
                tags=TAGS, security=PROTECTED, responses=responses(200, ExecutionOut, 404))
    def get_execution(execution_id: ExecutionId, wait: WaitSeconds = 0) -> ExecutionOut:
        return ExecutionOut.of(execution_cases.wait_for_execution(ports, workspace_of(router), execution_id, wait))

    @router.patch("/v1/workflows/<workflow_id>/executions/<execution_id>", operation_id="updateExecution",
                  summary="Mark a finished run consumed (`completed`) or cancel a running one (`canceled`)",
                  tags=TAGS, security=PROTECTED, responses=responses(200, ExecutionOut, 404, 409))
    def update_execution(workflow_id: WorkflowId, execution_id: ExecutionId,
                         body: Annotated[ExecutionPatch, Body()]) -> ExecutionOut:
        workspace_id = workspace_of(router)
        if body.status == "completed":
            execution = execution_cases.acknowledge_execution(ports, workspace_id, workflow_id, execution_id)
        else:
            execution = execution_cases.cancel_execution(ports, workspace_id, workflow_id, execution_id)
        return ExecutionOut.of(execution)

    return router
