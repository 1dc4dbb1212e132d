"""/v1/workflows: CRUD of workflow definitions."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from docflow.api.context import workspace_of
from docflow.api.openapi import PROTECTED, no_content, responses
from docflow.api.params import Cursor, Limit, WorkflowId
from docflow.api.schemas import WorkflowIn, WorkflowList, WorkflowOut
from docflow.domain.models import Workflow
from docflow.ports import Ports
from docflow.usecases import webhooks as webhook_cases
from docflow.usecases import workflows as workflow_cases

TAGS = ["workflows"]


def build(ports: Ports) -> Router:
    router = Router()

    def out(workflow: Workflow) -> WorkflowOut:
        """With the webhook secret's prefix; a secret issued by this request is shown, once."""
        issued = webhook_cases.issue_secret(ports, workflow)
        return WorkflowOut.of(workflow, issued or webhook_cases.current_secret(ports, workflow),
                              show_secret=issued is not None)

    @router.post("/v1/workflows", status_code=201, operation_id="createWorkflow", summary="Create a workflow",
                 tags=TAGS, security=PROTECTED, responses=responses(201, WorkflowOut, 409))
    def create_workflow(body: Annotated[WorkflowIn, Body()]) -> WorkflowOut:
        return out(workflow_cases.create_workflow(ports.workflows, workspace_of(router), body.writable()))

    @router.get("/v1/workflows", operation_id="listWorkflows", summary="List workflows, newest first",
                tags=TAGS, security=PROTECTED, responses=responses(200, WorkflowList))
    def list_workflows(limit: Limit = 20, cursor: Cursor = None) -> WorkflowList:
        page = workflow_cases.list_workflows(ports.workflows, workspace_of(router), limit, cursor)
        items = [WorkflowOut.of(w, webhook_cases.current_secret(ports, w)) for w in page.items]
        return WorkflowList(items=items, next_cursor=page.next_cursor, workflows=items)

    @router.get("/v1/workflows/<workflow_id>", operation_id="getWorkflow", summary="Get a workflow",
                tags=TAGS, security=PROTECTED, responses=responses(200, WorkflowOut, 404))
    def get_workflow(workflow_id: WorkflowId) -> WorkflowOut:
        workflow = workflow_cases.get_workflow(ports.workflows, workspace_of(router), workflow_id)
        return WorkflowOut.of(workflow, webhook_cases.current_secret(ports, workflow))

    @router.put("/v1/workflows/<workflow_id>", operation_id="replaceWorkflow",
                summary="Replace a workflow's writable fields (the version goes up by one)",
                tags=TAGS, security=PROTECTED, responses=responses(200, WorkflowOut, 404, 409))
    def replace_workflow(workflow_id: WorkflowId, body: Annotated[WorkflowIn, Body()]) -> WorkflowOut:
        return out(workflow_cases.replace_workflow(ports.workflows, workspace_of(router), workflow_id,
                                                   body.writable()))

    @router.delete("/v1/workflows/<workflow_id>", status_code=204, operation_id="deleteWorkflow",
                   summary="Delete a workflow (runs already accepted still finish)",
                   tags=TAGS, security=PROTECTED, responses=responses(204, None, 404))
    def delete_workflow(workflow_id: WorkflowId) -> Response[None]:
        workflow_cases.delete_workflow(ports, workspace_of(router), workflow_id)
        return no_content()

    return router
