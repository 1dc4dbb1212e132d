"""HTTP API Lambda authorizer (payload 2.0, simple responses): API key → workspace context."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

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
        return {"isAuthorized": False}
    return {"isAuthorized": True, "context": {"workspace_id": key.workspace_id, "key_id": key.id}}
