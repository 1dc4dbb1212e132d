"""API Gateway (HTTP API) → the Docflow REST API. Thin: the app and its ports are built once per container."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from docflow.api.app import create_app, handle
from docflow.runtime import aws

logger = Logger()


@cache
def _app() -> APIGatewayHttpResolver:
    return create_app(aws.ports())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(_app(), aws.ports().limits.max_request_bytes, event, context)
