"""Bodies of /v1/workflows/templates."""

from __future__ import annotations

from pydantic import BaseModel, Field

from docflow.api.schemas import RequestBody
from docflow.domain.models import WorkflowDefinition
from docflow.domain.workflow_templates import WorkflowTemplate


class TemplateOut(BaseModel):
    id: str
    name: str
    description: str
    category: str
    definition: WorkflowDefinition

    @classmethod
    def of(cls, template: WorkflowTemplate) -> TemplateOut:
        return cls(id=template.id, name=template.name, description=template.description, category=template.category,
                   definition=WorkflowDefinition.model_validate(template.definition()))


class TemplateList(BaseModel):
    items: list[TemplateOut]
    next_cursor: str | None
    templates: list[TemplateOut]


class FromTemplate(RequestBody):
    template_id: str = Field(min_length=1, max_length=64, examples=["invoice"])
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
