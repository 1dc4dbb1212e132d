"""The REST API (DESIGN.md §1): one powertools resolver that includes one Router per resource
(`api/routers/`), maps the typed errors to HTTP once, and serves a truthful OpenAPI document.

The same app serves API Gateway (functions/api) and local mode (runtime/local/server). The caller's
workspace comes from the authorizer context: the Lambda authorizer on AWS, the local server's
own check of the same key in local mode."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from functools import cache
from typing import Any, cast

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBase, HTTPBearer
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext

from docflow import __version__
from docflow.api.bodies import JSON, MULTIPART
from docflow.api.context import refusal_of
from docflow.api.openapi import BASIC, BEARER, ERROR_DESCRIPTIONS
from docflow.api.routers import (
    api_keys,
    compat_cradl,
    documents,
    executions,
    hooks,
    integrations,
    meta,
    review_page,
    reviews,
    schedules,
    templates,
    webhooks,
    workflows,
)
from docflow.api.schemas import ExecutionStart
from docflow.domain.errors import (
    BadRequest,
    DocflowError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from docflow.ports import Ports

TITLE = "Docflow API"
PUBLIC_PATHS = frozenset({"/", "/v1/openapi.json", "/v1/docs", "/v1/health"})
# Inbound webhooks carry a Standard Webhooks signature instead of an API key.
PUBLIC_PREFIXES = ("/v1/hooks/",)
# The reviewers' page and its files: the key is typed into the page, which sends it to /v1.
PAGE_PATH = "/review"


# The Cradl surface's document content: the body is the document itself, of any type (or none).
_RAW_BODY_PATH = re.compile(r"^/compat/cradl/documents/[^/]+/content$")


def is_public(path: str) -> bool:
    """Routes that need no API key: the same list on API Gateway (Authorizer: NONE) and locally."""
    return (path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
            or path == PAGE_PATH or path.startswith(PAGE_PATH + "/"))


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


class Resolver(APIGatewayHttpResolver):
    """powertools keeps the request being resolved on a class attribute (BaseRouter.current_event,
    shared by every resolver and router of the process): right for a Lambda, which resolves one
    request at a time, wrong for local mode, whose server threads each resolve with a resolver
    of their own: one thread's handler would read another's request, its body and its caller's
    workspace. The request is also kept on this instance, where every read looks first (the
    routers read it through `api_resolver`)."""

    def resolve(self, event: Mapping[str, Any], context: LambdaContext | Any) -> dict[str, Any]:
        self.current_event = cast(APIGatewayProxyEventV2, self._to_proxy_event(dict(event)))
        self.lambda_context = context
        try:
            return super().resolve(event, context)
        finally:
            del self.current_event, self.lambda_context  # nothing of this request outlives it


def create_app(ports: Ports) -> APIGatewayHttpResolver:
    app = Resolver(enable_validation=True)
    app.configure_openapi(
        title=TITLE, version=__version__,
        security_schemes={
            BEARER: HTTPBearer(description="An API key: `Authorization: Bearer dfk_…`", bearerFormat="dfk_…"),
            BASIC: HTTPBase(scheme="basic", description="The API key as the user name, no password"),
        })
    app.enable_swagger(path="/v1/docs", title=TITLE, version=__version__)
    # templates before workflows: its static /v1/workflows/templates must not read as a workflow id
    for router in (api_keys.build(ports), templates.build(ports), workflows.build(ports), documents.build(ports),
                   executions.build(ports), reviews.build(ports),
                   hooks.build(ports), schedules.build(ports), integrations.build(ports), webhooks.build(ports),
                   meta.build(lambda: openapi_json(app), lambda: _storage_reachable(ports)), review_page.build(),
                   compat_cradl.build(ports)):
        app.include_router(router)
    app.use([_check_request])

    @app.exception_handler(DocflowError)
    def docflow_error(exc: DocflowError) -> Response[Any]:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    def validation_error(exc: RequestValidationError) -> Response[Any]:
        if _form_sent_to_json_route(app):  # powertools' validation runs before any middleware of ours
            return error_response(UnsupportedMediaType(f"this route takes '{JSON}', not '{MULTIPART}'"))
        return error_response(_validation_error(exc))

    @app.not_found
    def not_found(exc: NotFoundError) -> Response[Any]:
        method, path = app.current_event.http_method, app.current_event.path
        allowed = _methods_for(app, path)
        if allowed:
            error = MethodNotAllowed(f"{method} is not allowed on {path}; use {', '.join(allowed)}",
                                     details=[{"allowed": allowed}])
            response = error_response(error)
            response.headers["Allow"] = ", ".join(allowed)
            return response
        return error_response(NotFound(f"no route {method} {path}"))

    return app


def _storage_reachable(ports: Ports) -> bool:
    """One cheap read of the store (a lookup that finds nothing)."""
    try:
        ports.workflows.find_workspace("wf_health")
    except Exception:  # any failure to answer is what health reports
        return False
    return True


def _methods_for(app: APIGatewayHttpResolver, path: str) -> list[str]:
    """The methods of the routes whose path matches `path` (for a 405's Allow header)."""
    routes = [*app._static_routes, *app._dynamic_routes]
    return sorted({route.method.upper() for route in routes if route.rule.fullmatch(path)})


def _check_request(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """What powertools' validation lets through: query parameters the route does not have (a
    typo such as `?limt=1` must not pass silently)."""
    route = app.context.get("_route")
    if route is not None:
        known = {param.alias for param in route.dependant.query_params}
        unknown = sorted(set(app.current_event.query_string_parameters or {}) - known)
        if unknown:
            raise ValidationFailed(
                f"unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}"
                + (f"; this route takes {', '.join(sorted(known))}" if known else "; this route takes none"),
                details=[{"loc": ["query", name], "msg": "unknown parameter"} for name in unknown])
    return next_middleware(app)


def _form_sent_to_json_route(app: APIGatewayHttpResolver) -> bool:
    route = app.context.get("_route")
    kind = (app.current_event.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    return route is not None and bool(route.dependant.body_params) and kind == MULTIPART


def openapi_json(app: APIGatewayHttpResolver) -> str:
    return _openapi_json(app)


@cache
def _openapi_json(app: APIGatewayHttpResolver) -> str:
    return json.dumps(openapi_document(app))


def openapi_document(app: APIGatewayHttpResolver) -> dict[str, Any]:
    """powertools' document, completed where it cannot know: the start routes and the webhook
    route read their body themselves (the webhook's only after its signature is checked), and
    step types come from the step registry."""
    from docflow.steps.registry import STEP_KINDS

    doc: dict[str, Any] = json.loads(app.get_openapi_json_schema(title=TITLE, version=__version__))
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    start = ExecutionStart.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(start.pop("$defs", {}))
    schemas["ExecutionStart"] = start
    schemas["ExecutionStartForm"] = _start_form_schema()
    for operation in _operations(doc):
        if operation.get("operationId") in executions.START_OPERATIONS:
            operation["requestBody"] = {"required": False, "content": {
                JSON: {"schema": {"$ref": "#/components/schemas/ExecutionStart"}},
                MULTIPART: {"schema": {"$ref": "#/components/schemas/ExecutionStartForm"}},
            }}
        if operation.get("operationId") == compat_cradl.PUT_CONTENT_OPERATION:  # the route reads its raw body
            operation["requestBody"] = {"required": True, "content": {"application/octet-stream": {"schema": {
                "type": "string", "format": "binary",
                "description": "The document's bytes, any Content-Type (or none): the type is sniffed"}}}}
        if operation.get("operationId") == hooks.RECEIVE_OPERATION:
            operation["requestBody"] = {"required": True, "content": {JSON: {"schema": {
                "type": "object", "additionalProperties": True,
                "description": "Any JSON object: it becomes the run's trigger_data; `document_id` (or "
                               "`document_ids`) names the uploaded documents to run on"}}}}
        _complete_responses(operation)
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        if f"#/components/schemas/{unused}" not in json.dumps(doc["paths"]):
            schemas.pop(unused, None)
    step_type = schemas.get("StepDefinition", {}).get("properties", {}).get("type")
    if step_type is not None:
        step_type.pop("enum", None)
        step_type.pop("const", None)
        step_type["enum"] = sorted(STEP_KINDS)
    return doc


def _complete_responses(operation: dict[str, Any]) -> None:
    """A 204 has no body; any route with a body can meet `handle`'s size and Content-Type checks."""
    responses = operation.get("responses", {})
    if "204" in responses:
        responses["204"].pop("content", None)
    if "requestBody" in operation:
        for status in ("413", "415"):
            responses.setdefault(status, {"description": ERROR_DESCRIPTIONS[int(status)], "content": {
                JSON: {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}})
    operation["responses"] = dict(sorted(responses.items()))


def _operations(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for item in doc.get("paths", {}).values() for op in item.values() if isinstance(op, dict)]


def _start_form_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "One part per file field of the workflow's file_input_config (`<key>`, or `<key>_1`, "
                       "`<key>_2` … for a multiple field), plus the text parts below.",
        "properties": {
            "file": {"type": "string", "format": "binary", "description": "The default file field"},
            "name": {"type": "string"},
            "metadata": {"type": "string", "description": "A JSON object, as a string"},
            "file_metadata": {"type": "string", "description": "`<key>_metadata`: a JSON object for that file"},
            "file_guidance": {"type": "string", "description": "`<key>_guidance`: extraction hints for that file"},
        },
        "additionalProperties": {"type": "string", "format": "binary"},
    }


def handle(app: APIGatewayHttpResolver, limits_body_bytes: int, event: dict[str, Any],
           context: LambdaContext | Any) -> dict[str, Any]:
    """Resolve one API Gateway (HTTP API, payload 2.0) event: callers without a workspace and
    oversized bodies are refused first, in the API's error shape."""
    path = event.get("rawPath") or ""
    refusal = None if is_public(path) else refusal_of(event)
    if refusal is not None:
        return error_result(refusal)
    body = event.get("body") or ""
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode())
    if size > limits_body_bytes:
        error = PayloadTooLarge(f"request body is {size} bytes, over the {limits_body_bytes} byte limit; "
                                "upload large files through POST /v1/documents and PUT to its file_url")
        return error_result(error)
    content_type = (event.get("headers") or {}).get("content-type", "")
    kind = content_type.split(";", 1)[0].strip().lower()
    if body and _RAW_BODY_PATH.match(path):
        return app.resolve(event, context)  # the document's own bytes, whatever they are
    if body and kind not in (JSON, MULTIPART):
        error = UnsupportedMediaType(f"Content-Type '{content_type or 'none'}' is not accepted: send "
                                     f"'Content-Type: {JSON}' (runs also take '{MULTIPART}'; "
                                     "large files go through POST /v1/documents)")
        return error_result(error)
    if body and kind == JSON and event.get("isBase64Encoded"):
        try:
            base64.b64decode(body, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return error_result(BadRequest("request body is not valid UTF-8 JSON"))
    return app.resolve(event, context)
