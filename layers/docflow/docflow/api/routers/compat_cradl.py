"""/compat/cradl: the part of Cradl's REST API that its official Python SDK (`cradl==0.4.10`)
drives for flows, over Docflow's own use-cases, so that SDK works unmodified with
`api_endpoint=<base URL>/compat/cradl` and a Docflow API key as its access token.

Cradl's shapes are camelCase (api/schemas_cradl.py); errors keep Docflow's `{"error": ...}`
shape (the SDK raises on the status). A document's `fileUrl` is a Docflow route taking the
SDK's PUT with its Bearer key and no Content-Type: the type is sniffed from the bytes."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from docflow.api.bodies import raw_body
from docflow.api.context import key_id_of, workspace_of
from docflow.api.openapi import PROTECTED, responses
from docflow.api.params import DocumentId, ExecutionId, IdempotencyKey, WorkflowId
from docflow.api.schemas_cradl import (
    RUNNING,
    CradlDocument,
    CradlDocumentCreate,
    CradlDocumentList,
    CradlExecution,
    CradlExecutionList,
    CradlExecutionPatch,
    CradlExecutionStart,
    CradlWorkflow,
    CradlWorkflowList,
)
from docflow.domain.errors import ValidationFailed
from docflow.domain.models import Execution, ExecutionStatus
from docflow.ports import Ports
from docflow.usecases import documents as document_cases
from docflow.usecases import executions as execution_cases
from docflow.usecases import workflows as workflow_cases

PREFIX = "/compat/cradl"
TAGS = ["cradl compatibility"]
# The one route whose body is the document's bytes, of any type (api/app.py lets it through).
CONTENT_PATH = PREFIX + "/documents/{}/content"
PUT_CONTENT_OPERATION = "cradlPutDocumentContent"

MaxResults = Annotated[int, Query(alias="maxResults", ge=1, le=100, description="Page size (default 20)")]
NextToken = Annotated[str | None, Query(alias="nextToken", max_length=512, description="`nextToken` of a page")]
StatusFilter = Annotated[str | None, Query(
    description="running, succeeded, completed, failed or rejected; several comma-separated")]

# Cradl status → the Docflow status to query and the test each run must pass.
_FILTERS: dict[str, tuple[ExecutionStatus | None, Any]] = {
    "running": (None, lambda e: e.status in RUNNING),
    "succeeded": (ExecutionStatus.COMPLETED, lambda e: not e.acknowledged),
    "completed": (ExecutionStatus.COMPLETED, lambda e: e.acknowledged),
    "failed": (ExecutionStatus.FAILED, lambda e: True),
    "rejected": (ExecutionStatus.CANCELED, lambda e: True),
}


def _base_url(router: Router) -> str:
    """The URL the caller used to reach this API (API Gateway's domain, or the local server's host)."""
    event: Any = router.current_event  # an HTTP API (payload 2.0) event on both runtimes
    context = event.request_context
    host = event.headers.get("host") or context.domain_name
    scheme = event.headers.get("x-forwarded-proto") or ("http" if context.api_id == "local" else "https")
    return f"{scheme}://{host}"


def build(ports: Ports) -> Router:
    router = Router()

    def document_out(document: Any) -> CradlDocument:
        return CradlDocument.of(document, _base_url(router) + CONTENT_PATH.format(document.id))

    @router.post(PREFIX + "/documents", status_code=200, operation_id="cradlCreateDocument",
                 summary="Cradl: create a document; PUT its bytes to fileUrl with the same Bearer key",
                 tags=TAGS, security=PROTECTED, responses=responses(200, CradlDocument))
    def create_document(body: Annotated[CradlDocumentCreate, Body()]) -> CradlDocument:
        document = document_cases.create_document_for_content(ports, workspace_of(router), body.name, body.metadata)
        return document_out(document)

    @router.put(PREFIX + "/documents/<document_id>/content", operation_id=PUT_CONTENT_OPERATION,
                summary="Cradl: the document's bytes (any type: sniffed from the bytes), once",
                tags=TAGS, security=PROTECTED, responses=responses(200, CradlDocument, 404, 409, 413, 415))
    def put_content(document_id: DocumentId) -> CradlDocument:
        data = raw_body(router.current_event)
        return document_out(document_cases.put_content(ports, workspace_of(router), document_id, data))

    @router.get(PREFIX + "/documents/<document_id>/content", operation_id="cradlGetDocumentContent",
                summary="Cradl: the document's bytes", tags=TAGS, security=PROTECTED,
                responses=responses(200, bytes, 404, 409, content_type="application/octet-stream"))
    # No return annotation on purpose (as for review pages): powertools' validation would serialise
    # the bytes as JSON; the bytes are declared in `responses`.
    def get_content(document_id: DocumentId):
        document, data = document_cases.read_content(ports, workspace_of(router), document_id)
        return Response(200, document.content_type, data)

    @router.get(PREFIX + "/documents/<document_id>", operation_id="cradlGetDocument", summary="Cradl: a document",
                tags=TAGS, security=PROTECTED, responses=responses(200, CradlDocument, 404))
    def get_document(document_id: DocumentId) -> CradlDocument:
        return document_out(document_cases.get_document(ports, workspace_of(router), document_id))

    @router.get(PREFIX + "/documents", operation_id="cradlListDocuments", summary="Cradl: documents, newest first",
                tags=TAGS, security=PROTECTED, responses=responses(200, CradlDocumentList))
    def list_documents(max_results: MaxResults = 20, next_token: NextToken = None) -> CradlDocumentList:
        page = document_cases.list_documents(ports, workspace_of(router), max_results, next_token)
        return CradlDocumentList(documents=[document_out(d) for d in page.items], nextToken=page.next_cursor)

    @router.delete(PREFIX + "/documents/<document_id>", operation_id="cradlDeleteDocument",
                   summary="Cradl: delete a document and its bytes", tags=TAGS, security=PROTECTED,
                   responses=responses(200, CradlDocument, 404))
    def delete_document(document_id: DocumentId) -> CradlDocument:
        return document_out(document_cases.delete_document(ports, workspace_of(router), document_id))

    @router.get(PREFIX + "/workflows", operation_id="cradlListWorkflows", summary="Cradl: workflows, newest first",
                tags=TAGS, security=PROTECTED, responses=responses(200, CradlWorkflowList))
    def list_workflows(max_results: MaxResults = 20, next_token: NextToken = None) -> CradlWorkflowList:
        page = workflow_cases.list_workflows(ports.workflows, workspace_of(router), max_results, next_token)
        return CradlWorkflowList(workflows=[CradlWorkflow.of(w) for w in page.items], nextToken=page.next_cursor)

    @router.get(PREFIX + "/workflows/<workflow_id>", operation_id="cradlGetWorkflow", summary="Cradl: a workflow",
                tags=TAGS, security=PROTECTED, responses=responses(200, CradlWorkflow, 404))
    def get_workflow(workflow_id: WorkflowId) -> CradlWorkflow:
        return CradlWorkflow.of(workflow_cases.get_workflow(ports.workflows, workspace_of(router), workflow_id))

    @router.post(PREFIX + "/workflows/<workflow_id>/executions", status_code=200, operation_id="cradlExecuteWorkflow",
                 summary="Cradl: start a run (`{\"input\": {\"documentId\": ..., \"title\": ...}}`)",
                 tags=TAGS, security=PROTECTED, responses=responses(200, CradlExecution, 404, 409))
    def execute_workflow(workflow_id: WorkflowId, body: Annotated[CradlExecutionStart, Body()],
                         idempotency_key: IdempotencyKey = None) -> CradlExecution:
        given = body.input
        document_ids = list(given.documentIds or []) or ([given.documentId] if given.documentId else [])
        if not document_ids:
            raise ValidationFailed("input.documentId names no document: create one with POST /compat/cradl/documents",
                                   details=[{"loc": ["body", "input", "documentId"], "msg": "required"}])
        request = execution_cases.StartRequest(document_ids=document_ids, name=given.title,
                                               metadata=given.metadata or {}, trigger_method="api",
                                               triggered_by=key_id_of(router), idempotency_key=idempotency_key)
        started = execution_cases.start_execution(ports, workspace_of(router), workflow_id, request)
        return CradlExecution.of(started.execution)

    @router.get(PREFIX + "/workflows/<workflow_id>/executions", operation_id="cradlListExecutions",
                summary="Cradl: a workflow's runs, newest first", tags=TAGS, security=PROTECTED,
                responses=responses(200, CradlExecutionList, 404))
    def list_executions(workflow_id: WorkflowId, status: StatusFilter = None, max_results: MaxResults = 20,
                        next_token: NextToken = None) -> CradlExecutionList:
        wanted = [s.strip() for s in (status or "").split(",") if s.strip()]
        unknown = sorted(set(wanted) - set(_FILTERS))
        if unknown:
            raise ValidationFailed(f"unknown status {', '.join(unknown)}; use {', '.join(_FILTERS)}",
                                   details=[{"loc": ["query", "status"], "msg": "unknown status"}])
        # One Docflow status narrows the query; several (or `running`) filter one unfiltered page.
        queried = {_FILTERS[s][0] for s in wanted}
        docflow_status = queried.pop() if len(queried) == 1 else None
        page = execution_cases.list_executions(ports, workspace_of(router), workflow_id, docflow_status,
                                               max_results, next_token)
        items = [e for e in page.items if not wanted or any(_FILTERS[s][1](e) and _matches(s, e) for s in wanted)]
        return CradlExecutionList(workflowId=workflow_id, executions=[CradlExecution.of(e) for e in items],
                                  nextToken=page.next_cursor)

    @router.get(PREFIX + "/workflows/<workflow_id>/executions/<execution_id>", operation_id="cradlGetExecution",
                summary="Cradl: one run", tags=TAGS, security=PROTECTED,
                responses=responses(200, CradlExecution, 404))
    def get_execution(workflow_id: WorkflowId, execution_id: ExecutionId) -> CradlExecution:
        execution = execution_cases.get_execution(ports, workspace_of(router), execution_id, workflow_id)
        return CradlExecution.of(execution)

    @router.patch(PREFIX + "/workflows/<workflow_id>/executions/<execution_id>", operation_id="cradlUpdateExecution",
                  summary="Cradl: `{\"status\": \"completed\"}` marks a finished run consumed", tags=TAGS,
                  security=PROTECTED, responses=responses(200, CradlExecution, 404, 409))
    def update_execution(workflow_id: WorkflowId, execution_id: ExecutionId,
                         body: Annotated[CradlExecutionPatch, Body()]) -> CradlExecution:
        if body.status != "completed":
            raise ValidationFailed("only {\"status\": \"completed\"} is supported: Docflow retries failed steps "
                                   "itself (nextTransitionId has no meaning here)",
                                   details=[{"loc": ["body", "status"], "msg": "must be completed"}])
        execution = execution_cases.acknowledge_execution(ports, workspace_of(router), workflow_id, execution_id)
        return CradlExecution.of(execution)

    @router.delete(PREFIX + "/workflows/<workflow_id>/executions/<execution_id>", operation_id="cradlDeleteExecution",
                   summary="Cradl: stop a run (Docflow cancels it and keeps its record)", tags=TAGS,
                   security=PROTECTED, responses=responses(200, CradlExecution, 404, 409))
    def delete_execution(workflow_id: WorkflowId, execution_id: ExecutionId) -> CradlExecution:
        execution = execution_cases.cancel_execution(ports, workspace_of(router), workflow_id, execution_id)
        return CradlExecution.of(execution)

    return router


def _matches(status: str, execution: Execution) -> bool:
    wanted = _FILTERS[status][0]
    return wanted is None or execution.status == wanted
