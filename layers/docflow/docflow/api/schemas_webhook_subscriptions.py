"""Bodies of /v1/webhooks (outbound webhook subscriptions and their delivery log). Not to be
confused with api/schemas_webhooks.py: the inbound webhooks that start runs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from docflow.api.schemas import ExecutionOut, RequestBody
from docflow.domain.clock import iso
from docflow.domain.models import Execution
from docflow.domain.outbound_webhooks import Attempt, Delivery, DeliveryStatus, Subscription

EventName = Literal["execution.processing", "execution.review", "execution.completed", "execution.failed",
                    "execution.canceled", "*"]


def _every_event() -> list[EventName]:
    return ["*"]


class SubscriptionIn(RequestBody):
    url: str = Field(min_length=1, max_length=2048, examples=["https://example.com/docflow-events"],
                     description="http(s) URL that receives a signed POST per event")
    events: list[EventName] = Field(default_factory=_every_event, min_length=1, max_length=6,
                                    description="Event types to deliver; `*` for all of them")
    workflow_id: str | None = Field(default=None, max_length=128,
                                    description="Only events of this workflow's runs (default: every workflow)")
    description: str | None = Field(default=None, max_length=500)
    enabled: bool = True


class SubscriptionOut(BaseModel):
    id: str
    url: str
    events: list[str]
    workflow_id: str | None
    description: str | None
    enabled: bool
    secret_prefix: str = Field(description="The first characters of the signing secret, to tell secrets apart")
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, s: Subscription) -> SubscriptionOut:
        return cls(id=s.id, url=s.url, events=s.events, workflow_id=s.workflow_id, description=s.description,
                   enabled=s.enabled, secret_prefix=s.secret_prefix, created_at=iso(s.created_at) or "",
                   updated_at=iso(s.updated_at) or "")


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="The signing secret (whsec_…) for Standard Webhooks verification. Shown in "
                                    "this response only: store it now.")

    @classmethod
    def created(cls, s: Subscription) -> SubscriptionCreated:
        return cls(**SubscriptionOut.of(s).model_dump(), secret=s.secret)


class SubscriptionList(BaseModel):
    items: list[SubscriptionOut]
    next_cursor: str | None


class AttemptOut(BaseModel):
    at: str
    status_code: int | None = Field(description="The receiver's HTTP status; null when no answer came")
    error: str | None = Field(description="Why the attempt failed (timeout, connection error, status and body)")
    duration_ms: int

    @classmethod
    def of(cls, a: Attempt) -> AttemptOut:
        return cls(at=iso(a.at) or "", status_code=a.status_code, error=a.error, duration_ms=a.duration_ms)


class DeliveryOut(BaseModel):
    id: str = Field(description="The `webhook-id` header of every attempt")
    event_type: str
    execution_id: str
    status: DeliveryStatus
    attempts: list[AttemptOut]
    next_attempt_at: str | None = Field(description="When the next retry is due (null once it succeeded or failed)")
    created_at: str

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(id=d.id, event_type=d.event_type, execution_id=d.execution_id, status=d.status,
                   attempts=[AttemptOut.of(a) for a in d.attempts], next_attempt_at=iso(d.next_attempt_at),
                   created_at=iso(d.created_at) or "")


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


def execution_data(execution: Execution) -> dict[str, Any]:
    """The `data` of a delivery body: the execution exactly as GET /v1/executions/{id} returns it."""
    return ExecutionOut.of(execution).model_dump(mode="json")
