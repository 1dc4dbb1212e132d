"""EventBridge Scheduler: one schedule per workflow, named after the workflow id, in the stack's
schedule group. Its target is the schedule-target function, which starts the run through
`usecases.schedules.fire_schedule`; the Input carries Scheduler's own scheduled time so a
redelivered invocation maps onto the same idempotency key."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from docflow.adapters.aws.clients import error_code, translate_throttling
from docflow.domain.schedules import Schedule, to_aws_cron

if TYPE_CHECKING:
    from mypy_boto3_scheduler import EventBridgeSchedulerClient

# Replaced by Scheduler with the invocation's scheduled time (ISO 8601 UTC, e.g. 2026-03-09T06:30:00Z).
SCHEDULED_TIME = "<aws.scheduler.scheduled-time>"


@dataclass(frozen=True)
class ScheduleTarget:
    """Where the stack's schedules deliver (template.yaml `# --- cron schedules`)."""

    group: str
    function_arn: str
    role_arn: str
    dead_letter_arn: str | None = None
    # Scheduler retries a failed delivery (throttled Lambda) this often, within this age, then
    # sends the event to the dead-letter queue instead of dropping it.
    maximum_retry_attempts: int = 10
    maximum_event_age_seconds: int = 3600


class EventBridgeScheduler:
    def __init__(self, client: Callable[[], EventBridgeSchedulerClient], target: ScheduleTarget) -> None:
        self._make_client = client
        self.target = target

    @cached_property
    def _client(self) -> EventBridgeSchedulerClient:
        # Built on first use: the API function's cold start should not pay for a client most
        # requests never touch.
        return self._make_client()

    def request(self, schedule: Schedule) -> dict[str, Any]:
        """The CreateSchedule/UpdateSchedule parameters for this schedule."""
        target: dict[str, Any] = {
            "Arn": self.target.function_arn,
            "RoleArn": self.target.role_arn,
            "Input": json.dumps({"workspace_id": schedule.workspace_id, "workflow_id": schedule.workflow_id,
                                 "schedule_id": schedule.id, "scheduled_time": SCHEDULED_TIME}),
            "RetryPolicy": {"MaximumRetryAttempts": self.target.maximum_retry_attempts,
                            "MaximumEventAgeInSeconds": self.target.maximum_event_age_seconds},
        }
        if self.target.dead_letter_arn:
            target["DeadLetterConfig"] = {"Arn": self.target.dead_letter_arn}
        return {
            "Name": schedule.workflow_id,
            "GroupName": self.target.group,
            "ScheduleExpression": to_aws_cron(schedule.cron_expression),
            "ScheduleExpressionTimezone": schedule.timezone,
            "State": "ENABLED" if schedule.enabled else "DISABLED",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Description": f"docflow schedule {schedule.id} ({schedule.cron_expression}) of workflow "
                           f"{schedule.workflow_id} in workspace {schedule.workspace_id}",
            "Target": target,
        }

    def put(self, schedule: Schedule) -> None:
        """Update, or create when there is none: a retried put converges on the same schedule."""
        params = self.request(schedule)
        with translate_throttling("scheduler"):
            try:
                self._client.update_schedule(**params)
            except ClientError as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    raise
                try:
                    self._client.create_schedule(**params)
                except ClientError as created:
                    if error_code(created) != "ConflictException":
                        raise
                    self._client.update_schedule(**params)  # created concurrently: make it ours

    def delete(self, workspace_id: str, workflow_id: str) -> None:
        with translate_throttling("scheduler"):
            try:
                self._client.delete_schedule(Name=workflow_id, GroupName=self.target.group)
            except ClientError as exc:
                if error_code(exc) != "ResourceNotFoundException":
                    raise
