"""Request and response bodies of /v1/workflows/integrations."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from docflow.api.schemas import RequestBody
from docflow.domain.clock import iso
from docflow.domain.integrations import (
    EmailConfig,
    Integration,
    IntegrationType,
    SlackConfig,
    WebhookConfig,
    masked_config,
)

Name = Annotated[str, Field(min_length=1, max_length=200, examples=["Invoices to #finance"])]
OwnerId = Annotated[str, Field(min_length=1, max_length=128, description="The workflow it belongs to (wf_…)")]


class _Create(RequestBody):
    workflow_id: OwnerId
    name: Name


class SlackIntegrationIn(_Create):
    integration_type: Literal["slack"]
    config: SlackConfig


class EmailIntegrationIn(_Create):
    integration_type: Literal["email"]
    config: EmailConfig


class WebhookIntegrationIn(_Create):
    integration_type: Literal["webhook"]
    config: WebhookConfig


IntegrationIn = Annotated[SlackIntegrationIn | EmailIntegrationIn | WebhookIntegrationIn,
                          Field(discriminator="integration_type")]


class IntegrationUpdate(RequestBody):
    """PUT: the fields sent replace the stored ones, the others stay. A masked secret sent back
    exactly as a GET showed it keeps the stored secret."""

    name: Name | None = None
    integration_type: IntegrationType | None = Field(
        default=None, description="Changing it needs the new type's config")
    config: dict[str, Any] | None = Field(
        default=None, description="The config of the integration's type (slack `{webhook_url, channel}`, email "
                                  "`{to, subject, template}`, webhook `{url, method, headers}`)")
    # Read-only: accepted so a GET body can be PUT back, then ignored.
    id: str | None = None
    workflow_id: str | None = None
    created_at: str | None = None
    updated_at: str | None = None


class IntegrationOut(BaseModel):
    id: str
    workflow_id: str
    name: str
    integration_type: IntegrationType
    config: dict[str, Any] = Field(description="Secrets (Slack webhook URL, webhook query string and header "
                                               "values) masked")
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, integration: Integration) -> IntegrationOut:
        return cls(id=integration.id, workflow_id=integration.workflow_id, name=integration.name,
                   integration_type=integration.integration_type,
                   config=masked_config(integration.integration_type, integration.config),
                   created_at=iso(integration.created_at) or "", updated_at=iso(integration.updated_at) or "")


class IntegrationList(BaseModel):
    items: list[IntegrationOut]
    next_cursor: str | None
    integrations: list[IntegrationOut]
