"""What every route declares in the OpenAPI document: its security, its success status and model,
and the `{"error": ...}` schema for each error status it can answer (DESIGN.md §1)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response

from docflow.api.schemas import ErrorResponse

BEARER, BASIC = "bearerAuth", "basicAuth"
# Either scheme carries the API key: `Bearer <key>` or `Basic base64(<key>:)`.
PROTECTED: list[dict[str, list[str]]] = [{BEARER: []}, {BASIC: []}]
# Routes every authenticated call can answer with, whatever it does.
AUTH_ERRORS = (400, 401, 429)

ERROR_DESCRIPTIONS = {
    400: "Malformed request (body that is not JSON, bad cursor)",
    401: "Missing, invalid or revoked API key (or a bad webhook signature)",
    403: "The credentials may not do this",
    404: "Unknown id, or an id of another workspace",
    409: "Conflict with the current state",
    412: "A precondition failed",
    413: "Body over the size limit",
    415: "Unsupported Content-Type",
    422: "Validation failed: `details` names each field",
    405: "Method not allowed on this path: the `Allow` header lists the methods",
    429: "Throttled: retry with backoff",
    503: "A service the API needs does not answer",
}


def error_content() -> dict[str, Any]:
    return {"application/json": {"model": ErrorResponse}}


def responses(status: int, model: Any | None, *errors: int, description: str | None = None,
              protected: bool = True, content_type: str = "application/json") -> dict[int, Any]:
    """The `responses` of one route: its real success status and model, then each error status
    with the error schema. Protected routes add the errors of authentication."""
    success: dict[str, Any] = {"description": description or HTTPStatus(status).phrase}
    if model is not None:
        success["content"] = {content_type: {"model": model}}
    declared: dict[int, Any] = {status: success}
    for code in sorted({*errors, 422, *(AUTH_ERRORS if protected else (400,))}):
        declared[code] = {"description": ERROR_DESCRIPTIONS[code], "content": error_content()}
    return declared


def no_content() -> Response[None]:
    """204: no body and no Content-Type."""
    return Response(204, None, None)
