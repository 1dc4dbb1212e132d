"""`integration`: send a message through one of the workflow's integrations.

`{"integration_id": "int_…", "template": "Invoice processed: {{invoice_number}}"}`. The
integration may be created after the workflow (integrations belong to a workflow), so saving does
not look it up; at run time a missing one fails the step with `integration_not_found`. The
template renders in Jinja2's sandbox with the values, the run's `metadata`, `document_name`,
`execution_id` and `workflow_id` in scope. Slack gets a Block Kit message through its incoming
webhook, e-mail goes through the runtime's mailer (SES, SMTP or the outbox folder), a webhook gets
its method, headers and a JSON body. A transient failure (timeout, 429, 5xx) raises
DeliveryTransient, which both orchestrators retry with bounded backoff; any other non-2xx answer
fails the step with the status and the first bytes of the body."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from docflow.domain.errors import StepFailed, UrlRefused
from docflow.domain.integrations import EmailConfig, Integration, IntegrationType, SlackConfig, WebhookConfig
from docflow.steps.base import StepKind, StepResult, StepRun
from docflow.steps.templates import check_template, render

DEFAULT_TEMPLATE = ("Docflow: execution {{execution_id}} of {{document_name}} finished"
                    "{% for name, value in values.items() %}\n{{name}}: {{value}}{% endfor %}")
BODY_PREVIEW = 200


class IntegrationStepConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    integration_id: str | None = Field(default=None, min_length=1, max_length=64,
                                       description="An integration of this workflow")
    integration_type: IntegrationType | None = Field(
        default=None, description="Instead of an id: the workflow's one integration of this type (templates use "
                                  "it, so a workflow made from one runs once its integration exists)")
    template: str | None = Field(default=None, max_length=100_000,
                                 description="The message, e.g. `Invoice processed: {{invoice_number}}`")

    @field_validator("template")
    @classmethod
    def _compiles(cls, template: str | None) -> str | None:
        return None if template is None else check_template(template)

    @model_validator(mode="after")
    def _one_target(self) -> IntegrationStepConfig:
        if (self.integration_id is None) == (self.integration_type is None):
            raise ValueError("give integration_id or integration_type")
        return self


def _context(run: StepRun, values: dict[str, Any]) -> dict[str, Any]:
    return {**values, "values": values, "metadata": run.metadata, "document_name": run.document_name,
            "execution_id": run.execution_id, "workflow_id": run.workflow_id}


def _answered(integration: Integration, status: int, body: bytes) -> None:
    if 200 <= status < 300:
        return
    preview = body[:BODY_PREVIEW].decode("utf-8", "replace")
    raise StepFailed(f"{integration.integration_type} integration {integration.id} answered {status}: {preview}",
                     code="integration_failed",
                     details=[{"integration_id": integration.id, "status": status, "body": preview}])


def _blocks(text: str) -> list[dict[str, Any]]:
    """Slack Block Kit: one mrkdwn section (Slack caps a section's text at 3,000 characters)."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}]


def _send(run: StepRun, integration: Integration, text: str, context: dict[str, Any]) -> int:
    kind = integration.integration_type
    if kind == "email":
        email = EmailConfig.model_validate(integration.config)
        run.mail(email.to, render(email.subject, context), text)
        return 250
    if kind == "slack":
        slack = SlackConfig.model_validate(integration.config)
        message: dict[str, Any] = {"text": text, "blocks": _blocks(text)}
        if slack.channel:
            message["channel"] = slack.channel
        url, method, headers = slack.webhook_url, "POST", {}
    else:
        hook = WebhookConfig.model_validate(integration.config)
        # `text` and `blocks` make the body a Slack-format message too (a Slack incoming webhook
        # accepts it as it is); the rest is for machines.
        message = {"text": text, "blocks": _blocks(text), "values": context["values"], "metadata": context["metadata"],
                   "execution_id": context["execution_id"], "workflow_id": context["workflow_id"],
                   "document_name": context["document_name"]}
        url, method, headers = hook.url, hook.method, dict(hook.headers)
    headers.setdefault("Content-Type", "application/json")
    try:
        status, body = run.http(method, url, headers, json.dumps(message, default=str).encode())
    except UrlRefused as exc:  # DNS changed since it was saved: a failed step, not a retry
        raise StepFailed(exc.message, code="url_refused", details=exc.details) from None
    _answered(integration, status, body)
    return status


def _integration(run: StepRun, config: IntegrationStepConfig) -> Integration:
    if config.integration_id is not None:
        found = run.integration(config.integration_id)
        if found is None:
            raise StepFailed(f"integration {config.integration_id} does not exist in this workflow (create it with "
                             "POST /v1/workflows/integrations)", code="integration_not_found",
                             details=[{"integration_id": config.integration_id}])
        return found
    matching = run.integrations_of_type(str(config.integration_type))
    if len(matching) != 1:
        problem = "has none" if not matching else f"has {len(matching)}: name one with integration_id"
        raise StepFailed(f"the step sends to this workflow's {config.integration_type} integration, and the workflow "
                         f"{problem} (create one with POST /v1/workflows/integrations)", code="integration_not_found",
                         details=[{"integration_type": config.integration_type, "found": len(matching)}])
    return matching[0]


def _execute(run: StepRun, config: IntegrationStepConfig) -> StepResult:
    integration = _integration(run, config)
    values, _ = run.values()
    context = _context(run, values)
    template = config.template
    if template is None and integration.integration_type == "email":
        template = EmailConfig.model_validate(integration.config).template
    text = render(template or DEFAULT_TEMPLATE, context)
    status = _send(run, integration, text, context)
    output = {"integration_id": integration.id, "integration_type": integration.integration_type, "status": status}
    return StepResult(json.dumps(output).encode(), summary={
        "input": {"fields": sorted(values)},
        "output": {"integration_type": integration.integration_type, "status": status, "characters": len(text)}})


STEP = StepKind("integration", IntegrationStepConfig, "network", _execute,
                description="send a message through one of the workflow's integrations (Slack, e-mail, webhook)")
