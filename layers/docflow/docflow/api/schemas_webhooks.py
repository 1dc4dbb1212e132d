"""Bodies of the inbound-webhook routes (POST /v1/hooks/{workflow_id} answers an ExecutionOut)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from docflow.domain.clock import iso
from docflow.domain.webhooks import WebhookSecret


class WebhookSecretOut(BaseModel):
    workflow_id: str
    secret: str = Field(description="The new signing secret (whsec_…). Shown in this response only: store it now.")
    secret_prefix: str
    created_at: str
    previous_valid_until: str | None = Field(
        description="Until then, signatures made with the previous secret are still accepted")

    @classmethod
    def of(cls, secret: WebhookSecret) -> WebhookSecretOut:
        return cls(workflow_id=secret.workflow_id, secret=secret.secret, secret_prefix=secret.prefix,
                   created_at=iso(secret.created_at) or "", previous_valid_until=iso(secret.previous_valid_until))
