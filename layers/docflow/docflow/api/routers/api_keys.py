"""/v1/api-keys: create (the secret is in that response only), list, revoke."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from docflow.api.context import workspace_of
from docflow.api.openapi import PROTECTED, no_content, responses
from docflow.api.params import Cursor, Limit
from docflow.api.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyList, ApiKeyOut
from docflow.ports import Ports
from docflow.usecases import keys as key_cases

TAGS = ["api-keys"]


def build(ports: Ports) -> Router:
    router = Router()

    @router.post("/v1/api-keys", status_code=201, operation_id="createApiKey", summary="Create an API key",
                 tags=TAGS, security=PROTECTED, responses=responses(201, ApiKeyCreated))
    def create_api_key(body: Annotated[ApiKeyCreate, Body()]) -> ApiKeyCreated:
        issued = key_cases.issue_key(ports.keys, workspace_of(router), body.name)
        return ApiKeyCreated(**ApiKeyOut.of(issued.key).model_dump(), key=issued.secret)

    @router.get("/v1/api-keys", operation_id="listApiKeys", summary="List API keys (never their secrets)",
                tags=TAGS, security=PROTECTED, responses=responses(200, ApiKeyList))
    def list_api_keys(limit: Limit = 20, cursor: Cursor = None) -> ApiKeyList:
        page = key_cases.list_keys(ports.keys, workspace_of(router), limit, cursor)
        items = [ApiKeyOut.of(k) for k in page.items]
        return ApiKeyList(items=items, next_cursor=page.next_cursor, api_keys=items)

    @router.delete("/v1/api-keys/<key_id>", status_code=204, operation_id="revokeApiKey",
                   summary="Revoke an API key (it stops working at once)", tags=TAGS, security=PROTECTED,
                   responses=responses(204, None, 404))
    def revoke_api_key(key_id: Annotated[str, Path(max_length=128)]) -> Response[None]:
        key_cases.revoke_key(ports.keys, workspace_of(router), key_id)
        return no_content()

    return router
