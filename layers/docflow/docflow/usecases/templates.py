"""The template catalog and workflows made from it: `create_workflow` validates them like any."""

from __future__ import annotations

from docflow.domain.errors import NotFound, ValidationFailed
from docflow.domain.models import Workflow
from docflow.domain.workflow_templates import CATEGORIES, TEMPLATES, WorkflowTemplate
from docflow.ports import Ports
from docflow.usecases.workflows import create_workflow


def list_templates(category: str | None) -> list[WorkflowTemplate]:
    if category is not None and category not in CATEGORIES:
        raise ValidationFailed(f"unknown category '{category}'; categories: {', '.join(CATEGORIES)}",
                               details=[{"loc": ["query", "category"], "msg": "unknown category"}])
    return [t for t in TEMPLATES.values() if category is None or t.category == category]


def create_from_template(ports: Ports, workspace_id: str, template_id: str, name: str,
                         description: str | None) -> Workflow:
    template = TEMPLATES.get(template_id)
    if template is None:
        raise NotFound(f"template {template_id} not found; templates: {', '.join(TEMPLATES)}")
    return create_workflow(ports.workflows, workspace_id, {
        "name": name, "description": description if description is not None else template.description,
        "definition": template.definition()})
