"""HTTP API Lambda authorizer (payload 2.0, simple responses): API key → workspace context.

A refused key is not denied here: API Gateway would answer its own `{"message": "Forbidden"}`,
which is not the API's error shape. The request goes on with the reason instead, and the API
function answers 401 `{"error": {"code": "unauthorized", ...}}` before any route runs
(api/app.py `handle`), exactly as local mode does."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from docflow.api.context import REFUSAL
from docflow.domain.errors import Unauthorized
from docflow.runtime import aws
from docflow.usecases.keys import authenticate

logger = Logger()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    try:
        key = authenticate(aws.ports().keys, headers.get("authorization"))
    except Unauthorized as exc:
        logger.info("request refused", extra={"reason": exc.message})
        return {"isAuthorized": True, "context": {REFUSAL: exc.message}}
    return {"isAuthorized": True, "context": {"workspace_id": key.workspace_id, "key_id": key.id,
                                                 "key_name": key.name}}
