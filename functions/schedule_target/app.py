"""EventBridge Scheduler → start the scheduled run of one workflow.

Scheduler invokes this function with the Input the adapter stored (adapters/aws/scheduler.py):
`{workspace_id, workflow_id, schedule_id, scheduled_time}`, the last one filled in by Scheduler.
A redelivery of the same scheduled time replays the first run (idempotency key = schedule id +
scheduled time). A permanent refusal is logged and returned; throttling and outages raise, so
Lambda's retries and then the dead-letter queue keep the event."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from docflow.runtime import aws
from docflow.usecases.schedules import fire_schedule

logger = Logger()


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    workspace_id, workflow_id = str(event["workspace_id"]), str(event["workflow_id"])
    fired = fire_schedule(aws.ports(), workspace_id, workflow_id, str(event["schedule_id"]),
                          str(event["scheduled_time"]))
    if fired.started is None:
        logger.warning("scheduled run not started", extra={"workflow_id": workflow_id, "reason": fired.skipped})
        return {"status": "skipped", "reason": fired.skipped}
    execution = fired.started.execution
    return {"status": "replayed" if fired.started.replayed else "started", "execution_id": execution.id}
