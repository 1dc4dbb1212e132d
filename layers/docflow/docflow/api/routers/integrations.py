"""/v1/workflows/integrations: CRUD of a workflow's integrations, addressed by query parameters
as in the seed (`?workflow_id=` to list and create, `?id=` to change and delete).

A static route: powertools tries static routes before `/v1/workflows/<workflow_id>`, so
`integrations` is never read as a workflow id."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from docflow.api.context import workspace_of
from docflow.api.openapi import PROTECTED, no_content, responses
from docflow.api.params import Cursor, Limit
from docflow.api.schemas_integrations import IntegrationIn, IntegrationList, IntegrationOut, IntegrationUpdate
from docflow.ports import Ports
from docflow.usecases import integrations as integration_cases

TAGS = ["integrations"]
PATH = "/v1/workflows/integrations"

WorkflowQuery = Annotated[str, Query(min_length=1, max_length=128, description="A workflow id (wf_…)")]
IntegrationQuery = Annotated[str, Query(min_length=1, max_length=128, description="An integration id (int_…)")]


def build(ports: Ports) -> Router:
    router = Router()

    @router.get(PATH, operation_id="listIntegrations", summary="List a workflow's integrations, newest first",
                tags=TAGS, security=PROTECTED, responses=responses(200, IntegrationList, 404))
    def list_integrations(workflow_id: WorkflowQuery, limit: Limit = 20, cursor: Cursor = None) -> IntegrationList:
        page = integration_cases.list_integrations(ports, workspace_of(router), workflow_id, limit, cursor)
        items = [IntegrationOut.of(i) for i in page.items]
        return IntegrationList(items=items, next_cursor=page.next_cursor, integrations=items)

    @router.post(PATH, status_code=201, operation_id="createIntegration",
                 summary="Give a workflow an integration (slack, email or webhook)",
                 tags=TAGS, security=PROTECTED, responses=responses(201, IntegrationOut, 404))
    def create_integration(body: Annotated[IntegrationIn, Body()]) -> IntegrationOut:
        integration = integration_cases.create_integration(
            ports, workspace_of(router), body.workflow_id, body.name, body.integration_type,
            body.config.model_dump(mode="json"))
        return IntegrationOut.of(integration)

    @router.put(PATH, operation_id="replaceIntegration",
                summary="Change an integration (masked secrets sent back are kept)",
                tags=TAGS, security=PROTECTED, responses=responses(200, IntegrationOut, 404, 409))
    def replace_integration(id: IntegrationQuery, body: Annotated[IntegrationUpdate, Body()]) -> IntegrationOut:
        change = integration_cases.IntegrationChange(name=body.name, integration_type=body.integration_type,
                                                     config=body.config)
        return IntegrationOut.of(integration_cases.replace_integration(ports, workspace_of(router), id, change))

    @router.delete(PATH, status_code=204, operation_id="deleteIntegration", summary="Delete an integration",
                   tags=TAGS, security=PROTECTED, responses=responses(204, None, 404))
    def delete_integration(id: IntegrationQuery) -> Response[None]:
        integration_cases.delete_integration(ports, workspace_of(router), id)
        return no_content()

    return router
