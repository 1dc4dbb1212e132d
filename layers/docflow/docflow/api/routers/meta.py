"""/v1/openapi.json and /v1/health: public, no API key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel

from docflow import __version__
from docflow.api.openapi import responses
from docflow.domain.errors import ServiceUnavailable

TAGS = ["meta"]


class Health(BaseModel):
    status: str
    version: str
    storage: str


def build(openapi_json: Callable[[], str], storage_reachable: Callable[[], bool]) -> Router:
    router = Router()

    @router.get("/v1/openapi.json", operation_id="getOpenApi", summary="This API's OpenAPI 3 document",
                tags=TAGS, responses=responses(200, dict[str, Any], protected=False))
    def openapi() -> Response[str]:
        return Response(200, content_types.APPLICATION_JSON, openapi_json())

    # Not in the OpenAPI document: a browser's landing redirect, not an operation of the API.
    @router.get("/", include_in_schema=False)
    def root() -> Response[str]:
        return Response(302, content_types.TEXT_PLAIN, "See /v1/docs", headers={"Location": "/v1/docs"})

    @router.get("/v1/health", operation_id="getHealth",
                summary="Health: the version, and whether the storage (SQLite or DynamoDB) answers",
                tags=TAGS, responses=responses(200, Health, 503, protected=False))
    def health() -> Health:
        if not storage_reachable():
            raise ServiceUnavailable("the storage does not answer", code="storage_unreachable",
                                     details=[{"version": __version__}])
        return Health(status="ok", version=__version__, storage="ok")

    return router
