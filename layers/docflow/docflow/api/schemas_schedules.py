"""Request and response bodies of /v1/workflows/{id}/schedule."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from docflow.api.schemas import RequestBody
from docflow.domain.clock import iso, unix_seconds
from docflow.domain.schedules import Schedule, next_fire_times


class ScheduleIn(RequestBody):
    cron_expression: str = Field(min_length=1, max_length=256, examples=["0 9 * * 1-5"],
                                 description="Standard 5-field cron: minute hour day-of-month month day-of-week")
    timezone: str = Field(default="UTC", min_length=1, max_length=64, examples=["America/New_York"],
                          description="IANA time zone the expression is read in (DST-aware)")
    enabled: bool = True
    input: dict[str, Any] | None = Field(
        default=None, examples=[{"document_id": "doc_01J..."}],
        description="`document_id` or `document_ids`: what every scheduled run processes; other keys "
                    "become the run's trigger_data")
    # Read-only: accepted so a GET body can be PUT back, then ignored.
    id: str | None = None
    workspace_id: str | None = None
    workflow_id: str | None = None
    next_fire_times: list[str] | None = None
    last_fire_time: float | None = None
    created_at: str | None = None
    updated_at: str | None = None


class ScheduleOut(BaseModel):
    id: str
    workspace_id: str
    workflow_id: str
    cron_expression: str
    timezone: str
    enabled: bool
    input: dict[str, Any]
    next_fire_times: list[str] = Field(description="The next 3 fire times, ISO 8601 with the zone's offset "
                                                   "(empty while disabled)")
    last_fire_time: float | None = Field(description="unix seconds of the last scheduled time that fired")
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, schedule: Schedule, now: datetime) -> ScheduleOut:
        upcoming = next_fire_times(schedule, now) if schedule.enabled else []
        return cls(id=schedule.id, workspace_id=schedule.workspace_id, workflow_id=schedule.workflow_id,
                   cron_expression=schedule.cron_expression, timezone=schedule.timezone, enabled=schedule.enabled,
                   input=schedule.input, next_fire_times=[t.isoformat() for t in upcoming],
                   last_fire_time=unix_seconds(schedule.last_fire_time), created_at=iso(schedule.created_at) or "",
                   updated_at=iso(schedule.updated_at) or "")
