"""The REST API (DESIGN.md §1) as one powertools resolver, built around the runtime's ports.

The same app serves API Gateway (functions/api) and local mode (runtime/local/server). The caller's
workspace comes from the authorizer context: the Lambda authorizer on AWS, the local server's
own check of the same key in local mode."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext

from docflow import __version__
from docflow.api.routers import schedules as schedule_routes
from docflow.api.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyOut,
    DocumentCreate,
    DocumentHandleOut,
    DocumentOut,
    ExecuteAccepted,
    ExecutionList,
    ExecutionOut,
    ExecutionPatch,
    ExecutionStart,
    WorkflowIn,
    WorkflowList,
    WorkflowOut,
)
from docflow.domain.clock import iso
from docflow.domain.errors import (
    BadRequest,
    DocflowError,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from docflow.domain.models import ExecutionStatus
from docflow.ports import Ports
from docflow.usecases import documents as document_cases
from docflow.usecases import executions as execution_cases
from docflow.usecases import keys as key_cases
from docflow.usecases import workflows as workflow_cases

PUBLIC_PATHS = frozenset({"/v1/openapi.json", "/v1/docs", "/v1/health"})
# Inbound webhooks carry a Standard Webhooks signature instead of an API key.
PUBLIC_PREFIXES = ("/v1/hooks/",)


def is_public(path: str) -> bool:
    """Routes that need no API key: the same list on API Gateway (Authorizer: NONE) and locally."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
Limit = Annotated[int, Query(ge=1, le=100, description="page size")]
Cursor = Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)]


def error_response(error: DocflowError) -> Response[Any]:
    return Response(status_code=error.status, content_type=content_types.APPLICATION_JSON,
                    body=json.dumps({"error": error.to_dict()}))


def error_result(error: DocflowError) -> dict[str, Any]:
    """An error as an API Gateway proxy result, for refusals made before the resolver runs."""
    return {"statusCode": error.status, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"error": error.to_dict()})}


def _validation_error(exc: RequestValidationError) -> DocflowError:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return BadRequest("request body is not valid JSON")
    details = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in errors]
    names = ", ".join(".".join(str(p) for p in d["loc"]) for d in details)
    return ValidationFailed(f"invalid request: {names}", details=details)


def create_app(ports: Ports) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    app.enable_swagger(path="/v1/docs", title="Docflow API", version=__version__,
                       security_schemes={"apiKey": HTTPBearer(description="an API key: dfk_…")},
                       security=[{"apiKey": []}])

    def workspace() -> str:
        context = app.current_event.request_context.authorizer.get_lambda or {}
        workspace_id = context.get("workspace_id")
        if not workspace_id:
            raise Unauthorized("missing or invalid API key")
        return str(workspace_id)

    @app.exception_handler(DocflowError)
    def docflow_error(exc: DocflowError) -> Response[Any]:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    def validation_error(exc: RequestValidationError) -> Response[Any]:
        return error_response(_validation_error(exc))

    @app.not_found
    def not_found(exc: NotFoundError) -> Response[Any]:
        return error_response(NotFound(f"no route {app.current_event.http_method} {app.current_event.path}"))

    @app.get("/v1/openapi.json", include_in_schema=False)
    def openapi() -> Response[Any]:
        return Response(200, content_types.APPLICATION_JSON, app.get_openapi_json_schema(title="Docflow API",
                                                                                          version=__version__))

    # --- API keys ---------------------------------------------------------------------------
    @app.post("/v1/api-keys", tags=["api-keys"])
    def create_api_key(body: Annotated[ApiKeyCreate, Body()]) -> Response[ApiKeyCreated]:
        issued = key_cases.issue_key(ports.keys, workspace(), body.name)
        out = ApiKeyCreated(**ApiKeyOut.of(issued.key).model_dump(), key=issued.secret)
        return Response(201, content_types.APPLICATION_JSON, out)

    @app.get("/v1/api-keys", tags=["api-keys"])
    def list_api_keys(limit: Limit = 20, cursor: Cursor = None) -> ApiKeyList:
        page = key_cases.list_keys(ports.keys, workspace(), limit, cursor)
        items = [ApiKeyOut.of(k) for k in page.items]
        return ApiKeyList(items=items, next_cursor=page.next_cursor, api_keys=items)

    @app.delete("/v1/api-keys/<key_id>", tags=["api-keys"])
    def revoke_api_key(key_id: Annotated[str, Path(max_length=128)]) -> ApiKeyOut:
        return ApiKeyOut.of(key_cases.revoke_key(ports.keys, workspace(), key_id))

    # --- Workflows --------------------------------------------------------------------------
    @app.post("/v1/workflows", tags=["workflows"])
    def create_workflow(body: Annotated[WorkflowIn, Body()]) -> Response[WorkflowOut]:
        workflow = workflow_cases.create_workflow(ports.workflows, workspace(), body.writable())
        return Response(201, content_types.APPLICATION_JSON, WorkflowOut.of(workflow))

    @app.get("/v1/workflows", tags=["workflows"])
    def list_workflows(limit: Limit = 20, cursor: Cursor = None) -> WorkflowList:
        page = workflow_cases.list_workflows(ports.workflows, workspace(), limit, cursor)
        items = [WorkflowOut.of(w) for w in page.items]
        return WorkflowList(items=items, next_cursor=page.next_cursor, workflows=items)

    @app.get("/v1/workflows/<workflow_id>", tags=["workflows"])
    def get_workflow(workflow_id: str) -> WorkflowOut:
        return WorkflowOut.of(workflow_cases.get_workflow(ports.workflows, workspace(), workflow_id))

    @app.put("/v1/workflows/<workflow_id>", tags=["workflows"])
    def replace_workflow(workflow_id: str, body: Annotated[WorkflowIn, Body()]) -> WorkflowOut:
        return WorkflowOut.of(workflow_cases.replace_workflow(ports.workflows, workspace(), workflow_id,
                                                              body.writable()))

    @app.delete("/v1/workflows/<workflow_id>", tags=["workflows"])
    def delete_workflow(workflow_id: str) -> Response[str]:
        workflow_cases.delete_workflow(ports.workflows, workspace(), workflow_id)
        return Response(204, content_types.TEXT_PLAIN, "")

    # --- Documents --------------------------------------------------------------------------
    @app.post("/v1/documents", tags=["documents"])
    def create_document(body: Annotated[DocumentCreate, Body()]) -> Response[DocumentHandleOut]:
        handle = document_cases.create_document(ports, workspace(), body.name, body.content_type, body.size)
        doc = handle.document
        out = DocumentHandleOut(id=doc.id, document_id=doc.id, file_url=handle.upload.url,
                                upload_method="PUT", upload_headers=handle.upload.headers,
                                expires_at=iso(handle.upload.expires_at) or "")
        return Response(201, content_types.APPLICATION_JSON, out)

    @app.get("/v1/documents/<document_id>", tags=["documents"])
    def get_document(document_id: str) -> DocumentOut:
        document = document_cases.get_document(ports, workspace(), document_id)
        return DocumentOut.of(document, document_cases.download_url(ports, document))

    # --- Executions -------------------------------------------------------------------------
    def start(workflow_id: str, body: ExecutionStart, idempotency_key: str | None) -> ExecutionOut:
        request = execution_cases.StartRequest(
            document_ids=body.all_document_ids(), name=body.name or body.title, metadata=body.metadata,
            trigger_data=body.trigger_data, start_step=body.start_step, end_step=body.end_step,
            result_step=body.result_step, trigger_method="api", idempotency_key=idempotency_key,
            triggered_by=(app.current_event.request_context.authorizer.get_lambda or {}).get("key_id"))
        return ExecutionOut.of(execution_cases.start_execution(ports, workspace(), workflow_id, request).execution)

    @app.post("/v1/workflows/<workflow_id>/executions", tags=["executions"])
    def start_execution(workflow_id: str, body: Annotated[ExecutionStart, Body()],
                        idempotency_key: IdempotencyKey = None) -> Response[ExecutionOut]:
        return Response(202, content_types.APPLICATION_JSON, start(workflow_id, body, idempotency_key))

    @app.post("/v1/workflows/<workflow_id>/execute", tags=["executions"])
    def execute(workflow_id: str, body: Annotated[ExecutionStart, Body()],
                idempotency_key: IdempotencyKey = None) -> Response[ExecuteAccepted]:
        execution = start(workflow_id, body, idempotency_key)
        out = ExecuteAccepted(execution_id=execution.id, status="running", started_at=execution.created_at)
        return Response(202, content_types.APPLICATION_JSON, out)

    @app.get("/v1/workflows/<workflow_id>/executions", tags=["executions"])
    def list_executions(workflow_id: str, status: Annotated[ExecutionStatus | None, Query()] = None,
                        limit: Limit = 20, cursor: Cursor = None) -> ExecutionList:
        page = execution_cases.list_executions(ports, workspace(), workflow_id, status, limit, cursor)
        items = [ExecutionOut.of(e) for e in page.items]
        return ExecutionList(items=items, next_cursor=page.next_cursor, executions=items)

    @app.get("/v1/workflows/<workflow_id>/executions/<execution_id>", tags=["executions"])
    def get_workflow_execution(workflow_id: str, execution_id: str) -> ExecutionOut:
        return ExecutionOut.of(execution_cases.get_execution(ports, workspace(), execution_id, workflow_id))

    @app.get("/v1/executions/<execution_id>", tags=["executions"])
    def get_execution(execution_id: str) -> ExecutionOut:
        return ExecutionOut.of(execution_cases.get_execution(ports, workspace(), execution_id))

    @app.patch("/v1/workflows/<workflow_id>/executions/<execution_id>", tags=["executions"])
    def patch_execution(workflow_id: str, execution_id: str, body: Annotated[ExecutionPatch, Body()]) -> ExecutionOut:
        if body.status == "completed":
            execution = execution_cases.acknowledge_execution(ports, workspace(), workflow_id, execution_id)
        else:
            execution = execution_cases.cancel_execution(ports, workspace(), workflow_id, execution_id)
        return ExecutionOut.of(execution)

    app.include_router(schedule_routes.build(ports))
    return app


def handle(app: APIGatewayHttpResolver, limits_body_bytes: int, event: dict[str, Any],
           context: LambdaContext | Any) -> dict[str, Any]:
    """Resolve one API Gateway (HTTP API, payload 2.0) event, refusing oversized bodies first."""
    body = event.get("body") or ""
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode())
    if body and event.get("isBase64Encoded"):
        try:
            base64.b64decode(body, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return error_result(BadRequest("request body is not valid UTF-8 JSON"))
    if size > limits_body_bytes:
        error = PayloadTooLarge(f"request body is {size} bytes, over the {limits_body_bytes} byte limit; "
                                "upload large files through POST /v1/documents and PUT to its file_url")
        return error_result(error)
    content_type = (event.get("headers") or {}).get("content-type", "")
    if body and not content_type.lower().startswith("application/json"):
        error = UnsupportedMediaType(f"Content-Type '{content_type or 'none'}' is not accepted: send "
                                     "'Content-Type: application/json' (files go through POST /v1/documents)")
        return error_result(error)
    return app.resolve(event, context)
