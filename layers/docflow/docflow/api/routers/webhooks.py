"""/v1/webhooks: outbound webhook subscriptions (signed deliveries of execution events) and each
subscription's delivery log. The inbound webhooks that start runs are api/routers/hooks.py."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from docflow.api.context import workspace_of
from docflow.api.openapi import PROTECTED, no_content, responses
from docflow.api.params import Cursor, Limit
from docflow.api.schemas_webhook_subscriptions import (
    DeliveryList,
    DeliveryOut,
    SubscriptionCreated,
    SubscriptionIn,
    SubscriptionList,
    SubscriptionOut,
)
from docflow.ports import Ports
from docflow.usecases import outbound_webhooks as cases

TAGS = ["outbound webhooks"]
SubscriptionId = Annotated[str, Path(max_length=128, description="A webhook subscription id (whk_…)")]


def build(ports: Ports) -> Router:
    router = Router()

    @router.post("/v1/webhooks", status_code=201, operation_id="createWebhookSubscription",
                 summary="Subscribe a URL to execution events (the signing secret is shown once)",
                 tags=TAGS, security=PROTECTED, responses=responses(201, SubscriptionCreated, 404))
    def create_subscription(body: Annotated[SubscriptionIn, Body()]) -> SubscriptionCreated:
        fields = cases.SubscriptionFields(url=body.url, events=list(body.events), workflow_id=body.workflow_id,
                                          description=body.description, enabled=body.enabled)
        return SubscriptionCreated.created(cases.create_subscription(ports, workspace_of(router), fields))

    @router.get("/v1/webhooks", operation_id="listWebhookSubscriptions", summary="List webhook subscriptions",
                tags=TAGS, security=PROTECTED, responses=responses(200, SubscriptionList))
    def list_subscriptions(limit: Limit = 20, cursor: Cursor = None) -> SubscriptionList:
        page = cases.list_subscriptions(ports, workspace_of(router), limit, cursor)
        return SubscriptionList(items=[SubscriptionOut.of(s) for s in page.items], next_cursor=page.next_cursor)

    @router.get("/v1/webhooks/<subscription_id>", operation_id="getWebhookSubscription",
                summary="Get a webhook subscription", tags=TAGS, security=PROTECTED,
                responses=responses(200, SubscriptionOut, 404))
    def get_subscription(subscription_id: SubscriptionId) -> SubscriptionOut:
        return SubscriptionOut.of(cases.get_subscription(ports, workspace_of(router), subscription_id))

    @router.delete("/v1/webhooks/<subscription_id>", status_code=204, operation_id="deleteWebhookSubscription",
                   summary="Delete a webhook subscription (its pending deliveries stop)", tags=TAGS,
                   security=PROTECTED, responses=responses(204, None, 404))
    def delete_subscription(subscription_id: SubscriptionId) -> Response[None]:
        cases.delete_subscription(ports, workspace_of(router), subscription_id)
        return no_content()

    @router.get("/v1/webhooks/<subscription_id>/deliveries", operation_id="listWebhookDeliveries",
                summary="The delivery log of a subscription, newest first: attempts, status codes, next retry",
                tags=TAGS, security=PROTECTED, responses=responses(200, DeliveryList, 404))
    def list_deliveries(subscription_id: SubscriptionId, limit: Limit = 20, cursor: Cursor = None) -> DeliveryList:
        page = cases.list_deliveries(ports, workspace_of(router), subscription_id, limit, cursor)
        return DeliveryList(items=[DeliveryOut.of(d) for d in page.items], next_cursor=page.next_cursor)

    return router
