"""/v1/openapi.json and /v1/health: public, no API key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel

from docflow import __version__
from docflow.api.openapi import responses

TAGS = ["meta"]


class Health(BaseModel):
    status: str
    version: str


def build(openapi_json: Callable[[], str]) -> Router:
    router = Router()

    @router.get("/v1/openapi.json", operation_id="getOpenApi", summary="This API's OpenAPI 3 document",
                tags=TAGS, responses=responses(200, dict[str, Any], protected=False))
    def openapi() -> Response[str]:
        return Response(200, content_types.APPLICATION_JSON, openapi_json())

    @router.get("/v1/health", operation_id="getHealth", summary="Liveness: answers while the API can serve",
                tags=TAGS, responses=responses(200, Health, protected=False))
    def health() -> Health:
        return Health(status="ok", version=__version__)

    return router
