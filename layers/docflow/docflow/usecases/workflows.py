"""Workflow CRUD. Definitions are validated here so an accepted workflow can always run."""

from __future__ import annotations

from typing import Any

from docflow.domain.clock import utc_now
from docflow.domain.event_triggers import parse_trigger_config
from docflow.domain.models import Page, Workflow
from docflow.ports import Ports, WorkflowRepository
from docflow.usecases.integrations import forget_integrations
from docflow.usecases.schedules import forget_schedule
from docflow.usecases.webhooks import forget_secret

# Fields a caller may set; everything else (id, version, timestamps) is the server's.
WRITABLE = ("name", "description", "definition", "file_input_config", "trigger_type", "trigger_config", "enabled")


def _validated(workflow: Workflow) -> Workflow:
    # Imported here: the step modules are needed only when a workflow is written, not on reads.
    from docflow.steps.registry import validate_workflow_definition

    validate_workflow_definition(workflow.definition)
    if workflow.trigger_type == "event":
        parse_trigger_config(workflow.trigger_config)
    return workflow


def create_workflow(workflows: WorkflowRepository, workspace_id: str, fields: dict[str, Any]) -> Workflow:
    workflow = _validated(Workflow.model_validate({**fields, "workspace_id": workspace_id}))
    workflows.add(workflow)
    return workflow


def get_workflow(workflows: WorkflowRepository, workspace_id: str, workflow_id: str) -> Workflow:
    return workflows.get(workspace_id, workflow_id)


def list_workflows(workflows: WorkflowRepository, workspace_id: str, limit: int, cursor: str | None) -> Page[Workflow]:
    return workflows.list(workspace_id, limit, cursor)


def replace_workflow(workflows: WorkflowRepository, workspace_id: str, workflow_id: str,
                     fields: dict[str, Any]) -> Workflow:
    """PUT semantics: the writable fields are replaced; the version goes up by one."""
    current = workflows.get(workspace_id, workflow_id)
    updated = Workflow.model_validate({
        **{k: v for k, v in current.model_dump().items() if k not in WRITABLE},
        **fields,
        "version": current.version + 1,
        "updated_at": utc_now(),
    })
    workflows.replace(_validated(updated), expected_version=current.version)
    return updated


def delete_workflow(ports: Ports, workspace_id: str, workflow_id: str) -> None:
    """The workflow, then what belongs to it alone: its webhook secret, its schedule (which
    would otherwise go on firing into a workflow that is gone) and its integrations."""
    ports.workflows.delete(workspace_id, workflow_id)
    forget_secret(ports, workspace_id, workflow_id)
    forget_schedule(ports, workspace_id, workflow_id)
    forget_integrations(ports, workspace_id, workflow_id)
