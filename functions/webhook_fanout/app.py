"""Execution events (the stack's bus, via the ExecutionEvent rule) → one stored delivery per
matching webhook subscription, each handed to the delivery queue.

A function of its own rather than a part of functions/dispatch: it needs the queue and not the
state machine (least privilege both ways), it listens to event types dispatch does not
(execution.processing, execution.canceled), and a webhook outage or backlog never delays or
retries the starts of event-triggered runs (nor the reverse)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from docflow.api.schemas_webhook_subscriptions import execution_data
from docflow.runtime import aws
from docflow.usecases.outbound_webhooks import PlatformEvent, fan_out

logger = Logger()
copy_config_to_registered_loggers(source_logger=logger, include={"docflow"})


@logger.inject_lambda_context
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    detail = dict(event.detail)
    workspace_id = detail.get("workspace_id")
    if not isinstance(workspace_id, str):
        logger.warning("execution event without a workspace_id", extra={"id": event.get_id})
        return {"event_id": event.get_id, "deliveries": []}
    # Raises on a store or queue outage: Lambda retries the event (the deliveries already stored
    # are the same ones, and are enqueued again while unattempted), then keeps it in the DLQ.
    enqueued = fan_out(aws.ports(), PlatformEvent(event.get_id, event.detail_type, workspace_id, detail),
                       execution_data)
    return {"event_id": event.get_id, "deliveries": [d.id for d in enqueued]}
