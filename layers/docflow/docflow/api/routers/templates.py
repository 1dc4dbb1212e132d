"""/v1/workflows/templates: the catalog, and a new workflow from one of its templates."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from docflow.api.context import workspace_of
from docflow.api.openapi import PROTECTED, responses
from docflow.api.schemas import WorkflowOut
from docflow.api.schemas_templates import FromTemplate, TemplateList, TemplateOut
from docflow.ports import Ports
from docflow.usecases import templates as template_cases

TAGS = ["templates"]
Category = Literal["invoice", "contract", "resume", "general"]


def build(ports: Ports) -> Router:
    router = Router()

    @router.get("/v1/workflows/templates", operation_id="listTemplates", summary="List workflow templates",
                tags=TAGS, security=PROTECTED, responses=responses(200, TemplateList))
    def list_templates(category: Annotated[Category | None, Query(description="Only this category")] = None,
                       ) -> TemplateList:
        items = [TemplateOut.of(t) for t in template_cases.list_templates(category)]
        return TemplateList(items=items, next_cursor=None, templates=items)

    @router.post("/v1/workflows/templates", status_code=201, operation_id="createWorkflowFromTemplate",
                 summary="Create a workflow from a template", tags=TAGS, security=PROTECTED,
                 responses=responses(201, WorkflowOut, 404))
    def create_from_template(body: Annotated[FromTemplate, Body()]) -> WorkflowOut:
        workflow = template_cases.create_from_template(ports, workspace_of(router), body.template_id, body.name,
                                                       body.description)
        return WorkflowOut.of(workflow)

    return router
