"""Platform events (the stack's bus, via the PlatformEvent rule) → start every workflow they trigger."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from docflow.runtime import aws
from docflow.usecases.dispatch import dispatch_event

logger = Logger()
# The use-case logs through `logging` (docflow.triggers): give those lines the same JSON shape.
copy_config_to_registered_loggers(source_logger=logger, include={"docflow"})


@logger.inject_lambda_context
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    detail = dict(event.detail)
    workspace_id = detail.get("workspace_id")
    if not isinstance(workspace_id, str):
        logger.warning("platform event without a workspace_id", extra={"id": event.get_id})
        return {"event_id": event.get_id, "started": [], "skipped": []}
    ports = aws.ports()
    # A failure that may pass raises (DispatchIncomplete): Lambda retries the event, the starts
    # that did succeed replay, and after the retries the event lands in the dead-letter queue.
    result = dispatch_event(ports, event.get_id, event.detail_type, workspace_id, detail,
                            ports.limits.max_trigger_depth)
    return {
        "event_id": event.get_id,
        "started": [{"workflow_id": s.workflow_id, "execution_id": s.execution_id, "replayed": s.replayed}
                    for s in result.started],
        "skipped": [{"workflow_id": s.workflow_id, "reason": s.reason} for s in result.skipped],
    }
